// Real Chromium drives three scaletest users through the simulator's dashboard pages: actions, metrics, API calls, a failing page, tokens.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register } from "../../src/cli/dashboard.ts";
import { main } from "../../src/cli.ts";
import { parseShardTotalsLog } from "../../src/harness/shard-totals.ts";
import { mergeShardResults, parseShardResultsLog } from "../../src/harness/shard-results.ts";
import { listScaletestUsers } from "../../src/scenarios/dashboard/setup.ts";
import { shardOf } from "../../src/traffic/shard.ts";
import { browserMemory } from "../../src/browser/memory.ts";
import { CoderClient } from "../../src/coder/client.ts";
import { scaletestUser, scaletestWorkspaceName } from "../../src/coder/names.ts";
import { Harness } from "../../src/harness/harness.ts";
import { concurrent } from "../../src/harness/strategies.ts";
import { CODERD, DASHBOARD } from "../../src/metrics/names.ts";
import { DASHBOARD_TEST_NAME, prepareDashboard } from "../../src/scenarios/dashboard/prepare.ts";
import { DashboardTally } from "../../src/scenarios/dashboard/tally.ts";
import { CanceledError } from "../../src/util/abort.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { setFailingPages } from "../../src/simulator/pages/index.ts";

let sim: Simulator;
let admin: CoderClient;
let runDir: string;

/** Sum of a metric's samples whose labels match `labels`. */
async function sample(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name.replace(/_(count|sum)$/, "") || m.name === name);
  if (!metric) return 0;
  return (metric.values as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>)
    .filter((v) => (v.metricName ?? metric.name) === name && Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((a, v) => a + v.value, 0);
}

beforeAll(async () => {
  sim = await startSimulator();
  admin = new CoderClient({ url: sim.url, token: sim.sessionToken });
  for (let i = 0; i < 3; i++) {
    const u = scaletestUser(i);
    const user = await admin.createUser({ ...u, name: "", login_type: "password", organization_ids: [sim.organization.id] });
    await admin.createWorkspace(user.id, { template_id: sim.template.id, name: scaletestWorkspaceName(i) });
  }
  // Someone who is not a scaletest user must not be driven.
  await admin.createUser({ username: "scaletest-lookalike", email: "lookalike@example.com", name: "", password: "SomeSecurePassword!", login_type: "password", organization_ids: [sim.organization.id] });
  runDir = await mkdtemp(join(tmpdir(), "dashboard-traffic-"));
});

afterAll(async () => {
  await sim?.close();
  if (runDir) await rm(runDir, { recursive: true, force: true });
});

