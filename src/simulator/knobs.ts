// Simulator knobs: provisioning delays and fault injection, validated by name, plus the seeded PRNG behind every random choice.
import type { ConfigProblem } from "../errors.ts";

/** Live-tunable behaviour of the simulator. Every field can be set at start and changed with `setKnobs`. */
export interface Knobs {
  /** Time a provisioner job stays `pending` before a daemon picks it up (milliseconds). */
  pendingMs: number;
  /** Time a provisioner job stays `running` before it completes (milliseconds). */
  runningMs: number;
  /** Extra random delay added to each of pendingMs and runningMs, uniform in [0, jitterMs) (milliseconds). */
  jitterMs: number;
  /** Chance (0..1) that a `start` build fails with a realistic terraform error. */
  buildFailureRate: number;
  /** Time between a start build succeeding and its agents reporting `connected` (milliseconds). */
  agentConnectDelayMs: number;
  /** Chance (0..1) that an API request gets an injected 500 before the handler runs (so a retry is safe). */
  http5xxRate: number;
  /** Chance (0..1) that an API request gets an injected 429 with coderd's rate-limit message. */
  http429Rate: number;
  /** Delay added before every API response (milliseconds). */
  slowResponseMs: number;
  /** Per (client IP, URL path) requests per minute, as coderd's API limiter; 0 turns it off. */
  rateLimit: number;
  /** Per (client IP, URL path) logins per minute on POST /users/login; 0 turns it off. */
  loginRateLimit: number;
  /**
   * The next this-many traffic WebSocket upgrades (PTY, apps, SSH) are refused with 503; each refusal counts it
   * down. A deterministic way to make a dial retry.
   */
  refuseUpgrades: number;
  /** Chance (0..1) that a WebSocket served by a plug-in module (PTY, apps, SSH) is dropped; modules read it. */
  dropSocketsRate: number;
  /** Wildcard app host answered by GET /api/v2/applications/host; "" derives `*.apps.<host>:<port>` from the listener. */
  appHost: string;
  /** Seed of the PRNG behind fault injection, jitter and build failures; setting it restarts the sequence. */
  seed: number;
  /** A PTY session with no attached connection is killed after this long (milliseconds; the agent's default is 5 min). */
  ptyReconnectTimeoutMs: number;
  /** Chance (0..1) that a PTY output chunk has one byte flipped, to exercise the client's echo check. */
  corruptEchoRate: number;
  /** Cap of the wsra app's random stream per connection (bytes per second; 0 = as fast as the reader drains). */
  wsraBytesPerSecond: number;
  /** coderd's --dangerous-allow-path-app-site-owner-access: site owners may open other users' path apps. */
  allowPathAppSiteOwnerAccess: boolean;
  /** coderd's --disable-owner-workspace-access: site owners lose terminal, SSH and app access to others' workspaces. */
  disableOwnerWorkspaceAccess: boolean;
}

export const DEFAULT_KNOBS: Readonly<Knobs> = Object.freeze({
  pendingMs: 50,
  runningMs: 150,
  jitterMs: 0,
  buildFailureRate: 0,
  agentConnectDelayMs: 50,
  http5xxRate: 0,
  http429Rate: 0,
  slowResponseMs: 0,
  rateLimit: 0,
  loginRateLimit: 0,
  refuseUpgrades: 0,
  dropSocketsRate: 0,
  appHost: "",
  seed: 1,
  ptyReconnectTimeoutMs: 300_000,
  corruptEchoRate: 0,
  wsraBytesPerSecond: 0,
  allowPathAppSiteOwnerAccess: false,
  disableOwnerWorkspaceAccess: false,
});

const RATES = ["buildFailureRate", "http5xxRate", "http429Rate", "dropSocketsRate", "corruptEchoRate"] as const;
const DURATIONS = ["pendingMs", "runningMs", "jitterMs", "agentConnectDelayMs", "slowResponseMs", "ptyReconnectTimeoutMs"] as const;
const COUNTS = ["rateLimit", "loginRateLimit", "wsraBytesPerSecond", "refuseUpgrades"] as const;
const FLAGS = ["allowPathAppSiteOwnerAccess", "disableOwnerWorkspaceAccess"] as const;

/** Checks a partial knob set; each problem names the knob and the allowed range. */
export function validateKnobs(partial: Partial<Knobs>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const known = new Set(Object.keys(DEFAULT_KNOBS));
  for (const key of Object.keys(partial)) {
    if (!known.has(key)) problems.push({ path: key, message: `unknown knob; known knobs: ${[...known].join(", ")}` });
  }
  for (const k of RATES) {
    const v = partial[k];
    if (v !== undefined && !(typeof v === "number" && v >= 0 && v <= 1)) problems.push({ path: k, message: `must be a number in [0, 1], got ${String(v)}` });
  }
  for (const k of DURATIONS) {
    const v = partial[k];
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 3_600_000)) {
      problems.push({ path: k, message: `must be milliseconds in [0, 3600000], got ${String(v)}` });
    }
  }
  for (const k of COUNTS) {
    const v = partial[k];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 0)) problems.push({ path: k, message: `must be an integer >= 0 (0 = off), got ${String(v)}` });
  }
  for (const k of FLAGS) {
    const v = partial[k];
    if (v !== undefined && typeof v !== "boolean") problems.push({ path: k, message: `must be true or false, got ${String(v)}` });
  }
  if (partial.seed !== undefined && !(Number.isInteger(partial.seed))) problems.push({ path: "seed", message: `must be an integer, got ${String(partial.seed)}` });
  if (partial.appHost !== undefined && (typeof partial.appHost !== "string" || (partial.appHost !== "" && !partial.appHost.startsWith("*.")))) {
    problems.push({ path: "appHost", message: `must be "" or a wildcard host starting with "*.", got ${String(partial.appHost)}` });
  }
  return problems;
}
