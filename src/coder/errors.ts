// The one error type for non-2xx answers from coderd, parsed from its codersdk.Response body.
import type { ApiResponse } from "./types.ts";

/** A coderd API error: HTTP status plus the server's message, detail and field validations. */
export class CoderApiError extends Error {
  override name = "CoderApiError";
  /** HTTP status code. */
  readonly status: number;
  /** The server's `detail`, when it sent one. */
  readonly detail?: string;
  /** Per-field validation errors, when the server sent them. */
  readonly validations?: { field: string; detail: string }[];
  /** Request method and path (no query string, no host), for context in logs. */
  readonly method: string;
  readonly path: string;

  constructor(init: { status: number; method: string; path: string; body?: Partial<ApiResponse> | undefined; text?: string }) {
    const serverMessage = init.body?.message || init.text?.slice(0, 200) || `HTTP ${init.status}`;
    const detail = init.body?.detail || undefined;
    const parts = [`${init.method} ${init.path}: unexpected status ${init.status}: ${serverMessage}`];
    if (detail) parts.push(`detail: ${detail}`);
    for (const v of init.body?.validations ?? []) parts.push(`${v.field}: ${v.detail}`);
    super(parts.join("; "));
    this.status = init.status;
    this.detail = detail;
    this.validations = init.body?.validations;
    this.method = init.method;
    this.path = init.path;
  }

  /** The server's own message, without our request context. */
  get serverMessage(): string {
    return this.message.replace(/^[A-Z]+ \S+: unexpected status \d+: /, "");
  }
}

/** True when `err` is a CoderApiError, and (when statuses are given) has one of them. */
export function isCoderApiError(err: unknown, ...statuses: number[]): err is CoderApiError {
  return err instanceof CoderApiError && (statuses.length === 0 || statuses.includes(err.status));
}

/** Status codes worth retrying: rate limited, or a server/gateway fault. */
export function isTransientStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/** The deployment could not be reached at all (DNS, refused, TLS, reset before any answer). */
export class CoderConnectionError extends Error {
  override name = "CoderConnectionError";
  constructor(method: string, path: string, cause: unknown) {
    const reason = (cause as { cause?: { code?: string; message?: string } })?.cause;
    super(`${method} ${path}: cannot reach the deployment: ${reason?.code ?? reason?.message ?? (cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** An attempt got no complete answer within the request deadline (a deployment that accepts and never answers). */
export class CoderTimeoutError extends Error {
  override name = "CoderTimeoutError";
  constructor(method: string, path: string, timeoutMs: number) {
    super(`${method} ${path}: no answer from the deployment within ${timeoutMs / 1000}s (--request-timeout)`);
  }
}