describe("dashboard traffic in real Chromium against the simulator", () => {
  it("walks the pages for 3 users, records actions and a failing page, and deletes its tokens", async () => {
    setFailingPages(sim, ["/starter-templates"]);
    const registry = new Registry();
    const keysBefore = sim.state.apiKeys.size;
    const requestsBefore = sim.requests.length;
    const tally = new DashboardTally();
    const plan = await prepareDashboard({ client: admin, intervalMs: 1000, jitterMs: 500, registry, tally, runDir, durationMs: 20_000 });
    expect(plan.runs.map((r) => r.id)).toEqual(plan.runs.map((r) => `dashboard-${r.user.username}`));
    expect(plan.runs).toHaveLength(3);
    expect(plan.runs.every((r) => r.user.email.endsWith("@scaletest.local"))).toBe(true);
    expect(sim.state.apiKeys.size).toBe(keysBefore + 3);

    const harness = new Harness({ strategy: concurrent(0) });
    for (const r of plan.runs) harness.addRun(r.testName, r.id, r.runner);
    try {
      await harness.run(new AbortController().signal);
    } finally {
      await plan.dispose();
    }

    // Reaching the scenario's end is success for every user.
    const results = harness.results();
    expect(results.total_runs).toBe(3);
    expect(results.total_pass).toBe(3);
    for (const run of Object.values(results.runs)) expect(run.logs).toMatch(/dashboard actions: \d+ ok, \d+ failed/);

    // Many actions happened, of several kinds, and the metrics saw each one.
    const attempts = await sample(registry, `${DASHBOARD.duration}_count`);
    const stats = plan.runs.map((r) => r.runner.stats);
    const recorded = stats.flatMap((s) => Object.values(s.actions)).reduce((a, s) => a + s.ok + s.failed, 0);
    expect(attempts).toBe(recorded);
    expect(attempts).toBeGreaterThanOrEqual(9);
    const succeeded = new Set(stats.flatMap((s) => Object.entries(s.actions).filter(([, v]) => v.ok > 0).map(([k]) => k)));
    expect(succeeded.size).toBeGreaterThanOrEqual(3);

    // The injected failing page: an error metric, a log line and a screenshot (a real PNG) for that action.
    expect(await sample(registry, DASHBOARD.errors, { action: "starter_templates" })).toBeGreaterThanOrEqual(1);
    const shots = (await readdir(runDir)).filter((f) => f.includes("-starter_templates-"));
    expect(shots.length).toBeGreaterThanOrEqual(1);
    expect((await readFile(join(runDir, shots[0]!))).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(Object.values(results.runs).some((r) => /action starter_templates failed .*\/starter-templates/.test(r.logs))).toBe(true);

    // The summary's tally agrees with the metric families: actions, errors by action, screenshots on disk.
    const activity = tally.activity(stats, runDir);
    expect(activity.actions).toBe(attempts);
    expect(activity.errors).toBe(await sample(registry, DASHBOARD.errors));
    expect(activity.errorsByAction.starter_templates).toBe(await sample(registry, DASHBOARD.errors, { action: "starter_templates" }));
    expect(activity.screenshots).toBe((await readdir(runDir)).filter((f) => f.endsWith(".png")).length);
    expect(activity.p50).toBeGreaterThan(0);
    expect(activity.p99).toBeGreaterThanOrEqual(activity.p50);

    // The browsers' traffic landed on the simulator as real API calls, with the cookie.
    const seen = sim.requests.slice(requestsBefore);
    const ok = (path: RegExp) => seen.filter((r) => path.test(r.path) && r.status === 200).length;
    expect(ok(/^\/workspaces$/)).toBeGreaterThanOrEqual(3);
    expect(ok(/^\/api\/v2\/users\/me$/)).toBeGreaterThanOrEqual(3);
    expect(ok(/^\/api\/v2\/workspaces$/)).toBeGreaterThanOrEqual(3);
    expect(seen.some((r) => r.path === "/starter-templates" && r.status === 500)).toBe(true);
    expect(seen.filter((r) => r.path.startsWith("/api/") && r.status === 401)).toEqual([]);
    expect(await sample(sim.ctx.metrics.registry, CODERD.apiRequestsProcessed, { path: "/api/v2/workspaces", code: "200" })).toBeGreaterThanOrEqual(3);

    // Tokens were made per user and are gone afterwards; the browsers are closed.
    expect(sim.state.apiKeys.size).toBe(keysBefore);
    for (const r of plan.runs) await expect.poll(() => browserMemory(r.runner.browserMarker!).processes, { timeout: 5_000, interval: 50 }).toBe(0);
    expect(Math.max(...stats.map((s) => s.peakPssBytes))).toBeGreaterThan(0);
    console.log(`dashboard memory per user (peak): ${stats.map((s) => `RSS ${(s.peakRssBytes / 2 ** 20).toFixed(0)} MiB / PSS ${(s.peakPssBytes / 2 ** 20).toFixed(0)} MiB`).join("; ")}`);
  });

  it("stops at once on abort: no error recorded, browser closed, run canceled", async () => {
    setFailingPages(sim, []);
    const registry = new Registry();
    const [user] = await admin.allUsers("scaletest-").then((us) => us.filter((u) => u.email.endsWith("@scaletest.local")));
    const plan = await prepareDashboard({ client: admin, users: [user!], intervalMs: 60_000, jitterMs: 0, registry, runDir });
    const ctl = new AbortController();
    const harness = new Harness();
    harness.addRun(plan.runs[0]!.testName, plan.runs[0]!.id, plan.runs[0]!.runner);
    const running = harness.run(ctl.signal);
    // The first action runs at once; stop during the long wait after it.
    await expect.poll(() => Object.keys(plan.runs[0]!.runner.stats.actions).length, { timeout: 20_000, interval: 50 }).toBe(1);
    const t0 = Date.now();
    ctl.abort(new CanceledError());
    await running;
    await plan.dispose();
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(harness.outcomes().canceled).toBe(1);
    expect(await sample(registry, DASHBOARD.errors)).toBe(0);
    // The main process is gone when close() returns; its helpers exit right after.
    await expect.poll(() => browserMemory(plan.runs[0]!.runner.browserMarker!).processes, { timeout: 5_000, interval: 50 }).toBe(0);
  });

  it("scaletest dashboard: runs the users until their job deadline, writes results JSON, deletes its tokens", async () => {
    setFailingPages(sim, []);
    const keysBefore = sim.state.apiKeys.size;
    const requestsBefore = sim.requests.length;
    const out = join(runDir, "dashboard.json");
    const program = new Command("scaletest").exitOverride();
    register(program);
    const prevExit = process.exitCode;
    await program.parseAsync(
      ["dashboard", "--url", sim.url, "--token", sim.sessionToken, "--target-users", "0:2", "--interval", "1s", "--jitter", "0s",
        "--concurrency", "0", "--job-timeout", "8s", "--scaletest-prometheus-address", "127.0.0.1:0", "--scaletest-prometheus-wait", "0s",
        "--output", `json:${out}`, "--run-dir", runDir, "--global-config", runDir],
      { from: "user" },
    );
    const code = process.exitCode;
    process.exitCode = prevExit;
    expect(code).toBe(0);
    const results = JSON.parse(await readFile(out, "utf8")) as { total_runs: number; total_pass: number; runs: Record<string, { logs: string; error: string }> };
    expect(results.total_runs).toBe(2);
    expect(results.total_pass).toBe(2);
    for (const [id, run] of Object.entries(results.runs)) {
      expect(id).toMatch(/^dashboard\/dashboard-scaletest-/);
      expect(run.logs).toMatch(/dashboard actions: \d+ ok, \d+ failed/);
      expect(run.logs).not.toContain(sim.sessionToken);
    }
    // Both browsers signed in and loaded the dashboard (how many actions fit in the deadline depends on the machine).
    expect(sim.requests.slice(requestsBefore).filter((r) => r.path === "/workspaces" && r.status === 200).length).toBeGreaterThanOrEqual(2);
    expect(sim.state.apiKeys.size).toBe(keysBefore);
  });

  it("scaletest dashboard --shard-index/--shard-count: each user walked by the one shard its user ID hashes to, tokens only there", async () => {
    setFailingPages(sim, []);
    const users = (await listScaletestUsers(admin)).slice(0, 3);
    const shards = 3;
    const keysBefore = sim.state.apiKeys.size;
    const parsed = [];
    for (let i = 0; i < shards; i++) {
      const mark = sim.requests.length;
      let stdout = "";
      let stderr = "";
      const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
      process.stdout.write = ((c: string | Uint8Array) => ((stdout += c.toString()), true)) as typeof process.stdout.write;
      process.stderr.write = ((c: string | Uint8Array) => ((stderr += c.toString()), true)) as typeof process.stderr.write;
      const prevExit = process.exitCode;
      let code: number;
      try {
        code = await main(["dashboard", "--url", sim.url, "--token", sim.sessionToken, "--target-users", "0:3", "--interval", "1s", "--jitter", "0s",
          "--concurrency", "0", "--job-timeout", "8s", "--scaletest-prometheus-address", "127.0.0.1:0", "--scaletest-prometheus-wait", "0s",
          "--output", "json", "--run-dir", runDir, "--global-config", runDir, "--shard-count", String(shards), "--shard-index", String(i),
          // A start already past: a warning, then at once.
          "--start-at", new Date(Date.now() - 1000).toISOString()]);
      } finally {
        process.stdout.write = write.out;
        process.stderr.write = write.err;
        process.exitCode = prevExit;
      }
      expect(code, stderr).toBe(0);
      const mine = users.filter((u) => shardOf(u.id, shards) === i);
      expect(stderr).toContain(`Shard ${i}/${shards}: ${mine.length} dashboard user(s)`);
      expect(stderr).toMatch(/WARN: --start-at \S+ passed \S+ ago; starting now/);
      // The JSON output on stdout, then the results line after it.
      const line = parseShardResultsLog(stdout);
      expect(line).toMatchObject({ index: i, count: shards });
      expect(Object.keys(line!.results.runs).sort()).toEqual(mine.map((u) => `dashboard/dashboard-${u.username}`).sort());
      // Tokens were made for this shard's users only (and deleted at the end).
      const keyed = sim.requests.slice(mark).filter((r) => r.method === "POST" && /^\/api\/v2\/users\/[^/]+\/keys\/tokens$/.test(r.path)).map((r) => r.path.split("/")[4]);
      expect(keyed.sort()).toEqual(mine.map((u) => u.id).sort());
      // Then its totals line: the action durations and errors of its walks, by action, no traffic families.
      const totals = parseShardTotalsLog(stdout);
      if (!totals || "problem" in totals) throw new Error(`no totals line: ${JSON.stringify(totals)}`);
      expect(totals).toMatchObject({ index: i, count: shards });
      expect(totals.totals.traffic).toBeUndefined();
      const actions = Object.values(totals.totals.dashboard!).reduce((n, a) => n + a.duration.counts.reduce((x, c) => x + c, 0), 0);
      expect(actions > 0, "a shard with users measured actions").toBe(mine.length > 0);
      // Its action errors are the failed actions its jobs logged (a slow machine may fail an action; the sibling
      // test above allows that too), counted once.
      const failedInLogs = Object.values(line!.results.runs).reduce((n, r) => n + Number(/dashboard actions: \d+ ok, (\d+) failed/.exec(r.logs)?.[1] ?? NaN), 0);
      expect(Object.values(totals.totals.dashboard!).reduce((n, a) => n + a.errors, 0)).toBe(failedInLogs);
      // And its jobs, as the in-process phase counts them: one passed job per user.
      expect(Object.values(totals.totals.jobs?.[DASHBOARD_TEST_NAME]?.ok?.counts ?? []).reduce((x, c) => x + c, 0)).toBe(mine.length);
      parsed.push(line!.results);
    }
    // Together the shards walked the users one process would (the same range, the same job IDs), each once, all passing.
    const merged = mergeShardResults(parsed);
    expect(Object.keys(merged.runs).sort()).toEqual(users.map((u) => `dashboard/dashboard-${u.username}`).sort());
    expect([merged.total_runs, merged.total_pass, merged.total_fail]).toEqual([3, 3, 0]);
    expect(sim.state.apiKeys.size).toBe(keysBefore);
  });
});
