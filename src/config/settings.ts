// Typed env settings: one declarative row per env var, with the generic parser, range check and range text.
import type { ConfigProblem } from "../errors.ts";
import { formatGoDuration, parseDuration } from "../util/duration.ts";

/**
 * Who sets the env var in the runner workspace:
 * - `parameter`: a `coder_parameter` mapped into `coder_agent.main.env`;
 * - `workspace`: a value main.tf derives from the workspace (URL, owner, run id, ...);
 * - `secret`: container env read from a Kubernetes secret (never inlined in main.tf);
 * - `fixed`: a constant in main.tf (metrics ports);
 * - `pod`: container env from the Kubernetes downward API (the runner pod's own name and namespace);
 * - `local`: the environment of whoever starts the run (a laptop, a test); main.tf does not set it.
 */
export type SettingSource = "parameter" | "workspace" | "secret" | "fixed" | "pod" | "local";

/** A template parameter's unit when its number is turned into a Go duration by main.tf ("30" + "m"). */
export type ParamUnit = "ms" | "s" | "m";

/** A parameter unit in words. */
const UNIT_NAME: Record<ParamUnit, string> = { ms: "milliseconds", s: "seconds", m: "minutes" };

/** Milliseconds per parameter unit. */
export const UNIT_MS: Record<ParamUnit, number> = { ms: 1, s: 1000, m: 60_000 };

/** The `coder_parameter` that sets a setting. */
export interface ParameterRef {
  /** Terraform resource label: `data.coder_parameter.<label>`. */
  label: string;
  /** The parameter's `name` (UI label and `coder create --parameter` key). */
  name: string;
  /** For durations: the parameter is a number in this unit; main.tf appends the unit suffix. */
  unit?: ParamUnit;
}

interface Base<K extends string, T> {
  kind: K;
  /** Env var name. */
  env: string;
  /** One sentence for docs and the template check. */
  description: string;
  source: SettingSource;
  /** Set when source is "parameter". */
  parameter?: ParameterRef;
  /** Secret values are registered for redaction and never printed. */
  secret?: boolean;
  /** Typed default, used when the env var is unset or empty. */
  default: T;
  /**
   * Other env names that set it when `env` is unset: what upstream's runner template sets (an operator moving over
   * keeps their env as it is).
   */
  aliases?: readonly string[];
}

export interface IntSetting extends Base<"int", number> {
  min: number;
  max: number;
  /** Extra words for the range text, e.g. "0 = unlimited". */
  note?: string;
}
export type BoolSetting = Base<"bool", boolean>;
export interface EnumSetting<O extends readonly string[] = readonly string[]> extends Base<"enum", O[number]> {
  options: O;
}
export interface StringSetting extends Base<"string", string> {
  maxLength: number;
  /** When set, a non-empty value must match. */
  pattern?: RegExp;
  /** What the pattern means, for messages ("an http(s) URL"). */
  patternHint?: string;
  /** Whether "" is allowed. */
  allowEmpty: boolean;
}
/** Go duration string in env, milliseconds in config. */
export interface DurationSetting extends Base<"duration", number> {
  minMs: number;
  maxMs: number;
  /**
   * Smallest value accepted when the env var is set directly (simulator runs, the demo, tests); the template
   * parameter's own validation stays at `minMs`.
   */
  envMinMs?: number;
}
/** JSON array of strings in env (as Coder's list(string) parameter sends it). */
export interface ListSetting<O extends readonly string[] = readonly string[]> extends Base<"list", O[number][]> {
  options: O;
  /** Fewest entries allowed (default 0). */
  minItems?: number;
}

export type Setting = IntSetting | BoolSetting | EnumSetting | StringSetting | DurationSetting | ListSetting;

/** The config value type a setting produces. */
export type ValueOf<S> = S extends IntSetting
  ? number
  : S extends BoolSetting
    ? boolean
    : S extends EnumSetting<infer O>
      ? O[number]
      : S extends ListSetting<infer O>
        ? O[number][]
        : S extends DurationSetting
          ? number
          : S extends StringSetting
            ? string
            : never;

type Spec<S> = Omit<S, "kind">;
export const int = (s: Spec<IntSetting>): IntSetting => ({ kind: "int", ...s });
export const bool = (s: Spec<BoolSetting>): BoolSetting => ({ kind: "bool", ...s });
export const oneOf = <const O extends readonly string[]>(s: Spec<EnumSetting<O>>): EnumSetting<O> => ({ kind: "enum", ...s });
export const str = (s: Spec<StringSetting>): StringSetting => ({ kind: "string", ...s });
export const duration = (s: Spec<DurationSetting>): DurationSetting => ({ kind: "duration", ...s });
export const listOf = <const O extends readonly string[]>(s: Spec<ListSetting<O>>): ListSetting<O> => ({ kind: "list", ...s });

/** Where a problem points: the env var, plus the template parameter's name when one sets it. */
function where(s: Setting): string {
  return s.parameter ? ` (template parameter "${s.parameter.name}")` : "";
}

const quote = (v: string) => JSON.stringify(v);

