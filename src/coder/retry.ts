// Retry policy shared by the REST client, the traffic dials and cleanup: what is transient, how long to back off,
// the hook that counts each retry, and a retry loop for idempotent operations.
import { getErrorMessage } from "../errors.ts";
import { sleep } from "../util/abort.ts";
import { CoderConnectionError, isCoderApiError, isTransientStatus } from "./errors.ts";

/** One retry about to happen: what was retried and why (a status code or an error code). */
export interface RetryEvent {
  /** "rest" for an API call, "websocket" for an upgrade, "ssh" for a `coder ssh --stdio` start. */
  kind: "rest" | "websocket" | "ssh";
  /** e.g. "429", "503", "ECONNREFUSED", "ECONNRESET", "exit" */
  reason: string;
  /** Retries of this call so far, this one included. */
  attempt: number;
}

/** Called before every retry; the metrics owner turns it into a counter. */
export type OnRetry = (e: RetryEvent) => void;

/** Full-jitter exponential backoff: a random delay in [0, min(cap, base * 2^attempt)). */
export function backoff(baseMs: number, capMs: number, attempt: number): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
}

/** Retry-After as seconds or an HTTP date, in milliseconds. */
export function retryAfterMs(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The error code of a failed connection (Node's `code`, through undici's `cause` chain), or "" when it has none. */
export function connectionErrorCode(err: unknown): string {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string" && e.code) return e.code;
  }
  return "";
}

/** Nothing reached the server: safe to retry whatever the method. */
export function isRefused(err: unknown): boolean {
  const code = connectionErrorCode(err);
  return code === "ECONNREFUSED" || code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "EAI_AGAIN";
}

/** A connection that broke (refused, reset, closed early): worth another try for an idempotent call or a dial. */
export function isTransientConnectionError(err: unknown): boolean {
  if (isRefused(err)) return true;
  const code = connectionErrorCode(err);
  if (["ECONNRESET", "EPIPE", "ETIMEDOUT", "UND_ERR_SOCKET", "UND_ERR_CLOSED", "ECONNABORTED"].includes(code)) return true;
  const msg = err instanceof Error ? err.message : "";
  return /socket hang up|other side closed|Opening handshake has timed out/.test(msg);
}

/** Default extra attempts of a delete after a transient failure. */
export const CLEANUP_RETRIES = 3;

/** True for failures worth another attempt: 5xx, 429, or the deployment not answering. */
export function isTransientError(err: unknown): boolean {
  return (isCoderApiError(err) && isTransientStatus(err.status)) || err instanceof CoderConnectionError;
}

/** Runs an idempotent operation again after transient failures, up to `retries` extra times, with a short backoff. */
export async function retryTransient<T>(
  fn: () => Promise<T>,
  opts: { retries: number; signal: AbortSignal; log?: (line: string) => void; baseDelayMs?: number },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (opts.signal.aborted || attempt >= opts.retries || !isTransientError(err)) throw err;
      opts.log?.(`transient failure, retrying (${attempt + 1}/${opts.retries}): ${getErrorMessage(err)}`);
      await sleep((opts.baseDelayMs ?? 100) * 2 ** attempt, opts.signal);
    }
  }
}

/** Retries by kind and reason, e.g. `{ "websocket 503": 2, "rest 500": 1 }`, and their total: what a scenario's results show. */
export interface RetryTotals {
  total: number;
  byReason: Record<string, number>;
}

/** Counts retries by kind and reason (one phase's target selection and dials); `record` is an OnRetry. */
export class RetryTally {
  readonly totals: RetryTotals = { total: 0, byReason: {} };
  readonly record: OnRetry = (e) => {
    const key = `${e.kind} ${e.reason}`;
    this.totals.byReason[key] = (this.totals.byReason[key] ?? 0) + 1;
    this.totals.total++;
  };
}

/** One OnRetry calling each given hook in turn (the process's counter and a phase's tally, say). */
export function teeRetry(...hooks: Array<OnRetry | undefined>): OnRetry {
  const set = hooks.filter((h): h is OnRetry => h !== undefined);
  return (e) => {
    for (const h of set) h(e);
  };
}

/** A retry as a log line: "retry websocket after 503 (attempt 1)". */
export function retryLine(e: RetryEvent): string {
  return `retry ${e.kind} after ${e.reason} (attempt ${e.attempt})`;
}

/** "3 (websocket 503 ×2, rest 500 ×1)": most frequent first. */
export function formatRetries(t: RetryTotals): string {
  const parts = Object.entries(t.byReason)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k} ×${n}`);
  return `${t.total}${parts.length > 0 ? ` (${parts.join(", ")})` : ""}`;
}
