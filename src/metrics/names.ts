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
  phase: "coderd_scaletest_phase_info",
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
  provisionerJobsCurrent: "coderd_provisionerd_num_daemons",
  provisionerJobTiming: "coderd_provisionerd_job_timings_seconds",
  provisionerJobsInFlight: "coderd_provisionerd_jobs_current",
  dbQueryLatency: "coderd_db_query_latencies_seconds",
  processCpu: "process_cpu_seconds_total",
  processResident: "process_resident_memory_bytes",
  goGoroutines: "go_goroutines",
} as const;
