// Pins every metric name to where it comes from: Coder's own catalog (so operators' existing dashboards and
// alerts keep working), the exporters' names, or this project's published names (the bundled dashboard and
// anyone's alerts depend on them). Renaming one is a breaking change and must fail here first.
import { describe, expect, it } from "vitest";
import * as names from "../../../src/metrics/names.ts";

// Coder's catalog (coderd, agents, provisioners, scaletest CLI) as Coder itself exports the names.
const CODER_CATALOG = new Set([
  "coderd_scaletest_bytes_read_total",
  "coderd_scaletest_bytes_written_total",
  "coderd_scaletest_read_errors_total",
  "coderd_scaletest_write_errors_total",
  "coderd_scaletest_read_latency_seconds",
  "coderd_scaletest_write_latency_seconds",
  "coderd_scaletest_dashboard_duration_seconds",
  "coderd_scaletest_dashboard_errors_total",
  "coderd_api_requests_processed_total",
  "coderd_api_concurrent_requests",
  "coderd_api_concurrent_websockets",
  "coderd_api_request_latencies_seconds",
  "coderd_api_websocket_durations_seconds",
  "coderd_api_workspace_latest_build",
  "coderd_agents_connections",
  "coderd_agents_up",
  "coderd_workspace_builds_total",
  "coderd_provisionerd_job_timings_seconds",
  "coderd_provisionerd_jobs_current",
  "coderd_provisionerd_num_daemons",
  "coderd_db_query_latencies_seconds",
  "agent_reconnecting_pty_connections_total",
  "agent_sessions_total",
  "coderd_agentstats_session_count_ssh",
  "coderd_agentstats_session_count_reconnecting_pty",
  "coderd_agentstats_rx_bytes",
  "coderd_agentstats_tx_bytes",
  "coderd_agentstats_connection_count",
  "process_cpu_seconds_total",
  "process_resident_memory_bytes",
  "go_goroutines",
]);

// Exporters the dashboard reads but nothing here produces (cAdvisor, kube-state-metrics, postgres_exporter).
const EXPORTERS = new Set([
  "container_cpu_usage_seconds_total",
  "container_memory_working_set_bytes",
  "kube_pod_container_resource_requests",
  "kube_pod_container_resource_limits",
  "kube_pod_container_status_restarts_total",
  "kube_pod_container_status_running",
  "pg_stat_activity_count",
  "pg_stat_database_xact_commit",
  "pg_stat_database_xact_rollback",
  "pg_stat_database_tup_fetched",
  "pg_stat_database_tup_inserted",
  "pg_stat_database_tup_updated",
  "pg_stat_database_tup_deleted",
]);

// Ours, published in README and the bundled dashboard.
const OURS = new Set([
  "coderd_scaletest_round_trip_seconds",
  "coderd_scaletest_runner_event_loop_lag_seconds",
  "coderd_scaletest_skipped_ticks_total",
  "coderd_scaletest_open_connections",
  "coderd_scaletest_runner_resident_memory_bytes",
  "coderd_scaletest_jobs_total",
  "coderd_scaletest_job_duration_seconds",
  "coderd_scaletest_running_jobs",
  "coderd_scaletest_phase_info",
  "coderd_scaletest_retries_total",
]);

const METRIC_GROUPS = ["TRAFFIC", "DASHBOARD", "RUNNER", "CODERD", "GO_RUNTIME", "CADVISOR", "KUBE_STATE", "POSTGRES_EXPORTER", "AGENT"] as const;

describe("metric names", () => {
  const declared = METRIC_GROUPS.flatMap((g) => Object.entries(names[g]).map(([key, value]) => ({ where: `${g}.${key}`, value: value as string })));

  it("every declared name is Coder's, an exporter's, or one of our published names", () => {
    const unknown = declared.filter((d) => !CODER_CATALOG.has(d.value) && !EXPORTERS.has(d.value) && !OURS.has(d.value));
    expect(unknown).toEqual([]);
  });

  it("every pinned name is still declared, once", () => {
    const values = declared.map((d) => d.value);
    for (const n of [...CODER_CATALOG, ...EXPORTERS, ...OURS]) expect(values, n).toContain(n);
    expect(new Set(values).size).toBe(values.length);
  });

  it("our own names carry the scaletest prefix and follow Prometheus' unit suffixes", () => {
    for (const n of OURS) {
      expect(n.startsWith(names.PREFIX)).toBe(true);
      expect(n).toMatch(/_(total|seconds|bytes|info|connections|jobs)$/);
    }
  });

  it("upstream's traffic labels and buckets are unchanged", () => {
    expect([names.LABELS.username, names.LABELS.workspaceName, names.LABELS.agentName]).toEqual(["username", "workspace_name", "agent_name"]);
    expect(names.DEFAULT_BUCKETS).toEqual([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  });
});
