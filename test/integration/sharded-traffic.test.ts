// Three `scaletest workspace-traffic` shards (real CLI processes) against the simulator, next to one process on the
// same workspaces: every target driven once, merged results equal to the single run, a shared start, and real
// Prometheus summing the three shards' /metrics to the merged totals.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../../dashboards/src/index.ts";
import { DEFAULT_BUILTINS, interpolate, panelQueries } from "../../dashboards/src/verify.ts";
import { main } from "../../src/cli.ts";
import { startGate } from "../../src/cli/shard.ts";
import { RunnerHealth } from "../../src/metrics/health.ts";
import { createRegistry, JobMetrics, TrafficMetrics } from "../../src/metrics/registry.ts";
import { runWorkspaceTrafficPhase } from "../../src/scenarios/workspace-traffic/phase.ts";
import { Scheduler } from "../../src/traffic/scheduler.ts";
import { CanceledError } from "../../src/util/abort.ts";
import { waitForAgents, waitForBuild } from "../../src/coder/builds.ts";
import { CoderClient } from "../../src/coder/client.ts";
import { mergeShardResults, parseShardResultsLog } from "../../src/harness/shard-results.ts";
import { mergeShardTotals, parseShardTotalsLog } from "../../src/harness/shard-totals.ts";
import type { Results } from "../../src/harness/results.ts";
import { RUNNER, TRAFFIC } from "../../src/metrics/names.ts";
import { defaultWorkspaceTrafficConfig } from "../../src/scenarios/workspace-traffic/config.ts";
import { selectTrafficTargets, type TrafficTarget } from "../../src/scenarios/workspace-traffic/select.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { trafficControls } from "../../src/simulator/traffic-host.ts";
import { shardOf } from "../../src/traffic/shard.ts";
import { Children } from "../helpers/children.ts";
import { startPrometheus, type PrometheusServer } from "../helpers/prometheus.ts";

const REPO = resolve(import.meta.dirname, "../..");
/** At least this many workspaces; more are made until every shard owns two inside a range short of the list. */
const MIN_WORKSPACES = 18;
let workspaceCount = 0;
const SHARDS = 3;
const BYTES_PER_TICK = 1024;
/** Time for three CLI processes to start, list the targets and start their threads before the shared start. */
const LEAD_MS = 12_000;

let sim: Simulator;
let client: CoderClient;
let dir: string;
let prom: PrometheusServer | undefined;
const children = new Children();

