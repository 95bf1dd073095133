// The staged run's metrics: runner health, jobs and the phase gauge on the runner port; traffic families on the traffic port.
import { Gauge, type Registry } from "prom-client";
import { RunnerHealth } from "../metrics/health.ts";
import { LABELS, RUNNER } from "../metrics/names.ts";
import { createRegistry, getOrCreate, JobMetrics } from "../metrics/registry.ts";
import { startMetricsServer, type MetricsServer } from "../metrics/server.ts";
import { Scheduler } from "../traffic/scheduler.ts";

/** What every traffic scenario of one run shares: one scheduler, one traffic registry, runner health and jobs. */
export interface RunMetrics {
  /** Runner-level families (health, jobs, phase), served on the runner port. */
  runner: Registry;
  /** Workspace-traffic families, served on the traffic port (shared by concurrent traffic scenarios). */
  traffic: Registry;
  health: RunnerHealth;
  jobs: JobMetrics;
  /** One timer drives every connection of every scenario. */
  scheduler: Scheduler;
  /** Marks a phase running (1) or done (0) on coderd_scaletest_phase_info. */
  setPhase(name: string, running: boolean): void;
  /** URLs the servers listen on (undefined when a port was busy; logged, not fatal). */
  urls: { runner?: string; traffic?: string };
  close(): Promise<void>;
}

/** Starts both servers; port 0 listens on loopback (tests), a fixed port on all interfaces (Prometheus scrapes the pod). */
export async function startRunMetrics(o: { runId: string; runnerPort: number; trafficPort: number; log: (l: string) => void }): Promise<RunMetrics> {
  const runner = createRegistry();
  const traffic = createRegistry();
  for (const r of [runner, traffic]) r.setDefaultLabels({ [LABELS.runId]: o.runId });
  const health = new RunnerHealth(runner);
  const jobs = new JobMetrics(runner);
  const phase = getOrCreate(
    runner,
    RUNNER.phase,
    () => new Gauge({ name: RUNNER.phase, help: "1 while the runner is in this phase, 0 after.", labelNames: [LABELS.phase], registers: [runner] }),
  );
  const scheduler = new Scheduler({ health });
  const addr = (port: number) => `${port === 0 ? "127.0.0.1" : "0.0.0.0"}:${port}`;
  const servers: MetricsServer[] = [
    await startMetricsServer(runner, addr(o.runnerPort), o.log),
    await startMetricsServer(traffic, addr(o.trafficPort), o.log),
  ];
  return {
    runner,
    traffic,
    health,
    jobs,
    scheduler,
    setPhase: (name, running) => phase.set({ [LABELS.phase]: name }, running ? 1 : 0),
    urls: { runner: servers[0]!.url, traffic: servers[1]!.url },
    close: async () => {
      scheduler.close();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
