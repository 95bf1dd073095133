// The only place metric and label names are written; the runner, the simulator and dashboards/ import them.

/** Prefix of every metric the runner exports (as Coder's Go scaletest does). */
export const PREFIX = "coderd_scaletest_";

/** Upstream workspace-traffic metric names (coder exp scaletest workspace-traffic). */
export const TRAFFIC = {
  bytesRead: "coderd_scaletest_bytes_read_total",
  bytesWritten: "coderd_scaletest_bytes_written_total",
  readErrors: "coderd_scaletest_read_errors_total",
  writeErrors: "coderd_scaletest_write_errors_total",
  readLatency: "coderd_scaletest_read_latency_seconds",
  writeLatency: "coderd_scaletest_write_latency_seconds",
  /** Ours: write-to-echo time of a tick's marker (upstream has no round-trip metric). */
  roundTrip: "coderd_scaletest_round_trip_seconds",
} as const;

/** Upstream dashboard-scenario metric names. */
export const DASHBOARD = {
  duration: "coderd_scaletest_dashboard_duration_seconds",
  errors: "coderd_scaletest_dashboard_errors_total",
} as const;

/** Ours: runner health and run progress. */
export const RUNNER = {
  eventLoopLag: "coderd_scaletest_runner_event_loop_lag_seconds",
  skippedTicks: "coderd_scaletest_skipped_ticks_total",
  openConnections: "coderd_scaletest_open_connections",
  residentMemory: "coderd_scaletest_runner_resident_memory_bytes",
  jobs: "coderd_scaletest_jobs_total",
  jobDuration: "coderd_scaletest_job_duration_seconds",
  jobsRunning: "coderd_scaletest_running_jobs",
  phase: "coderd_scaletest_phase_info",
  retries: "coderd_scaletest_retries_total",
} as const;

/** Label names. Upstream traffic metrics carry username, workspace_name and agent_name. */
export const LABELS = {
  username: "username",
  workspaceName: "workspace_name",
  agentName: "agent_name",
  action: "action",
  scenario: "scenario",
  shard: "shard",
  outcome: "outcome",
  phase: "phase",
  test: "test",
  /** Run identifier (SCALETEST_RUN_ID); the dashboard's `run` variable filters on it. */
  runId: "run_id",
  /** Why a tick was skipped: backpressure (send buffer still full), echo_backlog, late (event loop behind). */
  reason: "reason",
  /** Traffic mode of a connection: rpty, ssh or app. */
  mode: "mode",
  /** What was retried: rest (an API call), websocket (an upgrade), ssh (a `coder ssh --stdio` start). */
  kind: "kind",
} as const;

/** Prometheus client default buckets, as upstream uses them for its latency histograms (seconds). */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** coderd metric names the simulator exports and the dashboard queries (Coder's own catalog). */
export const CODERD = {
  apiRequestsProcessed: "coderd_api_requests_processed_total",
  apiConcurrentRequests: "coderd_api_concurrent_requests",
  apiConcurrentWebsockets: "coderd_api_concurrent_websockets",
  apiRequestLatency: "coderd_api_request_latencies_seconds",
  apiWebsocketDurations: "coderd_api_websocket_durations_seconds",
  agentsConnections: "coderd_agents_connections",
  agentsUp: "coderd_agents_up",
  workspaceBuildsTotal: "coderd_workspace_builds_total",
  provisionerJobTiming: "coderd_provisionerd_job_timings_seconds",
  dbQueryLatency: "coderd_db_query_latencies_seconds",
  apiWorkspaceLatestBuild: "coderd_api_workspace_latest_build",
  provisionerdJobsCurrent: "coderd_provisionerd_jobs_current",
  provisionerdNumDaemons: "coderd_provisionerd_num_daemons",
  processCpu: "process_cpu_seconds_total",
  processResident: "process_resident_memory_bytes",
} as const;

/**
 * Go runtime metrics coderd's process exports. The simulator is a Node process with no Go runtime, so
 * nothing in this project produces them (it does not fake them); the dashboard reads them from real coderd.
 */
export const GO_RUNTIME = {
  goroutines: "go_goroutines",
} as const;

/**
 * Metrics from exporters a Kubernetes deployment runs next to Coder (cAdvisor, kube-state-metrics,
 * postgres_exporter). Nothing in this project produces them; the dashboard reads them when present.
 */
export const CADVISOR = {
  cpu: "container_cpu_usage_seconds_total",
  memoryWorkingSet: "container_memory_working_set_bytes",
} as const;

/** kube-state-metrics names the dashboard reads (requests, limits, restarts, running containers). */
export const KUBE_STATE = {
  resourceRequests: "kube_pod_container_resource_requests",
  resourceLimits: "kube_pod_container_resource_limits",
  restarts: "kube_pod_container_status_restarts_total",
  running: "kube_pod_container_status_running",
} as const;

/** postgres_exporter names the dashboard reads (connections, transactions, rows). */
export const POSTGRES_EXPORTER = {
  activity: "pg_stat_activity_count",
  xactCommit: "pg_stat_database_xact_commit",
  xactRollback: "pg_stat_database_xact_rollback",
  tupFetched: "pg_stat_database_tup_fetched",
  tupInserted: "pg_stat_database_tup_inserted",
  tupUpdated: "pg_stat_database_tup_updated",
  tupDeleted: "pg_stat_database_tup_deleted",
} as const;

/**
 * Tags on the Grafana annotations the runner posts (as upstream's lib.sh does): every annotation
 * carries `base`, plus one kind; the dashboard's annotation queries filter on the same sets.
 */
export const ANNOTATION_TAGS = {
  base: ["scaletest", "runner"],
  status: "status",
  phase: "phase",
  /** Second tag of a phase that applies load (upstream's "Scaletest Phase" query shows only these). */
  phaseDefault: "phase-default",
  phaseWait: "phase-wait",
  error: "error",
} as const;

/**
 * Agent-side and agent-stats metric names the simulator's traffic endpoints export (Coder's catalog;
 * as coderd's agent stats report them). rx/tx are gauges of the latest stats window, as coderd reports them.
 */
export const AGENT = {
  reconnectingPtyConnections: "agent_reconnecting_pty_connections_total",
  sessions: "agent_sessions_total",
  sessionCountSsh: "coderd_agentstats_session_count_ssh",
  sessionCountReconnectingPty: "coderd_agentstats_session_count_reconnecting_pty",
  rxBytes: "coderd_agentstats_rx_bytes",
  txBytes: "coderd_agentstats_tx_bytes",
  connectionCount: "coderd_agentstats_connection_count",
} as const;

/** The bundled Grafana dashboard (dashboards/): its uid and URL slug; the template's Grafana app and the reports link to /d/<uid>/<slug>. Keep both stable. */
export const GRAFANA_DASHBOARD = { uid: "scaletest-runner", slug: "scaletest-runner" } as const;