beforeAll(async () => {
  sim = await startSimulator({ knobs: { pendingMs: 0, runningMs: 10, agentConnectDelayMs: 0 } });
  client = new CoderClient({ url: sim.url, token: sim.sessionToken });
  // Workspace IDs are random UUIDs (as coderd's), so the split is too: keep making workspaces until the
  // precondition of rangeWithEveryShard holds, instead of failing on an unlucky draw.
  const ids: string[] = [];
  const everyShardHasTwo = () => Array.from({ length: SHARDS }, (_, s) => ids.slice(1, -1).filter((id) => shardOf(id, SHARDS) === s).length).every((c) => c >= 2);
  for (let i = 0; i < 60 && (i < MIN_WORKSPACES || !everyShardHasTwo()); i++) {
    const ws = await client.createWorkspace(sim.owner.id, { template_id: sim.template.id, name: `scaletest-shard-${String(i).padStart(2, "0")}` });
    await waitForBuild(client, ws.latest_build.id);
    await waitForAgents(client, ws.id);
    ids.push(ws.id);
  }
  workspaceCount = ids.length;
  dir = await mkdtemp(join(tmpdir(), "sharded-traffic-"));
});
afterAll(async () => {
  await children.stopAll();
  await prom?.close();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A `START:END` range, not the whole list, in which every shard has at least two targets: ranges apply before the split. */
function rangeWithEveryShard(all: readonly TrafficTarget[]): string {
  for (let end = 8; end < all.length; end++) {
    const counts = Array.from({ length: SHARDS }, (_, s) => all.slice(1, end).filter((t) => shardOf(t.workspace.id, SHARDS) === s).length);
    if (counts.every((c) => c >= 2)) return `1:${end}`;
  }
  throw new Error(`precondition: ${all.length} random workspace IDs leave a shard with fewer than two targets in every range`);
}

/** Ticks written by each job, from its log ("Done: N ticks written"). */
function ticksByRun(r: Results): Record<string, number> {
  return Object.fromEntries(
    Object.entries(r.runs).map(([id, run]) => {
      const m = /Done: (\d+) ticks written/.exec(run.logs);
      if (!m) throw new Error(`run ${id} has no "Done" line: ${run.logs}`);
      return [id, Number(m[1])];
    }),
  );
}

async function instant(query: string, atMs?: number): Promise<Array<{ metric: Record<string, string>; value: number }>> {
  const params = new URLSearchParams({ query, ...(atMs === undefined ? {} : { time: String(atMs / 1000) }) });
  const res = await fetch(new URL(`/api/v1/query?${params}`, prom!.url));
  const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  if (body.status !== "success") throw new Error(`query ${query}: ${JSON.stringify(body)}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** Resolves with the first match of `re` in what `child` wrote to `stream` so far or later. */
function waitForOutput(child: ResultPromise, stream: "stdout" | "stderr", re: RegExp, text: () => string): Promise<RegExpExecArray> {
  return new Promise((resolvePromise, reject) => {
    const check = () => {
      const m = re.exec(text());
      if (!m) return false;
      child[stream]!.off("data", check);
      resolvePromise(m);
      return true;
    };
    if (check()) return;
    child[stream]!.on("data", check);
    child.catch((err: unknown) => reject(new Error(`shard exited before printing ${re}: ${String(err)}\n${text()}`)));
  });
}

describe("scaletest workspace-traffic with --shard-index/--shard-count/--start-at", () => {
  it("3 shards drive every target once, start together, merge to the single run, and sum on Prometheus", { timeout: 120_000 }, async () => {
    const cfg = { ...defaultWorkspaceTrafficConfig, targetWorkspaces: "" };
    const everything = (await selectTrafficTargets(client, cfg)).targets;
    const range = rangeWithEveryShard(everything);
    const selected = (await selectTrafficTargets(client, { ...cfg, targetWorkspaces: range })).targets;
    const traffic = ["--timeout", "2s", "--job-timeout", "30s", "--tick-interval", "100ms", "--bytes-per-tick", String(BYTES_PER_TICK), "--concurrency", "0", "--target-workspaces", range];
    const sockets = trafficControls(sim.ctx).sockets;
    const mark = sockets.records.length;

    // The shards: real processes, the same flags but for the index; shard 1 splits its part over two worker threads.
    const startAt = Date.now() + LEAD_MS;
    const shards = Array.from({ length: SHARDS }, (_, i) => {
      let stdout = "";
      let stderr = "";
      const child = children.track(
        execa("node", ["bin/scaletest.js", "workspace-traffic", ...traffic, "--shard-index", String(i), "--shard-count", String(SHARDS),
          "--start-at", new Date(startAt).toISOString(), "--workers", i === 1 ? "2" : "1", "--output", `json:${join(dir, `shard-${i}.json`)}`,
          "--scaletest-prometheus-address", "127.0.0.1:0", "--scaletest-prometheus-wait", "60s"], {
          cwd: REPO, reject: false, stdin: "ignore", extendEnv: false,
          env: { PATH: process.env.PATH, HOME: dir, CODER_URL: sim.url, CODER_SESSION_TOKEN: sim.sessionToken, CODER_CONFIG_DIR: join(dir, "nocfg") },
        }),
      );
      child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
      return { child, stdout: () => stdout, stderr: () => stderr };
    });
    const urls = await Promise.all(shards.map((s, i) => waitForOutput(s.child, "stderr", new RegExp(`Shard ${i}/3: serving metrics at (http://\\S+)`), s.stderr).then((m) => m[1]!)));
    prom = await startPrometheus({ targets: urls.map((url, i) => ({ job: `shard-${i}`, url: `${url}/metrics` })) });

    // Each shard prints its results line once its jobs are done, then keeps serving metrics for the last scrape.
    const lines = await Promise.all(shards.map((s) => waitForOutput(s.child, "stdout", /^scaletest-shard-results .*$/m, s.stdout)));
    const doneAt = Date.now();
    const parsed = lines.map((m) => parseShardResultsLog(`${m[0]}\n`)!);
    for (const [i, s] of shards.entries()) {
      // Every shard was ready before the shared start and held for it.
      expect(s.stderr(), s.stderr()).toMatch(/Waiting \S+ for the shared start at /);
      expect(parsed[i]).toMatchObject({ index: i, count: SHARDS });
      // The results file holds the same results as the line.
      expect(JSON.parse(await readFile(join(dir, `shard-${i}.json`), "utf8"))).toEqual(parsed[i]!.results);
    }
    expect(shards[1]!.stderr()).toMatch(/on 2 worker threads/);

    // Every selected target driven exactly once, by the shard its workspace ID hashes to; nothing outside the range.
    const records = sockets.records.slice(mark).filter((r) => r.kind === "pty");
    const agentOf = new Map(selected.map((t) => [t.agent.id, t]));
    expect(records.map((r) => r.agentId).sort()).toEqual(selected.map((t) => t.agent.id).sort());
    const merged = mergeShardResults(parsed.map((p) => p.results));
    expect(Object.keys(merged.runs).sort()).toEqual(selected.map((t) => `workspace-traffic/${t.index}`).sort());
    parsed.forEach((p, i) => {
      const mine = selected.filter((t) => shardOf(t.workspace.id, SHARDS) === i).map((t) => `workspace-traffic/${t.index}`);
      expect(Object.keys(p.results.runs).sort()).toEqual(mine.sort());
    });

    // The shared start: no write before it, and the shards' first writes within a second of each other.
    const firstWrite = Array.from({ length: SHARDS }, () => Infinity);
    for (const r of records) {
      expect(r.firstMessageAt, "every connection wrote").toBeDefined();
      expect(r.firstMessageAt!).toBeGreaterThanOrEqual(startAt);
      const s = shardOf(agentOf.get(r.agentId!)!.workspace.id, SHARDS);
      firstWrite[s] = Math.min(firstWrite[s]!, r.firstMessageAt!);
    }
    const spread = Math.max(...firstWrite) - Math.min(...firstWrite);
    console.log(`first writes after the shared start, by shard: ${firstWrite.map((t) => `${t - startAt} ms`).join(", ")} (spread ${spread} ms)`);
    expect(spread).toBeLessThan(1000);

    // Real Prometheus, after a scrape that followed the last results line: the shards sum to the merged totals.
    await prom.waitForScrapeAfter(doneAt);
    const ticks = ticksByRun(merged);
    const mergedBytes = Object.values(ticks).reduce((a, t) => a + t, 0) * BYTES_PER_TICK;
    const written = await instant(`sum by (scenario) (${TRAFFIC.bytesWritten})`);
    expect(written).toHaveLength(1);
    expect(written[0]!.value).toBe(mergedBytes);
    const read = await instant(`sum by (scenario) (${TRAFFIC.bytesRead})`);
    // An echo is read back within a tick of its write, per connection.
    expect(Math.abs(read[0]!.value - mergedBytes)).toBeLessThanOrEqual(selected.length * BYTES_PER_TICK);
    const ok = await instant(`sum(${RUNNER.jobs}{outcome="ok"})`);
    expect(ok[0]!.value).toBe(merged.total_pass);
    // Each shard's series carry its label (main thread and worker threads alike), and its bytes are its own jobs' bytes.
    const byShard = await instant(`sum by (shard) (${TRAFFIC.bytesWritten})`);
    expect(byShard.map((r) => r.metric.shard).sort()).toEqual(["0", "1", "2"]);
    for (const r of byShard) {
      const own = ticksByRun(parsed[Number(r.metric.shard)]!.results);
      expect(r.value).toBe(Object.values(own).reduce((a, t) => a + t, 0) * BYTES_PER_TICK);
    }
    expect(await instant(`count(${RUNNER.eventLoopLag}_count) by (shard)`)).toHaveLength(SHARDS);
    // The totals line each shard leaves after its results (worker threads' series included) says what Prometheus sums.
    const totals = shards.map((sh, i) => {
      const t = parseShardTotalsLog(sh.stdout());
      if (!t || "problem" in t) throw new Error(`shard ${i}: no totals line: ${JSON.stringify(t)}`);
      expect(t).toMatchObject({ index: i, count: SHARDS });
      return t.totals;
    });
    const sum = mergeShardTotals(totals);
    expect(sum.traffic!.written).toBe(mergedBytes);
    expect(sum.traffic!.read).toBe(read[0]!.value);
    expect(totals[1]!.traffic!.written).toBe(byShard.find((r) => r.metric.shard === "1")!.value);
    const okJobs = Object.values(sum.jobs!).reduce((n, byOutcome) => n + (byOutcome.ok?.counts.reduce((a, c) => a + c, 0) ?? 0), 0);
    expect(okJobs).toBe(merged.total_pass);
    const rtt = await instant(`sum(${TRAFFIC.roundTrip}_count)`);
    expect(sum.traffic!.roundTrip.counts.reduce((a, c) => a + c, 0)).toBe(rtt[0]!.value);
    expect(await instant(`count({__name__=~"coderd_scaletest_.*", shard=""})`)).toEqual([]);
    // The dashboard's queries on these shards: the Runner shards row splits by shard, the Traffic row sums them.
    const vars = { ...DEFAULT_BUILTINS, __rate_interval: "5s", run: ".*", namespace: ".*", pod: ".*" };
    const queries = panelQueries(buildDashboard());
    const atEnd = startAt + 2_000;
    for (const q of queries.filter((x) => ["Traffic bytes/s per shard", "Event-loop lag per shard"].includes(x.panel))) {
      const result = await instant(interpolate(q.expr, vars), atEnd);
      expect(result.map((r) => r.metric.shard).sort(), `${q.panel} [${q.refId}]`).toEqual(["0", "1", "2"]);
    }
    for (const q of queries.filter((x) => x.panel === "Traffic bytes/s")) {
      const result = await instant(interpolate(q.expr, vars), atEnd);
      expect(result, `${q.panel} [${q.refId}]`).toHaveLength(1);
      expect(result[0]!.value).toBeGreaterThan(0);
    }

    // The shards end on SIGTERM during their metrics wait, with exit 0.
    for (const s of shards) s.child.kill("SIGTERM");
    for (const s of shards) expect((await s.child).exitCode, s.stderr()).toBe(0);

    // The same phase in one process.
    const single = join(dir, "single.json");
    const singleMark = sockets.records.length;
    const code = await main(["workspace-traffic", "--url", sim.url, "--token", sim.sessionToken, ...traffic, "--output", `json:${single}`,
      "--scaletest-prometheus-address", "127.0.0.1:0", "--scaletest-prometheus-wait", "0s", "--workers", "1"]);
    expect(code).toBe(0);
    const one = JSON.parse(await readFile(single, "utf8")) as Results;
    expect(sockets.records.slice(singleMark).filter((r) => r.kind === "pty").map((r) => r.agentId).sort()).toEqual(records.map((r) => r.agentId).sort());
    expect([merged.total_runs, merged.total_pass, merged.total_fail]).toEqual([one.total_runs, one.total_pass, one.total_fail]);
    expect(merged.total_fail).toBe(0);
    expect(Object.keys(merged.runs).sort()).toEqual(Object.keys(one.runs).sort());
    const oneTicks = ticksByRun(one);
    for (const [id, run] of Object.entries(merged.runs)) {
      expect(run.error, id).toBe(one.runs[id]!.error);
      // Bytes within one tick per connection.
      expect(Math.abs(ticks[id]! - oneTicks[id]!), `${id}: ${ticks[id]} vs ${oneTicks[id]} ticks`).toBeLessThanOrEqual(1);
    }
  });

  it("a stop while holding for the shared start cancels the shard's jobs before any dial, and reports them", async () => {
    const registry = createRegistry();
    const health = new RunnerHealth(registry);
    const scheduler = new Scheduler({ health });
    const sockets = trafficControls(sim.ctx).sockets;
    const mark = sockets.records.length;
    const ctl = new AbortController();
    const log: string[] = [];
    const shard = { index: 0, count: SHARDS };
    try {
      const r = await runWorkspaceTrafficPhase({
        client, cfg: { ...defaultWorkspaceTrafficConfig, durationMs: 2_000 }, strategy: { concurrency: 0, timeoutMs: 2_000, jobTimeoutMs: 30_000 },
        scheduler, traffic: new TrafficMetrics(registry), health, jobs: new JobMetrics(registry), signal: ctl.signal, shard,
        beforeStart: startGate({ startAtMs: Date.now() + 60_000 }, (l) => {
          log.push(l);
          ctl.abort(new CanceledError("interrupted by SIGTERM"));
        }),
        log: (l) => log.push(l),
      });
      const mine = (await selectTrafficTargets(client, defaultWorkspaceTrafficConfig)).targets.filter((t) => shardOf(t.workspace.id, SHARDS) === 0);
      expect(log).toContain(`Shard 0/3: ${mine.length} of ${workspaceCount} selected workspace(s)`);
      expect(log.some((l) => l.startsWith("Waiting ") && l.includes("for the shared start"))).toBe(true);
      expect(r.results.total_runs).toBe(mine.length);
      expect(r.counts.canceled).toBe(mine.length);
      expect(sockets.records.slice(mark)).toEqual([]);
    } finally {
      scheduler.close();
    }
  });
});
