// Thresholds against measured values: pass / fail / no data per threshold, and the run's verdict.
import type { MetricSide, MetricUnit } from "./catalog.ts";
import { formatValue, holds, valueKey, type Threshold } from "./threshold.ts";

/** Measured values by `valueKey` (metric name plus label matchers). */
export type MeasuredValues = ReadonlyMap<string, number>;

/** How one threshold came out. `no_data`: nothing was measured for it (it neither passes nor fails the run). */
export type ThresholdStatus = "pass" | "fail" | "no_data";

/** One threshold's result, plain data for summary.json, the report and the comparison. */
export interface ThresholdResult {
  threshold: string;
  metric: string;
  /** Metric name plus label matchers (the key of its value). */
  key: string;
  side: MetricSide;
  unit: MetricUnit;
  better: "lower" | "higher";
  status: ThresholdStatus;
  observed?: number;
  /** The observed value for people (e.g. "183ms"), or "no data". */
  observedText: string;
  abortOnFail: boolean;
  /** A latency or throughput figure measured while the generator was saturated: not trusted. */
  untrusted?: boolean;
}

/**
 * The run's verdict: `fail` when a trusted threshold failed; `generator-limited` when the runner itself was the
 * bottleneck (its latency and throughput figures are not trusted); `pass` otherwise; `none` without thresholds
 * or saturation data.
 */
export type VerdictStatus = "pass" | "fail" | "generator-limited" | "none";

/** What saturation found, as far as the verdict needs it. */
export interface SaturationFinding {
  limited: boolean;
  reasons: string[];
}

export interface Verdict {
  status: VerdictStatus;
  /** One result per threshold (not `results`: summary.json drops keys of that name, the upstream results). */
  thresholds: ThresholdResult[];
  /** Why the verdict is "generator-limited". */
  saturation?: SaturationFinding;
  /** The threshold that stopped the run early, if one did. */
  abortedBy?: string;
}

/** Evaluates each threshold against `values`. */
export function evaluateThresholds(thresholds: readonly Threshold[], values: MeasuredValues): ThresholdResult[] {
  return thresholds.map((t) => {
    const key = valueKey(t);
    const observed = values.get(key);
    const known = observed !== undefined && Number.isFinite(observed);
    return {
      threshold: t.text,
      metric: t.metric.name,
      key,
      side: t.metric.side,
      unit: t.metric.unit,
      better: t.metric.better,
      status: !known ? "no_data" : holds(t, observed) ? "pass" : "fail",
      observed: known ? observed : undefined,
      observedText: known ? formatValue(t.metric.unit, observed) : "no data",
      abortOnFail: t.abortOnFail,
    };
  });
}

/** Combines threshold results and saturation into the verdict; saturated runs mark their generator-sensitive results untrusted. */
export function verdictOf(thresholds: readonly Threshold[], results: readonly ThresholdResult[], saturation?: SaturationFinding, abortedBy?: string): Verdict {
  const limited = saturation?.limited === true;
  const sensitive = new Set(thresholds.filter((t) => t.metric.generatorSensitive).map((t) => t.text));
  const marked = results.map((r) => (limited && sensitive.has(r.threshold) ? { ...r, untrusted: true } : { ...r }));
  const trustedFail = marked.some((r) => r.status === "fail" && !r.untrusted);
  const status: VerdictStatus = trustedFail ? "fail" : limited ? "generator-limited" : marked.length > 0 || saturation ? "pass" : "none";
  return { status, thresholds: marked, ...(saturation ? { saturation } : {}), ...(abortedBy ? { abortedBy } : {}) };
}

/**
 * Exit codes beyond the lifecycle's 0 ok / 1 failed / 2 bad settings: the jobs passed but a threshold failed (3), or
 * the runner was saturated so the thresholds' latency figures cannot be trusted (4; without such a threshold there
 * is nothing to distrust, and saturation is only reported). A failed run keeps its own code.
 */
export const VERDICT_EXIT = { thresholdsFailed: 3, generatorLimited: 4 } as const;

/** The run's exit code once the verdict is known. */
export function verdictExitCode(runExitCode: number, verdict: Verdict | undefined): number {
  if (runExitCode !== 0 || !verdict) return runExitCode;
  if (verdict.status === "fail") return VERDICT_EXIT.thresholdsFailed;
  // Only a threshold whose figure a saturated runner distorts (latency, bytes achieved) makes the run untrustworthy.
  if (verdict.status === "generator-limited" && (verdict.thresholds ?? []).some((t) => t.untrusted)) return VERDICT_EXIT.generatorLimited;
  return 0;
}

/** Whether the verdict says anything: thresholds were set, or the runner was saturated. */
export function hasVerdict(v: Verdict | undefined): v is Verdict {
  return v !== undefined && ((v.thresholds ?? []).length > 0 || v.saturation?.limited === true);
}

/** The verdict in a few lines of text (summary, Slack, progress). */
export function verdictLines(v: Verdict): string[] {
  const head = {
    pass: "Verdict: PASS",
    fail: "Verdict: FAIL",
    "generator-limited": "Verdict: GENERATOR-LIMITED (the runner was the bottleneck; latency figures are not trusted)",
    none: "Verdict: none (no thresholds set)",
  }[v.status];
  const out = [head + (v.abortedBy ? `; stopped early by "${v.abortedBy}"` : "")];
  for (const r of v.thresholds ?? []) {
    const mark = r.status === "pass" ? "ok  " : r.status === "fail" ? "FAIL" : "n/a ";
    out.push(`  ${mark} ${r.threshold}: observed ${r.observedText}${r.untrusted ? " (untrusted: generator-limited)" : ""}${r.abortOnFail ? " [abortOnFail]" : ""}`);
  }
  for (const reason of v.saturation?.limited ? v.saturation.reasons : []) out.push(`  saturation: ${reason}`);
  return out;
}

/** Short threshold status for a progress line: "thresholds 3 ok, 1 FAIL". */
export function thresholdStatusText(results: readonly ThresholdResult[]): string {
  if (results.length === 0) return "";
  const ok = results.filter((r) => r.status === "pass").length;
  const fail = results.filter((r) => r.status === "fail").length;
  const none = results.length - ok - fail;
  return `thresholds ${ok} ok${fail ? `, ${fail} FAIL` : ""}${none ? `, ${none} no data` : ""}`;
}
