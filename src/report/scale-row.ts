// The run's own row of Coder's "Recent scale tests" table: what it measured, what coderd reports, "unknown" for the rest.
import type { CoderClient } from "../coder/client.ts";
import { getErrorMessage } from "../errors.ts";
import { CODERD, KUBE_STATE } from "../metrics/names.ts";
import { promInstant, type PrometheusTarget } from "../verdict/prometheus.ts";
import { peakOverlap, type RunData } from "./run-data.ts";
import { UNKNOWN, type ScaleTestRow } from "./scale-table.ts";
import { formatBytes } from "../util/bytes.ts";

/** Results files by the kind of connection their jobs hold (greedy agent jobs count with their kind). */
const CONNECTION_KINDS: ReadonlyArray<[RegExp, string]> = [
  [/^traffic-ssh(-greedy-agent)?\.json$/, "SSH"],
  [/^traffic-web-terminal(-greedy-agent)?\.json$/, "terminal"],
  [/^traffic-app(-greedy-agent)?\.json$/, "app"],
  [/^traffic-dashboard\.json$/, "dashboard"],
];

/** What the run measured itself: users, peak concurrent builds, peak concurrent connections by kind (from the jobs' spans). */
export function measuredRow(data: RunData): Pick<ScaleTestRow, "users" | "concurrentBuilds" | "concurrentConnections" | "date"> {
  const span = (started: string | number, ms: number): [number, number] => {
    const s = typeof started === "number" ? started : Date.parse(started);
    return [s, s + ms];
  };
  const connections: Record<string, number> = {};
  for (const [re, kind] of CONNECTION_KINDS) {
    const spans = Object.entries(data.results)
      .filter(([file]) => re.test(file))
      .flatMap(([, r]) => Object.values(r.runs).map((run) => span(run.started_at, run.duration_ms)));
    if (spans.length > 0) connections[kind] = peakOverlap(spans);
  }
  const date = new Date(data.summary.startedAt).toLocaleDateString("en-US", { month: "short", day: "numeric", year: "numeric", timeZone: "UTC" });
  return {
    users: data.builds.filter((b) => b.ok).length,
    concurrentBuilds: peakOverlap(data.builds.map((b) => span(b.startedAt, b.durationMs))),
    concurrentConnections: connections,
    date,
  };
}

/** Where coderd's side of the row comes from; anything not given stays "unknown". */
export interface RowSources {
  /** Reads /api/v2/buildinfo. */
  client?: Pick<CoderClient, "buildInfo">;
  /** coderd's metrics: replicas; CPU and RAM limits (kube-state-metrics) or, without them, the peak use. */
  prometheus?: PrometheusTarget;
  /** The load window to query (epoch ms). */
  window?: { start: number; end: number };
  /** Free text the run cannot know (e.g. "Kubernetes (GKE)", "db-custom-8-30720"). */
  environment?: string;
  database?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** Series of coderd targets only (those that export its API metrics), joined by pod when kube-state-metrics has them. */
const CODERD_PODS = `and on (namespace, pod) ${CODERD.apiConcurrentRequests}`;
const CODERD_TARGETS = `and on (job, instance) ${CODERD.apiConcurrentRequests}`;

/** The row: measured cells from the run, coderd's from its build info and Prometheus. */
export async function buildScaleTestRow(data: RunData, src: RowSources = {}): Promise<ScaleTestRow> {
  const row: ScaleTestRow = {
    environment: src.environment || UNKNOWN,
    coderCpu: UNKNOWN,
    coderRam: UNKNOWN,
    replicas: UNKNOWN,
    database: src.database || UNKNOWN,
    coderVersion: UNKNOWN,
    ...measuredRow(data),
  };
  if (src.client) {
    try {
      row.coderVersion = (await src.client.buildInfo({ signal: src.signal })).version || UNKNOWN;
    } catch (err) {
      src.log?.(`scale test row: could not read coderd's build info: ${getErrorMessage(err)}`);
    }
  }
  if (src.prometheus) {
    const w = src.window ?? { start: data.summary.startedAt, end: data.summary.endedAt ?? Date.now() };
    const r = `${Math.max(1, Math.ceil((w.end - w.start) / 1000))}s`;
    const q = async (expr: string) => {
      try {
        return await promInstant(src.prometheus!, expr, w.end, src.signal);
      } catch (err) {
        src.log?.(`scale test row: ${getErrorMessage(err)}`);
        return undefined;
      }
    };
    const replicas = await q(`count(max_over_time(${CODERD.apiConcurrentRequests}[${r}]))`);
    if (replicas !== undefined) row.replicas = String(replicas);
    const cpuLimit = await q(`max(${KUBE_STATE.resourceLimits}{resource="cpu"} ${CODERD_PODS})`);
    const cpuUsed = cpuLimit === undefined ? await q(`max(rate(${CODERD.processCpu}[${r}]) ${CODERD_TARGETS})`) : undefined;
    if (cpuLimit !== undefined) row.coderCpu = `${cpuLimit} cores`;
    else if (cpuUsed !== undefined) row.coderCpu = `${cpuUsed.toFixed(2)} cores used (busiest replica, average)`;
    const ramLimit = await q(`max(${KUBE_STATE.resourceLimits}{resource="memory"} ${CODERD_PODS})`);
    const ramUsed = ramLimit === undefined ? await q(`max(max_over_time(${CODERD.processResident}[${r}]) ${CODERD_TARGETS})`) : undefined;
    if (ramLimit !== undefined) row.coderRam = formatBytes(ramLimit);
    else if (ramUsed !== undefined) row.coderRam = `${formatBytes(ramUsed)} used (busiest replica, peak)`;
  }
  return row;
}
