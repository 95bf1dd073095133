// The staged run's metrics: runner health, jobs and the phase gauge on the runner port; traffic and dashboard families on theirs.
import { Gauge, type Registry } from "./prom.ts";
import { RunnerHealth } from "./health.ts";
import { LABELS, RUNNER } from "./names.ts";
import { createRegistry, getOrCreate, JobMetrics } from "./registry.ts";
import { startMetricsServer, type MetricsServer } from "./server.ts";
import { Scheduler } from "../traffic/scheduler.ts";

/** What every traffic scenario of one run shares: one scheduler, one traffic registry, runner health and jobs. */
export interface RunMetrics {
  /** Runner-level families (health, jobs, phase), served on the runner port. */
  runner: Registry;
  /** Workspace-traffic families, served on the traffic port (shared by concurrent traffic scenarios). */
  traffic: Registry;
  /** Dashboard Traffic's families, served on the dashboard port when the run has Dashboard Traffic. */
  dashboard: Registry;
  health: RunnerHealth;
  jobs: JobMetrics;
  /** One timer drives every connection of every scenario. */
  scheduler: Scheduler;
  /** Marks a phase running (1) or done (0) on coderd_scaletest_phase_info. */
  setPhase(name: string, running: boolean): void;
  /** URLs the servers listen on (undefined when a port was busy, logged, not fatal; or when the server was not started). */
  urls: { runner?: string; traffic?: string; dashboard?: string };
  close(): Promise<void>;
}

/**
 * Starts the servers; port 0 listens on loopback (tests), a fixed port on all interfaces (Prometheus scrapes the pod).
 * Every server lives until close() (after the linger), so Prometheus scrapes the final values of each scenario.
 */
export async function startRunMetrics(o: {
  runId: string;
  runnerPort: number;
  trafficPort: number;
  /** Serve the dashboard families on this port (unset: the run has no Dashboard Traffic). */
  dashboardPort?: number;
  log: (l: string) => void;
}): Promise<RunMetrics> {
  const runner = createRegistry();
  const traffic = createRegistry();
  const dashboard = createRegistry();
  for (const r of [runner, traffic, dashboard]) r.setDefaultLabels({ [LABELS.runId]: o.runId });
  const health = new RunnerHealth(runner);
  const jobs = new JobMetrics(runner);
  const phase = getOrCreate(
    runner,
    RUNNER.phase,
    () => new Gauge({ name: RUNNER.phase, help: "1 while the runner is in this phase, 0 after.", labelNames: [LABELS.phase], registers: [runner] }),
  );
  const scheduler = new Scheduler({ health });
  const addr = (port: number) => `${port === 0 ? "127.0.0.1" : "0.0.0.0"}:${port}`;
  const runnerServer = await startMetricsServer(runner, addr(o.runnerPort), o.log);
  const trafficServer = await startMetricsServer(traffic, addr(o.trafficPort), o.log);
  const dashboardServer = o.dashboardPort === undefined ? undefined : await startMetricsServer(dashboard, addr(o.dashboardPort), o.log);
  const servers: MetricsServer[] = [runnerServer, trafficServer, ...(dashboardServer ? [dashboardServer] : [])];
  return {
    runner,
    traffic,
    dashboard,
    health,
    jobs,
    scheduler,
    setPhase: (name, running) => phase.set({ [LABELS.phase]: name }, running ? 1 : 0),
    urls: { runner: runnerServer.url, traffic: trafficServer.url, dashboard: dashboardServer?.url },
    close: async () => {
      scheduler.close();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
