// Where a command sends its requests: the deployment from --url / CODER_URL / the Coder CLI's config dir, checked to be a
// site owner's; or the built-in simulator where a command can run against it.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { CoderClient, type RetryOptions } from "../coder/client.ts";
import { CoderConnectionError, CoderTimeoutError, isCoderApiError } from "../coder/errors.ts";
import { clientConnection, validateConnectionSettings, type ConnectionSettings } from "../coder/headers.ts";
import type { User } from "../coder/types.ts";
import { deploymentUrlProblem, urlCredentials } from "../coder/urls.ts";
import { ConfigError, getErrorMessage, registerSecret } from "../errors.ts";
import type { Knobs, Simulator } from "../simulator/index.ts";
import { defaultStateDir } from "../state/ledger.ts";
import { reportRetry } from "../metrics/retry-sink.ts";
import { NO_CONNECTION_FLAGS, type FlagReader } from "./flags.ts";

export interface GlobalSettings {
  url?: string;
  token?: string;
  configDir: string;
  stateDir: string;
  verbose: boolean;
  /** Headers and request deadline (defaults when absent). */
  connection?: ConnectionSettings;
}

/** The OS config dir + coderv2, as the Coder CLI (Go's os.UserConfigDir). */
export function defaultCoderConfigDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (platform === "darwin") return join(homedir(), "Library", "Application Support", "coderv2");
  if (platform === "win32") return join(env.AppData || env.APPDATA || join(homedir(), "AppData", "Roaming"), "coderv2");
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "coderv2");
}

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** URL and token: flag, else env var, else the config dir's `url` and `session` files, as the coder CLI reads them. */
export function readGlobals(r: FlagReader, env: NodeJS.ProcessEnv = process.env): GlobalSettings {
  const configDir = r.string("global-config") || defaultCoderConfigDir(env);
  const url = r.string("url") || readTrimmed(join(configDir, "url"));
  const token = r.string("token") || readTrimmed(join(configDir, "session"));
  registerSecret(token);
  const emptyUrl = r.givenEmpty("url");
  // An empty URL given on purpose is a mistake (an unset variable in a script), never a request for the simulator.
  if (emptyUrl) r.problems.push({ path: "--url", message: `must be the deployment's http(s) URL, got "" from ${emptyUrl}; leave it unset to use the config dir's url file (or the built-in simulator, where the command has one)` });
  else if (url) {
    for (const c of urlCredentials(url)) registerSecret(c);
    const problem = deploymentUrlProblem(url);
    if (problem) r.problems.push({ path: "--url", message: problem });
  }
  const connection: ConnectionSettings = r.has("header")
    ? { header: r.list("header"), headerCommand: r.string("header-command"), requestTimeoutMs: r.duration("request-timeout") }
    : NO_CONNECTION_FLAGS;
  r.problems.push(...validateConnectionSettings(connection));
  return { url, token, configDir, stateDir: r.string("state-dir") || defaultStateDir(env), verbose: r.has("verbose") && r.bool("verbose"), connection };
}

// ---- connecting ----

/**
 * Builds the owner's client and checks, with read-only requests, that the deployment answers, the token is
 * accepted and belongs to a site owner. Every failure is a ConfigError naming the flag (exit code 2).
 */
export async function connectAsOwner(
  g: GlobalSettings,
  opts: { retry?: RetryOptions; signal?: AbortSignal } = {},
): Promise<{ client: CoderClient; me: User }> {
  if (!g.url) throw notLoggedIn(g);
  let client: CoderClient;
  try {
    // The checks only read, so they retry transient answers; the returned client has the caller's policy.
    client = new CoderClient({ url: g.url, token: g.token, bypassRateLimit: true, retry: { retries5xx: 3 } });
  } catch (err) {
    throw new ConfigError([{ path: "--url", message: `${getErrorMessage(err)} (got ${JSON.stringify(g.url)})` }]);
  }
  // The headers go on the first request already (an authenticating proxy answers nothing without them).
  client = new CoderClient({
    url: client.url,
    token: g.token,
    bypassRateLimit: true,
    retry: { retries5xx: 3 },
    onRetry: reportRetry,
    ...clientConnection(g.connection ?? NO_CONNECTION_FLAGS, client.url.toString()),
  });
  let me: User;
  try {
    me = await client.me({ signal: opts.signal });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    if (err instanceof CoderConnectionError) throw new ConfigError([{ path: "--url", message: `cannot reach ${client.url.origin}: ${getErrorMessage(err)}` }]);
    if (err instanceof CoderTimeoutError) throw new ConfigError([{ path: "--request-timeout", message: `${client.url.origin} accepted the connection but did not answer: ${getErrorMessage(err)}` }]);
    if (isCoderApiError(err, 401, 403)) {
      const how = g.token ? "the session token was rejected" : "no session token: set --token or CODER_SESSION_TOKEN";
      throw new ConfigError([{ path: "--token", message: `${how} (${err.status}: ${err.serverMessage}). Try logging in using 'coder login'` }]);
    }
    throw new ConfigError([{ path: "--url", message: `${client.url.origin} did not answer as a Coder deployment: ${getErrorMessage(err)}` }]);
  }
  if (!me.roles?.some((r) => r.name === "owner")) {
    throw new ConfigError([{ path: "--token", message: `user "${me.username}": Not logged in as a site owner. Scale testing is only available to site owners.` }]);
  }
  // Past the check, a refused connection is a restarting coderd: waits and cleanup ride it out for a minute.
  return { client: client.withRetry({ refusedWindowMs: 60_000, ...opts.retry }), me };
}

