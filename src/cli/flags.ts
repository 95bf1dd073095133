// Flag definitions and reading for the subcommands: one FlagSpec per flag (flag, env var, kind, default), read with
// the Coder CLI's precedence (flag, env var, default) and checked before anything runs; the shared flag groups.
import { Command, Option } from "commander";
import { DEFAULT_REQUEST_TIMEOUT_MS, type ConnectionSettings } from "../coder/headers.ts";
import { ConfigError, getErrorMessage, type ConfigProblem } from "../errors.ts";
import type { StrategyConfig } from "../harness/strategies.ts";
import { parseListenAddress } from "../metrics/server.ts";
import { splitCsvRecord } from "../util/csv.ts";
import { formatGoDuration, parseDuration } from "../util/duration.ts";

export { splitCsvRecord };

/** A repeatable flag's argParser: every value given, in order. */
export function collect(value: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), value];
}

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
  const cmd = new Command(spec.name).description(spec.description).addHelpText("after", spec.helpAfter);
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

  /** Where the value comes from, for messages: the flag, else its env var when that is set (also when unset: the flag). */
  from(long: string): string {
    return this.raw(long)?.from ?? `--${long}`;
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

export const NO_CONNECTION_FLAGS: ConnectionSettings = { header: [], headerCommand: "", requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS };

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

export function readStrategy(r: FlagReader): StrategyConfig {
  return { concurrency: r.int("concurrency"), timeoutMs: r.duration("timeout"), jobTimeoutMs: r.duration("job-timeout") };
}

export function readCleanupStrategy(r: FlagReader): StrategyConfig {
  return { concurrency: r.int("cleanup-concurrency"), timeoutMs: r.duration("cleanup-timeout"), jobTimeoutMs: r.duration("cleanup-job-timeout") };
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

