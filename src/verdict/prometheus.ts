// coderd-side values from Prometheus: one PromQL query per threshold over a time range (Coder's metric names).
import { CODERD } from "../metrics/names.ts";
import { getErrorMessage, registerSecret } from "../errors.ts";
import { valueKey, type LabelMatcher, type Threshold } from "./threshold.ts";

/** A Prometheus server: its base URL with any user:password taken out into a header. */
export interface PrometheusTarget {
  /** Base URL without credentials (safe to print). */
  url: string;
  headers: Record<string, string>;
}

/** Splits user:password out of a Prometheus URL (fetch refuses URLs with credentials); the password is registered as a secret. */
export function prometheusTarget(raw: string): PrometheusTarget {
  const u = new URL(raw);
  const headers: Record<string, string> = {};
  if (u.username || u.password) {
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    registerSecret(pass);
    headers.Authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
    u.username = "";
    u.password = "";
  }
  return { url: u.toString().replace(/\/+$/, ""), headers };
}

/** The value of an instant query at `time` (epoch ms): the first sample of a vector, or a scalar; undefined when empty or NaN. */
export async function promInstant(target: PrometheusTarget, expr: string, time: number, signal?: AbortSignal): Promise<number | undefined> {
  const params = new URLSearchParams({ query: expr, time: String(time / 1000) });
  const res = await fetch(`${target.url}/api/v1/query?${params}`, { headers: target.headers, signal });
  const body = (await res.json().catch(() => ({}))) as {
    status?: string;
    error?: string;
    data?: { resultType?: string; result?: Array<{ value: [number, string] }> | [number, string] };
  };
  if (!res.ok || body.status !== "success") throw new Error(`prometheus query failed (HTTP ${res.status}): ${body.error ?? "no error text"}`);
  const r = body.data?.result;
  const raw = body.data?.resultType === "scalar" ? (r as [number, string])[1] : (r as Array<{ value: [number, string] }> | undefined)?.[0]?.value[1];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  return Number.isFinite(v) ? v : undefined;
}

const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"');

/** The selector body for a threshold's matchers (`route` is coderd's `path` label: the chi route pattern). */
function selector(labels: readonly LabelMatcher[], extra: string[] = []): string {
  const parts = [...extra, ...labels.map((l) => `${l.label === "route" ? "path" : l.label}${l.op}"${escape(l.value)}"`)];
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** Only series of targets that export coderd's API metrics: coderd replicas, not the runner or exporters beside them. */
const CODERD_TARGETS = `and on (job, instance) ${CODERD.apiConcurrentRequests}`;

const QUANTILE: Record<string, number> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };

/**
 * The PromQL for one coderd threshold over the `rangeSeconds` before the evaluation time, and the factor that turns
 * its result into the threshold's unit (seconds to milliseconds for latencies).
 */
export function coderdQuery(t: Pick<Threshold, "metric" | "labels">, rangeSeconds: number): { expr: string; scale: number } {
  const r = `${Math.max(1, Math.ceil(rangeSeconds))}s`;
  const [, family, stat] = t.metric.name.split(".") as [string, string, string | undefined];
  const histogram = (name: string) => ({
    expr: `histogram_quantile(${QUANTILE[stat!]}, sum by (le) (rate(${name}_bucket${selector(t.labels)}[${r}])))`,
    scale: 1000,
  });
  switch (family) {
    case "api_latency":
      return histogram(CODERD.apiRequestLatency);
    case "db_query":
      return histogram(CODERD.dbQueryLatency);
    case "provisioner_job":
      return histogram(CODERD.provisionerJobTiming);
    case "api_5xx_rate":
      return {
        expr: `sum(increase(${CODERD.apiRequestsProcessed}${selector(t.labels, ['code=~"5.."'])}[${r}])) / sum(increase(${CODERD.apiRequestsProcessed}${selector(t.labels, ['code!="0"'])}[${r}]))`,
        scale: 1,
      };
    // Every replica reports the same database-derived count: the busiest reading, not a sum over replicas.
    case "provisioner_queue":
      return { expr: `max(max_over_time(${CODERD.apiWorkspaceLatestBuild}{status="pending"}[${r}])) or vector(0)`, scale: 1 };
    case "cpu":
      return { expr: `max(rate(${CODERD.processCpu}[${r}]) ${CODERD_TARGETS})`, scale: 1 };
    case "memory":
      return { expr: `max(max_over_time(${CODERD.processResident}[${r}]) ${CODERD_TARGETS})`, scale: 1 };
    default:
      throw new Error(`no PromQL for ${t.metric.name}`);
  }
}

/** What a coderd evaluation returns: values by key, and the queries that failed (the run goes on; their thresholds show no data). */
export interface CoderdValues {
  values: Map<string, number>;
  errors: string[];
}

/** Queries every coderd threshold over [start, end] (epoch ms). */
export async function coderdValues(
  thresholds: readonly Threshold[],
  o: { prometheus: PrometheusTarget; start: number; end: number; signal?: AbortSignal },
): Promise<CoderdValues> {
  const values = new Map<string, number>();
  const errors: string[] = [];
  const range = (o.end - o.start) / 1000;
  for (const t of thresholds) {
    if (t.metric.side !== "coderd") continue;
    const key = valueKey(t);
    if (values.has(key)) continue;
    const { expr, scale } = coderdQuery(t, range);
    try {
      const v = await promInstant(o.prometheus, expr, o.end, o.signal);
      if (v !== undefined) values.set(key, v * scale);
    } catch (err) {
      errors.push(`${t.text}: ${getErrorMessage(err)}`);
    }
  }
  return { values, errors };
}
