// The Coder CLI's global --header / --header-command (CODER_HEADER, CODER_HEADER_COMMAND): extra headers every
// request and WebSocket to the deployment carries, as deployments behind an authenticating proxy need. The values
// are secrets: registered for redaction as soon as they are read, never logged.
import { spawnSync } from "node:child_process";
import { ConfigError, registerSecret } from "../errors.ts";
import { childEnv } from "../util/child-env.ts";
import { splitCsvRecord } from "../util/csv.ts";
import { parseDuration } from "../util/duration.ts";

/** Default deadline of one request: well under a minute, longer than any healthy coderd answer. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The header settings as given: `key=value` entries and a command whose stdout lines are more of them. */
export interface HeaderSettings {
  /** `--header` values (repeatable) and CODER_HEADER (comma-separated). */
  header: readonly string[];
  /** `--header-command` / CODER_HEADER_COMMAND; "" = none. */
  headerCommand: string;
}

/** What the settings resolve to: headers for our own requests, and the env that hands the same settings to a `coder` child. */
export interface ResolvedHeaders {
  headers: Record<string, string>;
  /** CODER_HEADER / CODER_HEADER_COMMAND for a child `coder` CLI (it runs the command itself, as it would). */
  env: Record<string, string>;
}

/** Names the Coder client sets itself: a header entry may not replace them. */
const RESERVED = new Set(["coder-session-token", "cookie", "content-type", "content-length", "host", "connection", "upgrade"]);

/** Header names as HTTP allows them (RFC 9110 token characters). */
const NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses `key=value` entries as the Coder CLI does (split at the first `=`); repeated names are joined with ", ".
 * Problems name `from` and the entry's position, never its value.
 */
