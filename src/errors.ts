// Project-wide error types and the one way to render an error for people.

/** One invalid setting: `path` names the field (flag or env var), `message` says what is allowed. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** Exit codes of every subcommand: 0 success, 1 a run or cleanup failed, 2 bad input found before any side effect. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Bad input, found before any side effect. The CLI maps it to exit code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(problems.map((p) => `validate ${p.path}: ${p.message}`).join("\n"));
    this.problems = problems;
  }
}

/** Throws a ConfigError when there are problems. */
export function assertNoProblems(problems: ConfigProblem[]): void {
  if (problems.length > 0) throw new ConfigError(problems);
}

// Secrets we know about are registered here so any rendered message can be scrubbed.
const secrets = new Set<string>();

/** Registers a secret (token, password, webhook URL) so `redact` removes it from any text. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) secrets.add(value);
}

/** Replaces every registered secret in `text` with a marker. */
export function redact(text: string): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join("[REDACTED]");
  return out;
}

/** Renders an error (with its cause chain) as one line, secrets removed. */
export function getErrorMessage(err: unknown, fallback = "unknown error"): string {
  if (err === undefined || err === null) return fallback;
  if (!(err instanceof Error)) return redact(String(err));
  let msg = err.message || fallback;
  let cause = err.cause;
  for (let depth = 0; cause && depth < 8; depth++) {
    if (cause instanceof Error) {
      if (!msg.includes(cause.message)) msg += `: ${cause.message}`;
      cause = cause.cause;
    } else {
      msg += `: ${String(cause)}`;
      break;
    }
  }
  return redact(msg);
}
