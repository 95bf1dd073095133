// Threshold expressions (`ssh.round_trip.p95 < 200ms abortOnFail`): parser, validator and value formatting.
import type { ConfigProblem } from "../errors.ts";
import { parseDuration } from "../util/duration.ts";
import { findMetric, metricNames, THRESHOLD_METRICS, type MetricUnit, type ThresholdMetric } from "./catalog.ts";
import { formatBytes } from "../util/bytes.ts";

/** A comparison; the threshold passes while `observed OP value` holds. */
export type Operator = "<" | "<=" | ">" | ">=";

/** One `{label="value"}` matcher (`=~` / `!~` are regular expressions, as in PromQL). */
export interface LabelMatcher {
  label: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
}

/** A parsed, valid threshold. */
export interface Threshold {
  /** The text as written (trimmed). */
  text: string;
  metric: ThresholdMetric;
  labels: LabelMatcher[];
  op: Operator;
  /** The limit in the metric's base unit: milliseconds, a 0..1 ratio, a count, bytes or cores. */
  value: number;
  /** Stop the run when this threshold fails while it runs. */
  abortOnFail: boolean;
  /** No abort before this long into a phase (milliseconds): the first seconds of a phase are noisy. */
  abortGraceMs: number;
}

/** Where the thresholds came from, for messages (`--threshold`, `SCALETEST_PARAM_THRESHOLDS`). */
export interface ThresholdSource {
  from: string;
  texts: readonly string[];
}

