// The phases a fault test drives against a simulator, wired as the CLI wires them: create (ledger, retries), workspace
// traffic in one mode (metrics, scheduler, results JSON), and the ledger cleanup.
import { join } from "node:path";
import { CoderClient } from "../../src/coder/client.ts";
import { createRegistry, JobMetrics, TrafficMetrics } from "../../src/metrics/registry.ts";
import { cleanupScaletest, defaultCleanupConfig, type CleanupReport } from "../../src/scenarios/cleanup/phase.ts";
import { defaultCreateWorkspacesConfig } from "../../src/scenarios/create-workspaces/config.ts";
import { runCreateWorkspacesPhase, type CreateWorkspacesPhaseResult } from "../../src/scenarios/create-workspaces/phase.ts";
import { defaultWorkspaceTrafficConfig, type WorkspaceTrafficConfig } from "../../src/scenarios/workspace-traffic/config.ts";
import { runWorkspaceTrafficPhase, type WorkspaceTrafficPhaseResult } from "../../src/scenarios/workspace-traffic/phase.ts";
import { coderShimPath } from "../../src/simulator/coder-shim/index.ts";
import type { Simulator } from "../../src/simulator/index.ts";
import { Ledger } from "../../src/state/ledger.ts";
import { parseResolve } from "../../src/traffic/resolve.ts";
import { Scheduler } from "../../src/traffic/scheduler.ts";

/** The owner's client as a command has it after the owner check: bypass header, 5xx retries, a restart waited out for a minute. */
export function ownerClient(sim: Simulator, retries5xx = 3): CoderClient {
  return new CoderClient({ url: sim.url, token: sim.sessionToken, bypassRateLimit: true, retry: { retries5xx, refusedWindowMs: 60_000 } });
}

/** create-workspaces with the staged run's settings (--retry 5, --no-cleanup), `concurrency` at once, recorded in the ledger. */
export async function createFor(sim: Simulator, stateDir: string, count: number, concurrency = 10): Promise<CreateWorkspacesPhaseResult> {
  const ledger = await Ledger.open(stateDir, { url: sim.url, run: "fault-run" });
  try {
    const cfg = { ...defaultCreateWorkspacesConfig(), count, template: sim.template.name, retry: 5, noCleanup: true, buildPollMs: 50, agentPollMs: 50 };
    cfg.strategy = { concurrency, timeoutMs: 120_000, jobTimeoutMs: 60_000 };
    return await runCreateWorkspacesPhase({ client: ownerClient(sim, 5), cfg, ledger, signal: new AbortController().signal, log: () => undefined });
  } finally {
    await ledger.close();
  }
}

/** The three ways workspace-traffic reaches a workspace. */
export type TrafficMode = "web terminal" | "ssh" | "app";

/** One workspace-traffic phase in `mode` for `durationMs`, every job at once; results JSON written under `dir`. */
export async function trafficFor(
  sim: Simulator,
  mode: TrafficMode,
  o: { dir: string; durationMs: number; targets?: string; signal?: AbortSignal; onStart?: () => void },
): Promise<WorkspaceTrafficPhaseResult & { resultsPath: string }> {
  const byMode: Record<TrafficMode, Partial<WorkspaceTrafficConfig>> = {
    "web terminal": {},
    ssh: { ssh: true, coderBinary: coderShimPath() },
    app: { app: "wsec", resolve: [parseResolve(`*.apps.localhost:${sim.port}:127.0.0.1`)] },
  };
  const cfg: WorkspaceTrafficConfig = { ...defaultWorkspaceTrafficConfig, bytesPerTick: 512, tickIntervalMs: 100, durationMs: o.durationMs, targetWorkspaces: o.targets ?? "", ...byMode[mode] };
  const registry = createRegistry();
  const scheduler = new Scheduler();
  const resultsPath = join(o.dir, `traffic-${mode.replace(" ", "-")}.json`);
  try {
    const r = await runWorkspaceTrafficPhase({
      client: ownerClient(sim),
      cfg,
      strategy: { concurrency: 0, timeoutMs: o.durationMs, jobTimeoutMs: o.durationMs + 30_000 },
      scheduler,
      traffic: new TrafficMetrics(registry),
      jobs: new JobMetrics(registry),
      signal: o.signal ?? new AbortController().signal,
      log: (l) => {
        if (l.startsWith("Running load test:")) o.onStart?.();
      },
      resultsPath,
    });
    return { ...r, resultsPath };
  } finally {
    scheduler.close();
  }
}

/** The runner's own cleanup (ledger scope), `concurrency` at once. */
export function cleanupFor(sim: Simulator, stateDir: string, o: { concurrency?: number; onDeleteStarted?: () => void } = {}): Promise<CleanupReport> {
  const cfg = { ...defaultCleanupConfig(), buildPollMs: 50, strategy: { concurrency: o.concurrency ?? 10, timeoutMs: 120_000, jobTimeoutMs: 90_000 } };
  let started = false;
  return cleanupScaletest(ownerClient(sim), cfg, {
    signal: new AbortController().signal,
    stateDir,
    scope: { kind: "ledger" },
    events: {
      runStarted: () => {
        if (!started) o.onDeleteStarted?.();
        started = true;
      },
    },
  });
}

/** Scaletest workspaces and users the simulator still has (read from its state, so no injected fault gets in the way). */
export function scaletestLeft(sim: Simulator): { workspaces: number; users: number } {
  return {
    workspaces: [...sim.state.workspaces.values()].filter((w) => !w.deleted && w.name.startsWith("scaletest-")).length,
    users: [...sim.state.users.values()].filter((u) => !u.deleted && u.username.startsWith("scaletest-")).length,
  };
}
