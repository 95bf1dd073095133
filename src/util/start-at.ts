// The shared start of a sharded run: an RFC 3339 time parsed strictly, and the wait until then.
import { sleep } from "./abort.ts";

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Epoch milliseconds of an RFC 3339 time such as `2024-09-18T11:47:53Z` or `2024-09-18T13:47:53.250+02:00` (as Go's
 * time.RFC3339Nano parses it: a date that does not exist, hour 24 or second 60 are refused), or undefined.
 * Fractions below a millisecond are dropped.
 */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC rolls Feb 30 over into March; a day that does not exist in its month is not a time.
  if (new Date(utc).getUTCDate() !== day) return undefined;
  if (m[8]) return utc;
  const offHours = Number(m[10]);
  const offMinutes = Number(m[11]);
  if (offHours > 23 || offMinutes > 59) return undefined;
  const offsetMs = (offHours * 60 + offMinutes) * 60_000 * (m[9] === "-" ? -1 : 1);
  return utc - offsetMs;
}

/**
 * Waits until `atMs` (epoch milliseconds); an abort of `signal` rejects as `sleep` does. Returns how long it waited,
 * or, when the time had already passed, how late the call was as a negative number (it then returns at once).
 */
export async function holdUntil(atMs: number, signal: AbortSignal, now: () => number = Date.now): Promise<number> {
  const left = atMs - now();
  if (left <= 0) return left;
  await sleep(left, signal);
  return left;
}