/** No deployment URL anywhere: the error names --url, where a URL could come from, and what to do instead. */
function notLoggedIn(g: GlobalSettings, hint?: string): ConfigError {
  const message = `You are not logged in: set --url or CODER_URL (or a url file in ${g.configDir})${hint ? `; ${hint}` : ""}`;
  return new ConfigError([{ path: "--url", message }]);
}

// ---- the deployment, or the built-in simulator ----

/** Delays of the built-in simulator: a build takes a second or two and its agent connects shortly after, as on a small cluster. */
export const BUILT_IN_SIMULATOR_KNOBS: Partial<Knobs> = { pendingMs: 250, runningMs: 900, jitterMs: 600, agentConnectDelayMs: 400 };

/** The built-in simulator in this process, with a throwaway ledger dir: its ledger would only ever point at a dead URL. */
export interface BuiltInSimulator {
  sim: Simulator;
  ledgerDir: string;
  /** Stops the simulator and removes the ledger dir. */
  close(): Promise<void>;
}

/** Starts the built-in Coder simulator (loopback, a free port) and says so on stderr in one line. */
export async function startBuiltInSimulator(stderr: NodeJS.WritableStream = process.stderr): Promise<BuiltInSimulator> {
  // Loaded only when needed: commands against a deployment never pay for the simulator's modules.
  const { startSimulator } = await import("../simulator/index.ts");
  const sim = await startSimulator({ port: 0, knobs: BUILT_IN_SIMULATOR_KNOBS });
  registerSecret(sim.sessionToken);
  stderr.write(`no deployment given (--url / CODER_URL): using the built-in Coder simulator at ${sim.url}\n`);
  const ledgerDir = mkdtempSync(join(tmpdir(), "scaletest-sim-ledger-"));
  return {
    sim,
    ledgerDir,
    close: async () => {
      await sim.close();
      rmSync(ledgerDir, { recursive: true, force: true });
    },
  };
}

/** The hint of the commands that act on existing scaletest workspaces or users (workspace-traffic, dashboard). */
export const SIMULATOR_STARTS_EMPTY =
  "the built-in simulator starts empty, with nothing to target: `scaletest run` runs the whole staged test against it (creates workspaces and users, runs the traffic and dashboard scenarios, cleans up)";

/** What a command does when no deployment URL is found: use the built-in simulator, or refuse (exit 2) with a hint. */
export type WithoutDeployment = "simulator" | { hint: string };

/** The deployment a command talks to, checked as the owner's. */
export interface Deployment {
  client: CoderClient;
  me: User;
  /** The globals, pointing at the simulator (and a throwaway ledger dir) when one was started. */
  globals: GlobalSettings;
  /** Set when no deployment was given and the built-in simulator runs in this process. */
  simulator?: Simulator;
  /** Stops the simulator and removes its ledger dir; nothing for a real deployment. */
  close(): Promise<void>;
}

/**
 * `connectAsOwner` against the given deployment; with no URL at all, the built-in simulator (or a ConfigError with
 * the command's hint). A URL that is given but unreachable is always an error (exit 2), never a silent fallback.
 */
export async function openDeployment(
  g: GlobalSettings,
  opts: { without: WithoutDeployment; retry?: RetryOptions; signal?: AbortSignal; stderr?: NodeJS.WritableStream },
): Promise<Deployment> {
  if (g.url) return { ...(await connectAsOwner(g, opts)), globals: g, close: async () => undefined };
  if (opts.without !== "simulator") throw notLoggedIn(g, opts.without.hint);
  const builtIn = await startBuiltInSimulator(opts.stderr);
  try {
    const globals = { ...g, url: builtIn.sim.url, token: builtIn.sim.sessionToken, stateDir: builtIn.ledgerDir };
    return { ...(await connectAsOwner(globals, opts)), globals, simulator: builtIn.sim, close: builtIn.close };
  } catch (err) {
    await builtIn.close();
    throw err;
  }
}