export function parseHeaderEntries(entries: readonly string[], from: string): Record<string, string> {
  const out: Record<string, string> = {};
  const problems: { path: string; message: string }[] = [];
  entries.forEach((entry, i) => {
    const eq = entry.indexOf("=");
    const name = eq < 0 ? "" : entry.slice(0, eq).trim();
    if (eq < 0) problems.push({ path: from, message: `entry ${i + 1} must be key=value (no "=" found)` });
    else if (!NAME_RE.test(name)) problems.push({ path: from, message: `entry ${i + 1} has an invalid header name ${JSON.stringify(name)} (letters, digits and !#$%&'*+.^_\`|~- only)` });
    else if (RESERVED.has(name.toLowerCase())) problems.push({ path: from, message: `entry ${i + 1} may not set ${name} (the client sets it itself)` });
    else if (/[\r\n\0]/.test(entry.slice(eq + 1))) problems.push({ path: from, message: `entry ${i + 1} (${name}) has a line break or NUL in its value` });
    else {
      const value = entry.slice(eq + 1);
      registerSecret(value);
      const key = Object.keys(out).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
      out[key] = out[key] === undefined ? value : `${out[key]}, ${value}`;
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/** Encodes entries as one CSV record, the form the Coder CLI reads CODER_HEADER in. */
export function encodeHeaderEnv(entries: readonly string[]): string {
  return entries.map((e) => (/[",\r\n]/.test(e) ? `"${e.replace(/"/g, '""')}"` : e)).join(",");
}

/**
 * Runs the header command as the Coder CLI does (`sh -c`, CODER_URL in its environment, stdout lines are entries),
 * with the allow-listed child environment and a deadline. Synchronous like the CLI's start-up: clients are built
 * before anything runs. Its output is never echoed: a failure says only how it ended.
 */
export function runHeaderCommand(command: string, coderUrl: string, opts: { timeoutMs?: number } = {}): string[] {
  const [shell, flag] = process.platform === "win32" ? ["cmd.exe", "/c"] : ["sh", "-c"];
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const r = spawnSync(shell, [flag, command], { env: childEnv({ CODER_URL: coderUrl }), stdio: ["ignore", "pipe", "ignore"], encoding: "utf8", timeout: timeoutMs, maxBuffer: 1 << 20 });
  const problem = (message: string) => new ConfigError([{ path: "--header-command", message }]);
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT") throw problem(`did not finish within ${timeoutMs / 1000}s`);
  if (r.error) throw problem(`cannot run it: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`);
  if (r.status !== 0) throw problem(r.signal ? `was stopped by ${r.signal}` : `exited with status ${r.status}`);
  return r.stdout.split(/\r?\n/).filter((l) => l.trim() !== "");
}

/** Resolves the settings once: entries from --header, then the command's lines, as the Coder CLI applies them. */
export function resolveHeaders(s: HeaderSettings, coderUrl: string, opts: { timeoutMs?: number } = {}): ResolvedHeaders {
  const headers = parseHeaderEntries(s.header, "--header");
  if (s.headerCommand) {
    for (const [k, v] of Object.entries(parseHeaderEntries(runHeaderCommand(s.headerCommand, coderUrl, opts), "--header-command output"))) {
      const key = Object.keys(headers).find((h) => h.toLowerCase() === k.toLowerCase()) ?? k;
      headers[key] = headers[key] === undefined ? v : `${headers[key]}, ${v}`;
    }
  }
  const env: Record<string, string> = {};
  if (s.header.length > 0) env.CODER_HEADER = encodeHeaderEnv(s.header);
  if (s.headerCommand) env.CODER_HEADER_COMMAND = s.headerCommand;
  return { headers, env };
}

/** Everything about how to talk to the deployment besides URL and token: the headers and the request deadline. */
export interface ConnectionSettings extends HeaderSettings {
  /** `--request-timeout` / CODER_SCALETEST_REQUEST_TIMEOUT, milliseconds (0 = none). */
  requestTimeoutMs: number;
}

/** The request deadline's allowed range: a second to an hour (0 turns it off). */
export const REQUEST_TIMEOUT_RANGE = { minMs: 1_000, maxMs: 3_600_000 } as const;

/** Problems with the settings, each naming its flag (the header entries are checked by `resolveHeaders`). */
export function validateConnectionSettings(s: ConnectionSettings, flag = "--request-timeout"): { path: string; message: string }[] {
  const t = s.requestTimeoutMs;
  if (Number.isNaN(t)) return []; // already reported as unparsable
  if (t !== 0 && !(t >= REQUEST_TIMEOUT_RANGE.minMs && t <= REQUEST_TIMEOUT_RANGE.maxMs)) {
    return [{ path: flag, message: `must be 0 (no deadline) or from 1s to 1h, got ${t / 1000}s` }];
  }
  return [];
}

/**
 * The connection settings from the environment, as the staged run reads them beside CODER_URL: CODER_HEADER
 * (comma-separated, as the Coder CLI reads it), CODER_HEADER_COMMAND and CODER_SCALETEST_REQUEST_TIMEOUT.
 */
export function connectionFromEnv(env: NodeJS.ProcessEnv): ConnectionSettings {
  const problems: { path: string; message: string }[] = [];
  let header: string[] = [];
  try {
    header = env.CODER_HEADER ? splitCsvRecord(env.CODER_HEADER) : [];
  } catch {
    problems.push({ path: "CODER_HEADER", message: "must be comma-separated key=value entries (quote an entry holding a comma)" });
  }
  let requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS;
  if (env.CODER_SCALETEST_REQUEST_TIMEOUT) {
    try {
      requestTimeoutMs = parseDuration(env.CODER_SCALETEST_REQUEST_TIMEOUT);
    } catch {
      requestTimeoutMs = NaN;
      problems.push({ path: "CODER_SCALETEST_REQUEST_TIMEOUT", message: `must be a duration such as 30s or 2m, got ${JSON.stringify(env.CODER_SCALETEST_REQUEST_TIMEOUT)}` });
    }
  }
  const s = { header, headerCommand: env.CODER_HEADER_COMMAND ?? "", requestTimeoutMs };
  problems.push(...validateConnectionSettings(s, "CODER_SCALETEST_REQUEST_TIMEOUT"));
  if (problems.length > 0) throw new ConfigError(problems);
  return s;
}

/** The CoderClient options for these settings (runs the header command once). */
export function clientConnection(s: ConnectionSettings, coderUrl: string): { headers: Record<string, string>; headerEnv: Record<string, string>; requestTimeoutMs: number } {
  const { headers, env } = resolveHeaders(s, coderUrl);
  return { headers, headerEnv: env, requestTimeoutMs: s.requestTimeoutMs };
}

/** The settings as the environment a child run reads them from (connectionFromEnv's inverse); defaults are left out. */
export function connectionEnv(s: ConnectionSettings): Record<string, string> {
  const env: Record<string, string> = {};
  if (s.header.length > 0) env.CODER_HEADER = encodeHeaderEnv(s.header);
  if (s.headerCommand) env.CODER_HEADER_COMMAND = s.headerCommand;
  if (s.requestTimeoutMs !== DEFAULT_REQUEST_TIMEOUT_MS) env.CODER_SCALETEST_REQUEST_TIMEOUT = `${s.requestTimeoutMs}ms`;
  return env;
}
