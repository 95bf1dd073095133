// Retry policy pieces shared by the REST client and the traffic dials: what is transient, how long to back off, and
// the hook that counts each retry.

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