const OPERATORS: readonly Operator[] = ["<=", ">=", "<", ">"];
const METRIC_RE = /^[a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*/;
const LABEL_RE = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"\\]*)"\s*/y;

/** Thrown by `parseThreshold`: names the bad part. */
export class ThresholdSyntaxError extends Error {
  override name = "ThresholdSyntaxError";
}

/** Parses one threshold; throws ThresholdSyntaxError naming the bad part and what is allowed. */
export function parseThreshold(input: string): Threshold {
  const text = input.trim();
  if (text === "") throw new ThresholdSyntaxError('empty threshold; write e.g. "ssh.round_trip.p95 < 200ms"');
  const m = METRIC_RE.exec(text);
  if (!m) throw new ThresholdSyntaxError(`"${text}" must start with a metric name, e.g. "ssh.round_trip.p95 < 200ms"`);
  const name = m[0];
  const metric = findMetric(name);
  if (!metric) {
    const near = metricNames(name).slice(0, 3);
    throw new ThresholdSyntaxError(`unknown metric "${name}"; did you mean ${near.map((n) => `"${n}"`).join(" or ")}? allowed metrics: ${metricNames().join(", ")}`);
  }
  let rest = text.slice(name.length);
  const labels: LabelMatcher[] = [];
  if (rest.startsWith("{")) {
    // A scanner, not a search for "}": route patterns have braces inside their quotes (/api/v2/users/{user}).
    let i = 1;
    for (;;) {
      while (rest[i] === " ") i++;
      if (rest[i] === "}") break;
      if (i >= rest.length) throw new ThresholdSyntaxError(`"${rest}": the label list has no closing "}"`);
      LABEL_RE.lastIndex = i;
      const lm = LABEL_RE.exec(rest);
      if (!lm) throw new ThresholdSyntaxError(`label matcher "${rest.slice(i).split(/[,}]/)[0]!.trim()}" must look like route="/api/v2/workspaces" (no quotes or backslashes inside the value)`);
      const [, label, op, value] = lm as unknown as [string, string, LabelMatcher["op"], string];
      if (!metric.labels.includes(label)) {
        throw new ThresholdSyntaxError(metric.labels.length === 0 ? `${name} takes no labels, got "${label}"` : `${name} has no label "${label}"; allowed labels: ${metric.labels.join(", ")}`);
      }
      if (op.endsWith("~")) {
        try {
          new RegExp(value);
        } catch {
          throw new ThresholdSyntaxError(`label ${label}${op}"${value}": not a valid regular expression`);
        }
      }
      labels.push({ label, op, value });
      i = LABEL_RE.lastIndex;
      if (rest[i] === ",") i++;
      else if (rest[i] !== "}") throw new ThresholdSyntaxError(i >= rest.length ? `"${rest}": the label list has no closing "}"` : `label matchers must be separated by ",", got "${rest.slice(i).trim()}"`);
    }
    rest = rest.slice(i + 1);
  }
  rest = rest.trimStart();
  const op = OPERATORS.find((o) => rest.startsWith(o));
  if (!op) throw new ThresholdSyntaxError(`after "${name}" expected one of ${OPERATORS.join(" ")}, got "${rest.split(/\s+/)[0] ?? ""}"`);
  const [valueText, ...options] = rest.slice(op.length).trim().split(/\s+/).filter(Boolean);
  if (valueText === undefined) throw new ThresholdSyntaxError(`"${text}": no value after "${op}"`);
  const value = parseValue(valueText, metric);
  let abortOnFail = false;
  let abortGraceMs = 0;
  for (const opt of options) {
    const om = /^abortOnFail(?:=(.+))?$/.exec(opt);
    if (!om) throw new ThresholdSyntaxError(`unknown option "${opt}"; allowed: abortOnFail, abortOnFail=<grace duration, e.g. 30s>`);
    abortOnFail = true;
    if (om[1] !== undefined) {
      try {
        abortGraceMs = parseDuration(om[1]);
      } catch {
        throw new ThresholdSyntaxError(`abortOnFail=${om[1]}: the grace must be a duration like 30s or 2m`);
      }
      if (abortGraceMs < 0) throw new ThresholdSyntaxError(`abortOnFail=${om[1]}: the grace must not be negative`);
    }
  }
  return { text, metric, labels, op, value, abortOnFail, abortGraceMs };
}

const BYTE_UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** What a value of this unit looks like, for messages. */
export function unitHint(unit: MetricUnit): string {
  switch (unit) {
    case "duration":
      return "a duration with its unit, e.g. 200ms, 1.5s, 2m";
    case "ratio":
      return "a percentage (1%) or a fraction from 0 to 1 (0.99)";
    case "count":
      return "a number >= 0";
    case "bytes":
      return "bytes, e.g. 512MiB, 2GiB or a plain number of bytes";
    case "cores":
      return "CPU cores, e.g. 2 or 0.5";
  }
}

/** Reads a threshold value in the metric's unit; throws naming the value and the expected form. */
function parseValue(raw: string, metric: ThresholdMetric): number {
  const bad = () => new ThresholdSyntaxError(`${metric.name}: value "${raw}" must be ${unitHint(metric.unit)}`);
  switch (metric.unit) {
    case "duration": {
      if (/^\d+(\.\d+)?$/.test(raw)) throw new ThresholdSyntaxError(`${metric.name}: value "${raw}" needs a unit, e.g. ${raw}ms or ${raw}s`);
      let ms: number;
      try {
        ms = parseDuration(raw);
      } catch {
        throw bad();
      }
      if (ms < 0) throw bad();
      return ms;
    }
    case "ratio": {
      const pct = /^(\d+(?:\.\d+)?)%$/.exec(raw);
      const v = pct ? Number(pct[1]) / 100 : /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
      if (!(v >= 0 && v <= 1)) throw bad();
      return v;
    }
    case "bytes": {
      const bm = /^(\d+(?:\.\d+)?)(B|KB|MB|GB|KiB|MiB|GiB)?$/.exec(raw);
      if (!bm) throw bad();
      return Number(bm[1]) * BYTE_UNITS[bm[2] ?? "B"]!;
    }
    case "count":
    case "cores": {
      if (!/^\d+(\.\d+)?$/.test(raw)) throw bad();
      return Number(raw);
    }
  }
}

/** The key a measured value is stored under: the metric name plus its label matchers, in order. */
export function valueKey(t: Pick<Threshold, "metric" | "labels">): string {
  return t.labels.length === 0 ? t.metric.name : `${t.metric.name}{${t.labels.map((l) => `${l.label}${l.op}"${l.value}"`).join(",")}}`;
}

/** Whether `observed` satisfies the threshold. */
export function holds(t: Pick<Threshold, "op" | "value">, observed: number): boolean {
  switch (t.op) {
    case "<":
      return observed < t.value;
    case "<=":
      return observed <= t.value;
    case ">":
      return observed > t.value;
    case ">=":
      return observed >= t.value;
  }
}

/** A value for people, in the metric's unit: 183ms, 1.25s, 0.40%, 12.0 MiB, 2.10 cores. */
export function formatValue(unit: MetricUnit, v: number): string {
  switch (unit) {
    case "duration":
      if (v < 1) return `${(v * 1000).toFixed(0)}µs`;
      if (v < 1000) return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)}ms`;
      if (v < 120_000) return `${(v / 1000).toFixed(2)}s`;
      return `${(v / 60_000).toFixed(1)}m`;
    case "ratio":
      return `${(v * 100).toFixed(v < 0.1 ? 2 : 1)}%`;
    case "count":
      return Number.isInteger(v) ? String(v) : v.toFixed(2);
    case "bytes":
      return formatBytes(Math.round(v));
    case "cores":
      return `${v.toFixed(2)} cores`;
  }
}

/** What the validator checks a threshold against. */
export interface ThresholdContext {
  /** The run's load scenarios; a client metric of another scenario is a mistake. Unset: not checked. */
  scenarios?: readonly string[];
  /** Whether a Prometheus URL is set; coderd metrics need one. */
  prometheus: boolean;
  /** The setting that gives the Prometheus URL, for the message. */
  prometheusFrom?: string;
}

/** Parses and checks every threshold; each problem names its source and index, the bad part and what is allowed. */
export function validateThresholds(sources: readonly ThresholdSource[], ctx: ThresholdContext): { thresholds: Threshold[]; problems: ConfigProblem[] } {
  const thresholds: Threshold[] = [];
  const problems: ConfigProblem[] = [];
  for (const src of sources) {
    src.texts.forEach((text, i) => {
      const path = `${src.from}[${i}]`;
      let t: Threshold;
      try {
        t = parseThreshold(text);
      } catch (err) {
        if (!(err instanceof ThresholdSyntaxError)) throw err;
        problems.push({ path, message: err.message });
        return;
      }
      if (t.metric.side === "coderd" && !ctx.prometheus) {
        problems.push({ path, message: `${t.metric.name} is read from coderd's metrics and needs a Prometheus URL (${ctx.prometheusFrom ?? "SCALETEST_PARAM_PROMETHEUS_URL"})` });
        return;
      }
      if (t.metric.scenario && ctx.scenarios && !ctx.scenarios.includes(t.metric.scenario)) {
        problems.push({ path, message: `${t.metric.name} is measured by "${t.metric.scenario}", which is not among the load scenarios (${ctx.scenarios.join(", ") || "none"})` });
        return;
      }
      thresholds.push(t);
    });
  }
  return { thresholds, problems };
}

/**
 * Splits the threshold setting: a JSON array of strings (what Coder's list(string) parameter sends), or one threshold
 * per line. Throws ThresholdSyntaxError for a JSON array of something else.
 */
export function splitThresholdSetting(raw: string): string[] {
  const s = raw.trim();
  if (s === "") return [];
  if (s.startsWith("[")) {
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch {
      throw new ThresholdSyntaxError("must be a JSON array of threshold strings or one threshold per line");
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new ThresholdSyntaxError("must be a JSON array of threshold strings");
    return v.filter((x) => x.trim() !== "");
  }
  return s.split(/\r?\n/).filter((x) => x.trim() !== "");
}

/** Every metric name, one per line with its unit and meaning (`scaletest report --list-metrics` and docs). */
export function describeMetrics(): string {
  return THRESHOLD_METRICS.map((m) => `${m.name}${m.labels.length ? `{${m.labels.join(",")}}` : ""}  [${m.unit}, ${m.side}]  ${m.description}`).join("\n");
}
