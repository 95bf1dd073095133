// Retrying an idempotent operation after a transient failure (5xx, 429, the deployment not answering), with backoff.
import { getErrorMessage } from "../errors.ts";
import { sleep } from "../util/abort.ts";
import { CoderConnectionError, isCoderApiError, isTransientStatus } from "./errors.ts";

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