/** Human text for what a setting allows, e.g. "an integer from 1 to 100". */
export function describeAllowed(s: Setting): string {
  switch (s.kind) {
    case "int":
      return `an integer from ${s.min} to ${s.max}${s.note ? ` (${s.note})` : ""}`;
    case "bool":
      return "true or false";
    case "enum":
      return `one of ${s.options.map(quote).join(", ")}`;
    case "list":
      return `a JSON array of ${s.minItems ? `at least ${s.minItems} of ` : ""}${s.options.map(quote).join(", ")}`;
    case "duration": {
      const bare = s.parameter?.unit ? `, or a number of ${UNIT_NAME[s.parameter.unit]}` : "";
      return `a duration from ${formatGoDuration(s.envMinMs ?? s.minMs)} to ${formatGoDuration(s.maxMs)}${bare}${s.envMinMs !== undefined ? ` (the template parameter allows ${formatGoDuration(s.minMs)} and up)` : ""}`;
    }
    case "string": {
      const shape = s.patternHint ?? "a string";
      return `${shape}${s.allowEmpty ? " or empty" : ""}, at most ${s.maxLength} characters`;
    }
  }
}

/** Renders a raw env value for a message; secrets are never echoed. */
function shown(s: Setting, raw: string): string {
  return s.secret ? "[REDACTED]" : quote(raw);
}

/** Whether "" is a value of its own for this setting (a string that allows it); for the others "" means "unset". */
export function acceptsEmpty(s: Setting): boolean {
  return s.kind === "string" && s.allowEmpty;
}

/**
 * The problem with a setting given explicitly as "": a template parameter always sends its value, so an empty one is
 * a mistake to report, not a request for the default. Undefined when "" is fine (unset-like sources, or a string
 * that allows it).
 */
export function emptyValueProblem(s: Setting): ConfigProblem | undefined {
  if (s.source !== "parameter" || acceptsEmpty(s)) return undefined;
  return { path: s.env, message: `must be ${describeAllowed(s)}${where(s)}, got "" (empty; unset it to use the default ${quote(formatSetting(s, s.default))})` };
}

/** Parses one env value into the setting's type; syntax only (ranges are checked by `checkSetting`). */
export function parseSetting(s: Setting, raw: string | undefined): { value: unknown } | { problem: ConfigProblem } {
  if (raw === "") {
    const problem = emptyValueProblem(s);
    if (problem) return { problem };
  }
  if (raw === undefined || raw === "") return { value: s.kind === "list" ? [...s.default] : s.default };
  const bad = () => ({ problem: { path: s.env, message: `must be ${describeAllowed(s)}${where(s)}, got ${shown(s, raw)}` } });
  const text = raw.trim();
  switch (s.kind) {
    case "int":
      return /^[-+]?\d+$/.test(text) ? { value: Number(text) } : bad();
    case "bool": {
      const v = text.toLowerCase();
      if (v === "true" || v === "1") return { value: true };
      if (v === "false" || v === "0") return { value: false };
      return bad();
    }
    case "duration":
      // A bare number is in the template parameter's unit, as upstream's runner passes minutes (milliseconds for ticks).
      if (/^\d+(\.\d+)?$/.test(text) && text !== "0" && s.parameter?.unit) return { value: Number(text) * UNIT_MS[s.parameter.unit] };
      try {
        return { value: parseDuration(text) };
      } catch {
        return bad();
      }
    case "list": {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return bad();
      }
      if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string")) return bad();
      return { value: parsed };
    }
    case "enum":
      return { value: text };
    case "string":
      return { value: raw };
  }
}

/** Checks a typed value against the setting's range/options; returns problems naming env var and parameter. */
export function checkSetting(s: Setting, value: unknown): ConfigProblem[] {
  const fail = (got: string, extra = ""): ConfigProblem[] => [
    { path: s.env, message: `must be ${describeAllowed(s)}${where(s)}${extra}, got ${got}` },
  ];
  switch (s.kind) {
    case "int":
      if (typeof value !== "number" || !Number.isInteger(value) || value < s.min || value > s.max) return fail(String(value));
      return [];
    case "bool":
      return typeof value === "boolean" ? [] : fail(String(value));
    case "enum":
      return typeof value === "string" && s.options.includes(value) ? [] : fail(quote(String(value)));
    case "duration":
      if (typeof value !== "number" || !Number.isFinite(value) || value < (s.envMinMs ?? s.minMs) || value > s.maxMs) {
        const unit = s.parameter?.unit;
        const hint = unit ? `; the parameter is in ${UNIT_NAME[unit]}` : "";
        return fail(typeof value === "number" ? formatGoDuration(value) : String(value), hint);
      }
      return [];
    case "list": {
      if (!Array.isArray(value)) return fail(String(value));
      if (value.length < (s.minItems ?? 0)) return fail(JSON.stringify(value));
      const problems: ConfigProblem[] = [];
      const seen = new Set<string>();
      for (const item of value) {
        if (!s.options.includes(item)) {
          problems.push({
            path: s.env,
            message: `unknown entry ${quote(String(item))}${where(s)}: allowed entries are ${s.options.map(quote).join(", ")}`,
          });
        } else if (seen.has(item)) {
          problems.push({ path: s.env, message: `entry ${quote(item)} is listed twice${where(s)}` });
        }
        seen.add(item);
      }
      return problems;
    }
    case "string": {
      if (typeof value !== "string") return fail(String(value));
      const got = s.secret ? "[REDACTED]" : quote(value.length > 60 ? `${value.slice(0, 57)}...` : value);
      if (value === "") return s.allowEmpty ? [] : fail(got);
      if (value.length > s.maxLength || (s.pattern && !s.pattern.test(value))) return fail(got);
      return [];
    }
  }
}

/** The env form of a typed value (what the template would set), e.g. 1800000 ms → "30m0s". */
export function formatSetting(s: Setting, value: unknown): string {
  switch (s.kind) {
    case "duration":
      return formatGoDuration(value as number);
    case "list":
      return JSON.stringify(value);
    default:
      return String(value);
  }
}
