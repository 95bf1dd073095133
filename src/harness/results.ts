// The results of a harness run: Coder-compatible plain data, its byte-exact JSON encoding, and the text form.
import { closeSync, openSync, writeSync } from "node:fs";
import { formatGoDuration, parseDuration } from "../util/duration.ts";
import { OUTCOMES, type Outcome } from "./runner.ts";

/** One run's result; keys and meaning as upstream's harness.RunResult. */
export interface RunResult {
  full_id: string;
  test_name: string;
  id: string;
  /** The run log as it was after Run and before cleanup. */
  logs: string;
  /** RFC 3339 with nanoseconds, local zone (Go's time.RFC3339Nano). */
  started_at: string;
  /** Go duration string. */
  duration: string;
  /** Whole milliseconds (truncated). */
  duration_ms: number;
  /** The error text, or `<nil>` on success. */
  error: string;
}

/** The whole run; keys and meaning as upstream's harness.Results. */
export interface Results {
  total_runs: number;
  total_pass: number;
  total_fail: number;
  /** Go duration string of the run phase. */
  elapsed: string;
  elapsed_ms: number;
  /** Keyed by full ID. */
  runs: Record<string, RunResult>;
}

/** Our addition, kept out of the upstream JSON: how many runs ended each way. */
export type OutcomeCounts = Record<Outcome, number> & { total: number };

/** Go's `%+v` of a nil error. */
export const NIL_ERROR = "<nil>";

const HEX = "0123456789abcdef";

/** Characters Go's encoder writes as they are (no escape, no surrogate): printable, not " \\ < > & U+2028 U+2029. */
const PLAIN = /^[^"\\<>&\u0000-\u001f\u2028\u2029\ud800-\udfff]*$/;

/** Encodes a string as Go's encoding/json does (HTML-safe escaping, \b \f \n \r \t, other C0 as \u00XX, U+2028/9). */
export function goJsonString(s: string): string {
  // Most strings (ids, times, plain log lines) need no escaping: one concatenation instead of one per character.
  if (PLAIN.test(s)) return `"${s}"`;
  // Otherwise (a log with newlines): plain stretches are copied as slices between escapes, not char by char,
  // which built one string node per character (≈14 MiB of garbage, sampled, for 2000 jobs' logs at the end of a phase).
  let out = '"';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26 && c !== 0x2028 && c !== 0x2029) {
      if (c >= 0xd800 && c <= 0xdfff) {
        // A lone surrogate is invalid UTF-8 on the Go side, which becomes U+FFFD; a pair stays in the stretch.
        const pair = c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
        if (pair) i++;
        else {
          out += s.slice(from, i) + "\ufffd";
          from = i + 1;
        }
      }
      continue;
    }
    out += s.slice(from, i) + escapeOf(c);
    from = i + 1;
  }
  return out + s.slice(from) + '"';
}

function escapeOf(c: number): string {
  switch (c) {
    case 0x22: return '\\"';
    case 0x5c: return "\\\\";
    case 0x08: return "\\b";
    case 0x0c: return "\\f";
    case 0x0a: return "\\n";
    case 0x0d: return "\\r";
    case 0x09: return "\\t";
    case 0x2028: return "\\u2028";
    case 0x2029: return "\\u2029";
    default: return `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
  }
}

const int = (n: number) => String(Math.trunc(n));

function encodeRun(r: RunResult): string {
  return (
    `{"full_id":${goJsonString(r.full_id)},"test_name":${goJsonString(r.test_name)},"id":${goJsonString(r.id)}` +
    `,"logs":${goJsonString(r.logs)},"started_at":${goJsonString(r.started_at)},"duration":${goJsonString(r.duration)}` +
    `,"duration_ms":${int(r.duration_ms)},"error":${goJsonString(r.error)}}`
  );
}

/** Byte order of UTF-8, as Go sorts map keys (differs from JS's UTF-16 order above the BMP). */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Runs encoded per chunk of the JSON: big enough to write efficiently, small enough to keep little garbage alive. */
const RUNS_PER_CHUNK = 2000;

/** The JSON of `encodeResultsJson` in pieces, so a file of 100k runs is written without one 20 MB string. */
export function* encodeResultsJsonChunks(results: Results): Generator<string> {
  yield (
    `{"total_runs":${int(results.total_runs)},"total_pass":${int(results.total_pass)},"total_fail":${int(results.total_fail)}` +
    `,"elapsed":${goJsonString(results.elapsed)},"elapsed_ms":${int(results.elapsed_ms)},"runs":{`
  );
  const keys = Object.keys(results.runs).sort(compareBytes);
  for (let i = 0; i < keys.length; i += RUNS_PER_CHUNK) {
    const part = keys.slice(i, i + RUNS_PER_CHUNK).map((k) => `${goJsonString(k)}:${encodeRun(results.runs[k]!)}`);
    yield `${i > 0 ? "," : ""}${part.join(",")}`;
  }
  yield "}}\n";
}

/** The results exactly as Go's json.Encoder writes them: one compact line plus `\n`. */
export function encodeResultsJson(results: Results): string {
  return [...encodeResultsJsonChunks(results)].join("");
}

/** Writes the results JSON to `path` (created or truncated) chunk by chunk. */
export function writeResultsJson(path: string, results: Results): void {
  const fd = openSync(path, "w");
  try {
    for (const chunk of encodeResultsJsonChunks(results)) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

const toNs = (goDuration: string) => BigInt(Math.round(parseDuration(goDuration) * 1e6));

/**
 * The text form of upstream's PrintText: failed runs with error and indented log, then the totals.
 * NOTE: upstream drops a last log line that lacks a trailing newline; we print it (with a newline), since it
 * is usually the most telling line. Every other byte matches.
 */
export function resultsToText(results: Results): string {
  let out = "";
  let totalNs = 0n;
  for (const key of Object.keys(results.runs).sort(compareBytes)) {
    const run = results.runs[key]!;
    totalNs += toNs(run.duration);
    if (run.error === NIL_ERROR) continue;
    out += `\n== FAIL: ${run.full_id}\n\n\tError: ${run.error}\n\n\tLog:\n`;
    const lines = run.logs.split("\n");
    if (lines.at(-1) === "") lines.pop();
    for (const line of lines) out += `\t\t${line}\n`;
  }
  out += "\n\nTest results:\n";
  if (results.total_runs === 0) return out + "\tNo tests run\n";
  out += `\tPass:  ${results.total_pass}\n\tFail:  ${results.total_fail}\n\tTotal: ${results.total_runs}\n\n`;
  out += `\tTotal duration: ${results.elapsed}\n`;
  const avgNs = totalNs / BigInt(results.total_runs);
  out += `\tAvg. duration:  ${formatGoDuration(Number(avgNs) / 1e6)}\n`;
  return out;
}

/** Zeroed outcome counters. */
export function emptyOutcomeCounts(): OutcomeCounts {
  const c = { total: 0 } as OutcomeCounts;
  for (const o of OUTCOMES) c[o] = 0;
  return c;
}

/** How a whole phase of runs ended, worst first: any cancellation, then failures, then deadlines; passed otherwise. */
export type PhaseOutcome = "passed" | "failed" | "canceled" | "timed_out";

/** The one place a phase's outcome is derived from its runs' outcomes. */
export function phaseOutcome(counts: Pick<OutcomeCounts, "failed" | "canceled" | "timed_out">): PhaseOutcome {
  if (counts.canceled > 0) return "canceled";
  if (counts.failed > 0) return "failed";
  if (counts.timed_out > 0) return "timed_out";
  return "passed";
}
