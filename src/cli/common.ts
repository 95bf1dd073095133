// What every subcommand shares: flag groups and their reader, credential lookup, the owner check (or the built-in
// simulator when no deployment is given), Prometheus flags, output handling, verbose logs and signal handling.
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Command, Option } from "commander";
import { CoderClient, type RetryOptions } from "../coder/client.ts";
import { CoderConnectionError, CoderTimeoutError, isCoderApiError } from "../coder/errors.ts";
import { clientConnection, DEFAULT_REQUEST_TIMEOUT_MS, validateConnectionSettings, type ConnectionSettings } from "../coder/headers.ts";
import { deploymentUrlProblem, urlCredentials } from "../coder/urls.ts";
import type { User } from "../coder/types.ts";
import { ConfigError, EXIT, getErrorMessage, registerSecret, type ConfigProblem } from "../errors.ts";
import { encodeResultsJson, resultsToText, writeResultsJson, type Results } from "../harness/results.ts";
import type { StrategyConfig } from "../harness/strategies.ts";
import { parseListenAddress } from "../metrics/server.ts";
import type { Knobs, Simulator } from "../simulator/index.ts";
import { defaultStateDir } from "../state/ledger.ts";
import { CanceledError, sleep } from "../util/abort.ts";
import { splitCsvRecord } from "../util/csv.ts";
import { formatGoDuration, parseDuration } from "../util/duration.ts";

export { EXIT } from "../errors.ts";
export { splitCsvRecord };

/** A subcommand: name, help, its flag groups, and the action whose result is the exit code. */
export interface CommandSpec {
  name: string;
  description: string;
  /** Text after the flag list (what differs from upstream, exit codes). */
  helpAfter: string;
  groups: ReadonlyArray<readonly FlagSpec[]>;
  action: (cmd: Command) => Promise<number>;
}

/** Builds a subcommand from its spec and adds it to `program`; the action's number becomes process.exitCode. */
export function defineCommand(program: Command, spec: CommandSpec): Command {
  // exitOverride is not inherited by added commands: without it a parse error would exit 1 from inside commander.
  const cmd = new Command(spec.name)
    .description(spec.description)
    .addHelpText("after", spec.helpAfter)
    .exitOverride()
    .showHelpAfterError(`(run "scaletest ${spec.name} --help" for every flag and its allowed values)`);
  for (const group of spec.groups) addFlags(cmd, group);
  cmd.action(async () => {
    process.exitCode = await spec.action(cmd);
  });
  program.addCommand(cmd);
  return cmd;
}

/** How a flag's value is parsed. */
type Kind = "int" | "duration" | "bool" | "string" | "list";

/** One flag: commander spelling, env var, default (as text, as upstream prints it), kind. */
export interface FlagSpec {
  flags: string;
  env?: string;
  kind: Kind;
  default?: string;
  description: string;
}

