// Ledger cleanup timing: N scaletest users and workspaces recorded in a run ledger, then cleanup against a simulator
// whose every API answer takes BENCH_LATENCY_MS; prints the time to the first delete and the whole cleanup (JSON).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CoderClient } from "../src/coder/client.ts";
import { cleanupScaletest, defaultCleanupConfig } from "../src/scenarios/cleanup/phase.ts";
import { defaultCreateWorkspacesConfig } from "../src/scenarios/create-workspaces/config.ts";
import { runCreateWorkspacesPhase } from "../src/scenarios/create-workspaces/phase.ts";
import { startSimulator } from "../src/simulator/index.ts";
import { Ledger } from "../src/state/ledger.ts";

const N = Number(process.env.BENCH_WORKSPACES ?? 100);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CLEANUP_CONCURRENCY ?? 10);

const sim = await startSimulator({ knobs: { pendingMs: 5, runningMs: 10, agentConnectDelayMs: 0 } });
const dir = mkdtempSync(join(tmpdir(), "bench-cleanup-"));
try {
  const client = new CoderClient({ url: sim.url, token: sim.sessionToken, bypassRateLimit: true });
  const run = `bench-${Date.now()}`;
  const ledger = await Ledger.open(dir, { url: sim.url, run });
  const cfg = { ...defaultCreateWorkspacesConfig(), count: N, template: sim.template.name, noCleanup: true, noWaitForAgents: true, buildPollMs: 10 };
  cfg.strategy = { concurrency: 20, timeoutMs: 600_000, jobTimeoutMs: 600_000 };
  const created = await runCreateWorkspacesPhase({ client, cfg, ledger, signal: new AbortController().signal, log: () => undefined });
  await ledger.close();
  if (created.results.total_fail > 0) throw new Error(`setup: ${created.results.total_fail} creates failed`);

  sim.setKnobs({ slowResponseMs: LATENCY_MS });
  const mark = sim.requests.length;
  const t0 = performance.now();
  let firstDeleteMs: number | undefined;
  const report = await cleanupScaletest(
    client,
    { ...defaultCleanupConfig(), buildPollMs: 50, strategy: { concurrency: CONCURRENCY, timeoutMs: 3_600_000, jobTimeoutMs: 3_600_000 } },
    {
      signal: new AbortController().signal,
      stateDir: dir,
      events: { runStarted: () => (firstDeleteMs ??= performance.now() - t0) },
    },
  );
  const totalMs = performance.now() - t0;
  const requests = sim.requests.slice(mark);
  process.stdout.write(
    `${JSON.stringify({
      workspaces: N,
      latencyMs: LATENCY_MS,
      cleanupConcurrency: CONCURRENCY,
      ok: report.ok,
      deletedWorkspaces: report.workspaces.results.total_pass,
      deletedUsers: report.users?.results.total_pass ?? 0,
      firstDeleteMs: Math.round(firstDeleteMs ?? totalMs),
      totalMs: Math.round(totalMs),
      gets: requests.filter((r) => r.method === "GET").length,
      mutating: requests.filter((r) => r.method !== "GET").length,
    })}\n`,
  );
} finally {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
