// coderd-style Prometheus metrics for the simulator, on its own registry, driven by the load it really receives.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { CODERD, DEFAULT_BUCKETS } from "../metrics/names.ts";
import type { SimState } from "./state.ts";
import type { SimBuild, SimJob } from "./records.ts";

/** coderd's API latency buckets (seconds). */
export const API_LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 10, 30];
/** coderd's websocket lifetime buckets (seconds): 1 ms, 1 s, 1 min, 1 h, 15 h, 30 h. */
export const WEBSOCKET_DURATION_BUCKETS = [0.001, 1, 60, 3600, 54000, 108000];
/** coderd's provisioner job timing buckets (seconds). */
export const JOB_TIMING_BUCKETS = [1, 10, 30, 60, 300, 600, 1800, 3600];

const TRANSITION_LABEL = { start: "START", stop: "STOP", delete: "DESTROY" } as const;

/** The metric handles the server and the state machine bump. */
export interface SimMetrics {
  registry: Registry;
  requestsProcessed: Counter<"code" | "method" | "path">;
  concurrentRequests: Gauge;
  concurrentWebsockets: Gauge;
  requestLatency: Histogram<"method" | "path">;
  websocketDurations: Histogram<"path">;
  /** Counts a finished provisioner job (timing histogram, and builds_total for workspace builds). */
  jobCompleted(job: SimJob, build: SimBuild | undefined, seconds: number): void;
  /** Times one store operation (coderd_db_query_latencies_seconds{query}, named like coderd's store methods). */
  dbQuery(query: string, seconds: number): void;
  /** Tracks one open WebSocket on `path`; call the returned function once when it closes. */
  websocketOpened(path: string): () => void;
}

/** Creates the registry with every family at zero; gauges derived from state are computed at scrape time. */
export function createSimMetrics(state: SimState): SimMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requestsProcessed = new Counter({ name: CODERD.apiRequestsProcessed, help: "The number of processed API requests.", labelNames: ["code", "method", "path"] as const, registers });
  const concurrentRequests = new Gauge({ name: CODERD.apiConcurrentRequests, help: "The number of concurrent API requests.", registers });
  const concurrentWebsockets = new Gauge({ name: CODERD.apiConcurrentWebsockets, help: "The total number of concurrent API websockets.", registers });
  const requestLatency = new Histogram({ name: CODERD.apiRequestLatency, help: "Latency distribution of requests in seconds.", labelNames: ["method", "path"] as const, buckets: API_LATENCY_BUCKETS, registers });
  const websocketDurations = new Histogram({ name: CODERD.apiWebsocketDurations, help: "Websocket duration distribution of requests in seconds.", labelNames: ["path"] as const, buckets: WEBSOCKET_DURATION_BUCKETS, registers });
  const jobTimings = new Histogram({ name: CODERD.provisionerJobTiming, help: "The provisioner job time duration in seconds.", labelNames: ["provisioner", "status"] as const, buckets: JOB_TIMING_BUCKETS, registers });
  // coderd registers this only with CODER_PROMETHEUS_COLLECT_DB_METRICS=true; the simulator always does, timing
  // the in-memory store operations that stand in for the queries (they take microseconds, not Postgres' milliseconds).
  const dbQueryLatency = new Histogram({ name: CODERD.dbQueryLatency, help: "Latency distribution of queries in seconds.", labelNames: ["query"] as const, buckets: DEFAULT_BUCKETS, registers });
  const buildsTotal = new Counter({
    name: CODERD.workspaceBuildsTotal,
    help: "The number of workspaces started, updated, or deleted.",
    labelNames: ["workspace_owner", "workspace_name", "template_name", "template_version", "workspace_transition", "status"] as const,
    registers,
  });

  new Gauge({
    name: CODERD.provisionerdJobsCurrent,
    help: "The number of currently running provisioner jobs.",
    labelNames: ["provisioner"] as const,
    registers,
    collect() {
      let running = 0;
      for (const j of state.jobs.values()) if (j.status === "running" || j.status === "canceling") running++;
      this.set({ provisioner: "terraform" }, running);
    },
  });
  new Gauge({
    name: CODERD.provisionerdNumDaemons,
    help: "The number of provisioner daemons.",
    registers,
    collect() {
      this.set(1);
    },
  });
  new Gauge({
    name: CODERD.apiWorkspaceLatestBuild,
    help: "The latest workspace builds with a status.",
    labelNames: ["status"] as const,
    registers,
    collect() {
      this.reset();
      for (const ws of state.workspaces.values()) {
        if (ws.deleted) continue;
        const b = state.latestBuild(ws);
        this.inc({ status: b.job.status });
      }
    },
  });
  new Gauge({
    name: CODERD.agentsUp,
    help: "The number of active agents per workspace.",
    labelNames: ["username", "workspace_name", "template_name", "template_version"] as const,
    registers,
    collect() {
      this.reset();
      for (const ws of state.workspaces.values()) {
        if (ws.deleted) continue;
        const b = state.latestBuild(ws);
        const owner = state.users.get(ws.ownerId);
        const tpl = state.templates.get(ws.templateId);
        const version = state.versions.get(b.templateVersionId);
        const up = state.agentsOf(b).filter((a) => a.status === "connected").length;
        this.set({ username: owner?.username ?? "", workspace_name: ws.name, template_name: tpl?.name ?? "", template_version: version?.name ?? "" }, up);
      }
    },
  });
  new Gauge({
    name: CODERD.agentsConnections,
    help: "Agent connections with statuses.",
    labelNames: ["agent_name", "username", "workspace_name", "status", "lifecycle_state", "tailnet_node"] as const,
    registers,
    collect() {
      this.reset();
      for (const ws of state.workspaces.values()) {
        if (ws.deleted) continue;
        const owner = state.users.get(ws.ownerId);
        for (const a of state.agentsOf(state.latestBuild(ws))) {
          this.set({ agent_name: a.name, username: owner?.username ?? "", workspace_name: ws.name, status: a.status, lifecycle_state: a.lifecycleState, tailnet_node: a.status === "connected" ? a.id.slice(0, 16) : "unknown" }, 1);
        }
      }
    },
  });
  collectDefaultMetrics({ register: registry });

  return {
    registry,
    requestsProcessed,
    concurrentRequests,
    concurrentWebsockets,
    requestLatency,
    websocketDurations,
    jobCompleted(job, build, seconds) {
      const status = job.status === "succeeded" ? "success" : "failed";
      jobTimings.observe({ provisioner: "terraform", status }, seconds);
      if (!build || job.status === "canceled") return;
      const ws = state.workspaces.get(build.workspaceId);
      const owner = ws && state.users.get(ws.ownerId);
      const tpl = ws && state.templates.get(ws.templateId);
      const version = state.versions.get(build.templateVersionId);
      buildsTotal.inc({
        workspace_owner: owner?.username ?? "",
        workspace_name: ws?.name ?? "",
        template_name: tpl?.name ?? "",
        template_version: version?.name ?? "",
        workspace_transition: TRANSITION_LABEL[build.transition],
        status,
      });
    },
    dbQuery(query, seconds) {
      dbQueryLatency.observe({ query }, seconds);
    },
    websocketOpened(path) {
      const started = process.hrtime.bigint();
      concurrentWebsockets.inc();
      let closed = false;
      return () => {
        if (closed) return;
        closed = true;
        concurrentWebsockets.dec();
        websocketDurations.observe({ path }, Number(process.hrtime.bigint() - started) / 1e9);
      };
    },
  };
}