/** Adds flags to a command; the env var and default are shown in help, resolved later by `FlagReader`. */
export function addFlags(cmd: Command, specs: readonly FlagSpec[]): Command {
  for (const s of specs) {
    const extra = [s.env ? `$${s.env}` : "", s.default !== undefined && s.kind !== "bool" ? `default ${s.default}` : ""].filter(Boolean).join(", ");
    const opt = new Option(s.flags, extra ? `${s.description} (${extra})` : s.description);
    if (s.kind === "list") opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(opt);
  }
  return cmd;
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/**
 * Reads flag values with upstream precedence: the flag, else the env var when non-empty, else the default.
 * Parse problems are collected (each naming the flag or env var) and thrown together by `done()`.
 */
export class FlagReader {
  readonly problems: ConfigProblem[] = [];
  private readonly byLong = new Map<string, FlagSpec>();

  constructor(
    private readonly cmd: Command,
    specs: ReadonlyArray<FlagSpec | readonly FlagSpec[]>,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    for (const s of specs.flat()) this.byLong.set(longName(s.flags), s);
  }

  /** Whether the command has this flag. */
  has(long: string): boolean {
    return this.byLong.has(long);
  }

  /** The raw text and where it came from (flag name or env var), or undefined when unset. */
  private raw(long: string): { value: string | string[] | boolean; from: string } | undefined {
    const spec = this.byLong.get(long);
    if (!spec) throw new Error(`unknown flag --${long}`);
    const opt = this.cmd.options.find((o) => o.long === `--${long}`)!;
    const attr = opt.attributeName();
    if (this.cmd.getOptionValueSource(attr) === "cli") return { value: this.cmd.getOptionValue(attr) as string | string[] | boolean, from: `--${long}` };
    const envValue = spec.env ? this.env[spec.env] : undefined;
    if (spec.env && envValue) return { value: envValue, from: spec.env };
    return undefined;
  }

  /** Where an explicitly empty value came from (`--x ""` or `X=""` in the env), or undefined. */
  givenEmpty(long: string): string | undefined {
    const spec = this.byLong.get(long);
    const opt = this.cmd.options.find((o) => o.long === `--${long}`);
    if (opt && this.cmd.getOptionValueSource(opt.attributeName()) === "cli") return this.cmd.getOptionValue(opt.attributeName()) === "" ? `--${long}` : undefined;
    return spec?.env !== undefined && this.env[spec.env] === "" ? spec.env : undefined;
  }

  private fallback(long: string): string | undefined {
    return this.byLong.get(long)?.default;
  }

  string(long: string): string {
    const r = this.raw(long);
    return r ? String(r.value) : (this.fallback(long) ?? "");
  }

  /** A repeatable flag; an env var is one more value. Each value is split as one CSV record. */
  list(long: string): string[] {
    const r = this.raw(long);
    if (!r) return [];
    const values = Array.isArray(r.value) ? r.value : [String(r.value)];
    const out: string[] = [];
    for (const v of values) {
      try {
        out.push(...splitCsvRecord(v));
      } catch (err) {
        this.problems.push({ path: r.from, message: getErrorMessage(err) });
      }
    }
    return out;
  }

  int(long: string, min = Number.MIN_SAFE_INTEGER): number {
    const r = this.raw(long);
    const text = r ? String(r.value) : (this.fallback(long) ?? "0");
    const from = r?.from ?? `--${long}`;
    if (!/^[+-]?\d+$/.test(text.trim())) {
      this.problems.push({ path: from, message: `must be an integer, got ${JSON.stringify(text)}` });
      return NaN;
    }
    const n = Number(text.trim());
    if (n < min) this.problems.push({ path: from, message: `must be >= ${min}, got ${n}` });
    return n;
  }

  /** A Go duration ("5m", "1h30m", "0"), in milliseconds; negative values are refused. */
  duration(long: string): number {
    const r = this.raw(long);
    const text = r ? String(r.value) : (this.fallback(long) ?? "0");
    const from = r?.from ?? `--${long}`;
    try {
      const ms = parseDuration(text);
      if (ms < 0) throw new Error("negative");
      return ms;
    } catch {
      this.problems.push({ path: from, message: `must be a duration from 0 to 2562047h47m16.854775807s such as 30s, 5m or 1h30m, got ${JSON.stringify(text)}` });
      return NaN;
    }
  }

  /** A boolean flag; from the env var it is parsed as Go's strconv.ParseBool. `--no-x` flags read as "x is off". */
  bool(long: string): boolean {
    const r = this.raw(long);
    if (!r) return this.fallback(long) === "true";
    if (typeof r.value === "boolean") return long.startsWith("no-") ? !r.value : r.value;
    if (GO_TRUE.has(r.value as string)) return true;
    if (GO_FALSE.has(r.value as string)) return false;
    this.problems.push({ path: r.from, message: `must be true or false, got ${JSON.stringify(r.value)}` });
    return false;
  }

  /** Throws a ConfigError with every problem so far plus `more`. */
  done(more: ConfigProblem[] = []): void {
    const all = [...this.problems, ...more];
    if (all.length > 0) throw new ConfigError(all);
  }
}

function longName(flags: string): string {
  const m = /--([a-z0-9-]+)/.exec(flags);
  if (!m) throw new Error(`flag spec without a long name: ${flags}`);
  return m[1]!;
}

// ---- flag groups ----

/** How to talk to the deployment besides URL and token: the Coder CLI's header flags and the request deadline. */
export const CONNECTION_FLAGS: readonly FlagSpec[] = [
  { flags: "--header <key=value>", env: "CODER_HEADER", kind: "list", description: "header sent with every request and WebSocket to the deployment (and to `coder ssh` children); repeatable, comma-separated in the env var; values never printed" },
  { flags: "--header-command <command>", env: "CODER_HEADER_COMMAND", kind: "string", description: "command (sh -c) whose stdout lines are key=value headers, as --header" },
  { flags: "--request-timeout <duration>", env: "CODER_SCALETEST_REQUEST_TIMEOUT", kind: "duration", default: "30s", description: "deadline of each request to the deployment: 0 (none) or 1s to 1h" },
];

const NO_CONNECTION_FLAGS: ConnectionSettings = { header: [], headerCommand: "", requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS };

/** Root options: deployment, credentials, config dir, state dir, verbosity, connection. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { flags: "--url <url>", env: "CODER_URL", kind: "string", description: "URL of the Coder deployment" },
  { flags: "--token <token>", env: "CODER_SESSION_TOKEN", kind: "string", description: "session token (never printed)" },
  { flags: "--global-config <dir>", env: "CODER_CONFIG_DIR", kind: "string", description: "Coder CLI config dir holding `url` and `session` files (default ~/.config/coderv2)" },
  { flags: "--state-dir <dir>", env: "SCALETEST_STATE_DIR", kind: "string", description: "where the run ledger lives (default ~/.scaletest)" },
  { flags: "-v, --verbose", env: "CODER_VERBOSE", kind: "bool", description: "stream every job's log to stderr" },
  ...CONNECTION_FLAGS,
];

export const STRATEGY_FLAGS: readonly FlagSpec[] = [
  { flags: "--concurrency <n>", env: "CODER_SCALETEST_CONCURRENCY", kind: "int", default: "1", description: "jobs run at once: 1 = one after another, 0 = unlimited" },
  { flags: "--timeout <duration>", env: "CODER_SCALETEST_TIMEOUT", kind: "duration", default: "30m", description: "deadline of the whole run (0 = none)" },
  { flags: "--job-timeout <duration>", env: "CODER_SCALETEST_JOB_TIMEOUT", kind: "duration", default: "5m", description: "deadline of each job from when it starts (0 = none)" },
];

export const CLEANUP_STRATEGY_FLAGS: readonly FlagSpec[] = [
  { flags: "--cleanup-concurrency <n>", env: "CODER_SCALETEST_CLEANUP_CONCURRENCY", kind: "int", default: "1", description: "cleanup jobs run at once: 1 = one after another, 0 = unlimited" },
  { flags: "--cleanup-timeout <duration>", env: "CODER_SCALETEST_CLEANUP_TIMEOUT", kind: "duration", default: "30m", description: "deadline of the cleanup phase (0 = none)" },
  { flags: "--cleanup-job-timeout <duration>", env: "CODER_SCALETEST_CLEANUP_JOB_TIMEOUT", kind: "duration", default: "5m", description: "deadline of each cleanup job (0 = none)" },
];

export const OUTPUT_FLAGS: readonly FlagSpec[] = [
  {
    flags: "--output <format[:path]>",
    env: "CODER_SCALETEST_OUTPUTS",
    kind: "list",
    default: "text",
    description: "results as text or json, to stdout or a file; repeatable and comma-separated",
  },
];

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

/** With --verbose, every job's log line goes to stderr prefixed with the job id. */
export function verboseTee(g: GlobalSettings, stderr: NodeJS.WritableStream = process.stderr): ((id: string, text: string) => void) | undefined {
  return g.verbose ? (id, text) => stderr.write(text.replace(/^(?=.)/gm, `[${id}] `)) : undefined;
}

export function readStrategy(r: FlagReader): StrategyConfig {
  return { concurrency: r.int("concurrency"), timeoutMs: r.duration("timeout"), jobTimeoutMs: r.duration("job-timeout") };
}

export function readCleanupStrategy(r: FlagReader): StrategyConfig {
  return { concurrency: r.int("cleanup-concurrency"), timeoutMs: r.duration("cleanup-timeout"), jobTimeoutMs: r.duration("cleanup-job-timeout") };
}

// ---- output ----

/**
 * The end of every run command's flag reading: --output and the globals are read, problems found so far (plus
 * `more`) are thrown, then `validate()`'s, then the --output specs are checked. Values that did not parse are
 * reported as such; the range checks only run on values that did.
 */
export function settleFlags(
  r: FlagReader,
  env: NodeJS.ProcessEnv,
  more: ConfigProblem[] = [],
  validate: () => ConfigProblem[] = () => [],
): { outputs: OutputSpec[]; globals: GlobalSettings } {
  const outputValues = r.has("output") ? r.list("output") : [];
  const globals = readGlobals(r, env);
  r.done(more);
  r.done(validate());
  return { outputs: parseOutputSpecs(outputValues), globals };
}

/** Upstream's ending: exit 1 with its failure line when a job failed, else 0. */
export function resultsExitCode(results: Results, stderr: NodeJS.WritableStream = process.stderr): number {
  if (results.total_fail === 0) return EXIT.ok;
  stderr.write("load test failed, see above for more details\n");
  return EXIT.failed;
}

// ---- prometheus ----

/** The Prometheus flag group (workspace-traffic and dashboard). */
export const PROMETHEUS_FLAGS: readonly FlagSpec[] = [
  { flags: "--scaletest-prometheus-address <host:port>", env: "CODER_SCALETEST_PROMETHEUS_ADDRESS", kind: "string", default: "0.0.0.0:21112", description: "where the metrics HTTP server listens (every path serves the metrics)" },
  { flags: "--scaletest-prometheus-wait <duration>", env: "CODER_SCALETEST_PROMETHEUS_WAIT", kind: "duration", default: "15s", description: "keep serving metrics this long after the test, for a last scrape" },
];

/** Reads the Prometheus flags; a bad listen address is added to `problems`. */
export function readPrometheus(r: FlagReader, problems: ConfigProblem[]): { promAddress: string; promWaitMs: number } {
  const promAddress = r.string("scaletest-prometheus-address");
  const promWaitMs = r.duration("scaletest-prometheus-wait");
  try {
    parseListenAddress(promAddress);
  } catch (err) {
    problems.push({ path: "--scaletest-prometheus-address", message: getErrorMessage(err) });
  }
  return { promAddress, promWaitMs };
}

/** --scaletest-prometheus-wait: keeps the metrics server up (when it listens) for a last scrape; a signal ends the wait. */
export async function waitForScrape(server: { url?: string }, waitMs: number, signal: AbortSignal, stderr: NodeJS.WritableStream = process.stderr): Promise<void> {
  if (waitMs <= 0 || !server.url || signal.aborted) return;
  stderr.write(`Waiting ${formatGoDuration(waitMs)} for prometheus metrics to be scraped\n`);
  await sleep(waitMs, signal).catch(() => undefined);
}

/** Where results go: `path` undefined means stdout. */
export interface OutputSpec {
  format: "text" | "json";
  path?: string;
}

/**
 * Parses `--output` values (already CSV-split) as upstream: split at the first `:`, format text|json,
 * at most one stdout spec; no specs means text on stdout. Paths are checked for a writable directory.
 */
export function parseOutputSpecs(values: readonly string[], from = "--output"): OutputSpec[] {
  const specs: OutputSpec[] = [];
  let stdout = 0;
  const problems: ConfigProblem[] = [];
  for (const v of values) {
    const i = v.indexOf(":");
    const format = i === -1 ? v : v.slice(0, i);
    const path = i === -1 ? undefined : v.slice(i + 1);
    if (format !== "text" && format !== "json") {
      problems.push({ path: from, message: `invalid output format ${JSON.stringify(format)} in ${JSON.stringify(v)}; allowed: text, json, each optionally followed by :<path>` });
      continue;
    }
    if (!path) {
      if (++stdout > 1) problems.push({ path: from, message: "multiple output flags specified for stdout" });
      specs.push({ format });
      continue;
    }
    const abs = resolve(path);
    const dir = dirname(abs);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) problems.push({ path: from, message: `directory ${JSON.stringify(dir)} does not exist` });
    else {
      try {
        accessSync(dir, constants.W_OK);
      } catch {
        problems.push({ path: from, message: `directory ${JSON.stringify(dir)} is not writable` });
      }
    }
    specs.push({ format, path: abs });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return specs.length > 0 ? specs : [{ format: "text" }];
}

/** Writes the results to every spec: stdout first, then files in order (created or truncated). */
export function writeOutputs(results: Results, specs: readonly OutputSpec[], stdout: NodeJS.WritableStream = process.stdout): void {
  const render = (f: OutputSpec["format"]) => (f === "json" ? encodeResultsJson(results) : resultsToText(results));
  for (const s of specs) if (!s.path) stdout.write(render(s.format));
  for (const s of specs) {
    if (!s.path) continue;
    if (s.format === "json") writeResultsJson(s.path, results);
    else writeFileSync(s.path, resultsToText(results));
  }
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
  client = new CoderClient({ url: client.url, token: g.token, bypassRateLimit: true, retry: { retries5xx: 3 }, ...clientConnection(g.connection ?? NO_CONNECTION_FLAGS, client.url.toString()) });
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

// ---- signals ----

/**
 * SIGINT/SIGTERM handling for a command with a run phase and a cleanup phase: during the run, the first signal
 * cancels the run (results are still written and cleanup still runs) and a second one cancels the cleanup too;
 * once `enterCleanup()` was called, the first signal cancels the cleanup.
 */
export function interrupts(stderr: NodeJS.WritableStream = process.stderr): {
  run: AbortSignal;
  cleanup: AbortSignal;
  enterCleanup: () => void;
  dispose: () => void;
} {
  const run = new AbortController();
  const cleanup = new AbortController();
  let inCleanup = false;
  const on = (sig: NodeJS.Signals) => {
    if (!inCleanup && !run.signal.aborted) {
      stderr.write(`\nReceived ${sig}: stopping the run; results will be written and cleanup will run (send again to skip cleanup)\n`);
      run.abort(new CanceledError(`interrupted by ${sig}`));
    } else if (!cleanup.signal.aborted) {
      stderr.write(`\nReceived ${sig}: stopping cleanup; run \`scaletest cleanup\` later to remove what is left\n`);
      cleanup.abort(new CanceledError(`interrupted by ${sig}`));
    }
  };
  process.on("SIGINT", on);
  process.on("SIGTERM", on);
  return {
    run: run.signal,
    cleanup: cleanup.signal,
    enterCleanup: () => {
      inCleanup = true;
    },
    dispose: () => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
    },
  };
}
