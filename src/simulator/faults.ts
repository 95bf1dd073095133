// Fault injection and coderd's API rate limiter, applied before any handler runs so a retried request is always safe.
import { formatGoDuration } from "../util/duration.ts";
import { HttpError } from "./http.ts";
import type { Knobs } from "./knobs.ts";

const WINDOW_MS = 60_000;

/** coderd's 429 body: "You've been rate limited for sending more than N requests in 1m0s." */
export function rateLimitedError(limit: number): HttpError {
  return new HttpError(429, { message: `You've been rate limited for sending more than ${limit} requests in ${formatGoDuration(WINDOW_MS)}.` });
}

/** Fixed one-minute windows per key, like coderd's limiter keyed on (client IP, URL path). */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  /** Counts one request; false when it exceeds `limit` in the current window. */
  allow(key: string, limit: number, nowMs = Date.now()): boolean {
    let w = this.windows.get(key);
    if (!w || nowMs - w.start >= WINDOW_MS) {
      if (this.windows.size > 100_000) this.prune(nowMs);
      w = { start: nowMs, count: 0 };
      this.windows.set(key, w);
    }
    w.count++;
    return w.count <= limit;
  }

  private prune(nowMs: number): void {
    for (const [k, w] of this.windows) if (nowMs - w.start >= WINDOW_MS) this.windows.delete(k);
  }
}

/** Decides whether a request is refused before its handler: limiter first (as coderd), then injected 429, then injected 500. */
export function injectFault(input: { knobs: Knobs; random: () => number; limiter: RateLimiter; ip: string; method: string; path: string }): HttpError | null {
  const { knobs, random, limiter, ip, method, path } = input;
  const key = `${ip}|${path}`;
  if (knobs.rateLimit > 0 && !limiter.allow(key, knobs.rateLimit)) return rateLimitedError(knobs.rateLimit);
  if (knobs.loginRateLimit > 0 && method === "POST" && path === "/api/v2/users/login" && !limiter.allow(`login|${key}`, knobs.loginRateLimit)) {
    return rateLimitedError(knobs.loginRateLimit);
  }
  if (knobs.http429Rate > 0 && random() < knobs.http429Rate) return rateLimitedError(knobs.rateLimit || 512);
  if (knobs.http5xxRate > 0 && random() < knobs.http5xxRate) {
    return new HttpError(500, { message: "An internal error occurred. Please try again or contact the system administrator.", detail: "simulated fault: http5xxRate" });
  }
  return null;
}
