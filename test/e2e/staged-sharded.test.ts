// Runner shards = 3: the staged run (scripts prepare and run, real processes) launches its traffic phase as an Indexed
// Job on the stand-in Kubernetes API server, whose three pods run the real `scaletest` CLI against the built-in simulator.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { readLedger } from "../../src/state/ledger.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { trafficControls } from "../../src/simulator/traffic-host.ts";
import { KubeStandIn } from "../helpers/kube-api.ts";
import { readResults, stagedEnv, type StagedEnv } from "./staged-env.ts";

const REPO = resolve(import.meta.dirname, "../..");
const SHARDS = 3;
const WORKSPACES = 6;

/** The runner's own pod, as the template makes it (what the coordinator reads through POD_NAME). */
const RUNNER_POD: V1Pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "coder-scaletest-runner-admin-runner", namespace: "scaletest", labels: { "app.kubernetes.io/instance": "coder-workspace-admin-runner" } },
  spec: {
    serviceAccountName: "scaletest-sa",
    containers: [
      {
        name: "dev",
        image: "ghcr.io/scaletest-runner/scaletest-runner:e2e",
        resources: { requests: { cpu: "4", memory: "8Gi" }, limits: { cpu: "4", memory: "8Gi" } },
        ports: [
          { name: "prom-traffic", containerPort: 21112 },
          { name: "prom-dash", containerPort: 21113 },
          { name: "prom-runner", containerPort: 21114 },
        ],
      },
    ],
  },
};

let t: StagedEnv | undefined;
let kube: KubeStandIn | undefined;
let sim: Simulator | undefined;
afterEach(async () => {
  await t?.close();
  await kube?.close();
  await sim?.close();
  t = kube = sim = undefined;
});

async function shardedEnv(params: Record<string, string> = {}): Promise<{ s: StagedEnv; k: KubeStandIn; simulator: Simulator }> {
  sim = await startSimulator({});
  kube = await KubeStandIn.start({ secrets: { "shard-token": { token: sim.sessionToken } }, pods: [RUNNER_POD], path: [join(REPO, "test/fixtures/k8s/cli")] });
  t = await stagedEnv(
    {
      SCALETEST_PARAM_RUNNER_SHARDS: String(SHARDS),
      SCALETEST_SHARD_SECRET: "shard-token",
      SCALETEST_SHARD_START_LEAD: "6s",
      KUBECONFIG: kube.kubeconfig,
      POD_NAME: RUNNER_POD.metadata!.name!,
      POD_NAMESPACE: "scaletest",
      SCALETEST_PARAM_NUM_WORKSPACES: String(WORKSPACES),
      SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_DURATION: "2s",
      ...params,
    },
    { sim },
  );
  return { s: t, k: kube, simulator: sim };
}

describe("a staged run with Runner shards = 3", () => {
  it("stops on SIGTERM: the Job and its shard processes are deleted, cleanup runs, the run ends Failed (exit 143)", async () => {
    const { s, k } = await shardedEnv({ SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_DURATION: "10m" });
    expect((await s.script("prepare")).exitCode).toBe(0);
    const child = s.spawn("run");
    await k.waitFor(() => k.running() === SHARDS, 60_000, "three running shard pods");
    child.kill("SIGTERM");
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(143);
    expect(String(r.stderr)).toContain("shards: deleted Job scaletest/scaletest-e2e-web-terminal-traffic and its pods");
    await k.waitFor(() => k.running() === 0, 20_000, "the shard processes to end");
    expect(k.jobNames()).toEqual([]);
    expect(s.status()).toBe("Failed (exit=143)");
    const ops = (await readLedger(s.env.SCALETEST_STATE_DIR!)).filter((e) => e.op.endsWith("-job")).map((e) => e.op);
    expect(ops).toEqual(["create-job", "deleted-job"]);
    expect(await s.leftovers()).toEqual({ workspaces: 0, users: 0 });
  });

  it("drives every workspace exactly once through three shard pods, from a shared start, and merges their results", async () => {
    const { s, k, simulator } = await shardedEnv();
    const sockets = trafficControls(simulator.ctx).sockets;
    expect((await s.script("prepare")).exitCode).toBe(0);
    const mark = sockets.records.length;
    const run = await s.script("run");
    expect(run.exitCode, run.stderr).toBe(0);
    expect(s.status()).toBe("Complete");

    // One Job of three pods, each an index that ran the real CLI to a clean exit; then deleted with its pods.
    expect(k.created).toHaveLength(1);
    const job = k.created[0]!;
    expect(job.spec).toMatchObject({ completionMode: "Indexed", completions: SHARDS, parallelism: SHARDS });
    expect(k.history.map((h) => [h.index, h.exitCode]).sort()).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
    expect(k.jobNames()).toEqual([]);
    expect(k.running()).toBe(0);
    // It took the runner pod's image, account, resources and the phase's metrics port; the token only by reference.
    const pod = job.spec!.template.spec!;
    expect(pod.serviceAccountName).toBe("scaletest-sa");
    expect(pod.containers[0]).toMatchObject({ image: "ghcr.io/scaletest-runner/scaletest-runner:e2e", resources: RUNNER_POD.spec!.containers[0]!.resources, ports: [{ name: "prom-traffic", containerPort: 21112, protocol: "TCP" }] });
    expect(JSON.stringify(job)).not.toContain(simulator.sessionToken);
    expect(pod.containers[0]!.args).toEqual(expect.arrayContaining(["workspace-traffic", "--shard-count", "3", "--start-at"]));

    // The merged results in the phase's own file: every workspace once.
    const results = readResults(join(s.env.SCALETEST_RUN_DIR!, "results", "traffic-web-terminal.json"));
    expect(results.total_runs).toBe(WORKSPACES);
    expect(results.total_pass).toBe(WORKSPACES);
    expect(new Set(Object.keys(results.runs)).size).toBe(WORKSPACES);

    // The simulator saw one terminal per workspace agent (no agent twice), none before the shared start, and each
    // shard's first write within 1 s of the others'.
    const startAt = Date.parse(pod.containers[0]!.args![pod.containers[0]!.args!.indexOf("--start-at") + 1]!);
    const records = sockets.records.slice(mark).filter((r) => r.kind === "pty");
    expect(records).toHaveLength(WORKSPACES);
    expect(new Set(records.map((r) => r.agentId)).size).toBe(WORKSPACES);
    const firsts = records.map((r) => r.firstMessageAt!);
    for (const f of firsts) expect(f).toBeGreaterThanOrEqual(startAt);
    expect(Math.max(...firsts) - Math.min(...firsts)).toBeLessThan(1000);

    // The ledger recorded the Job before it existed and its deletion; cleanup had nothing left to find.
    const ops = (await readLedger(s.env.SCALETEST_STATE_DIR!)).filter((e) => e.op.endsWith("-job")).map((e) => e.op);
    expect(ops).toEqual(["create-job", "deleted-job"]);
    expect(run.stderr).toMatch(/\[Web Terminal Traffic\] shard 0: \d\/\d passed/);
  });

  it("counts the shards' traffic in the run's summary and evaluates client thresholds on it (one passes, one fails)", async () => {
    const BYTES_PER_TICK = 512;
    const { s, simulator } = await shardedEnv({
      SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_BYTES_PER_TICK: String(BYTES_PER_TICK),
      SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_TICK_INTERVAL: "100ms",
      SCALETEST_PARAM_THRESHOLDS: JSON.stringify(["web_terminal.round_trip.p99 < 30s", "web_terminal.bytes.achieved_ratio > 30%", "web_terminal.round_trip.p50 > 30s"]),
    });
    const prep = await s.script("prepare");
    expect(prep.exitCode, prep.stderr).toBe(0);
    // What the simulator's terminals sent back (the echo of what they received), from here on: the phase's bytes.
    const metrics = trafficControls(simulator.ctx).host.metrics;
    const bytes = metrics.bytes.bind(metrics);
    let echoed = 0;
    metrics.bytes = (kind, direction, n) => {
      if (kind === "pty" && direction === "out") echoed += n;
      bytes(kind, direction, n);
    };
    const run = await s.script("run");
    // The failing threshold fails the verdict (exit 3); the jobs themselves passed.
    expect(run.exitCode, run.stderr).toBe(3);
    const summary = JSON.parse(readFileSync(join(s.env.SCALETEST_RUN_DIR!, "results", "summary.json"), "utf8")) as {
      phases: Array<{ scenarios: Array<{ name: string; bytesRead?: number; bytesWritten?: number; roundTrip?: { samples: number; p99: number } }> }>;
      verdict: { status: string; thresholds: Array<{ threshold: string; status: string; observed?: number }> };
    };
    const sc = summary.phases.flatMap((p) => p.scenarios).find((x) => x.name === "Web Terminal Traffic")!;
    // The sum over the shards is what the simulator echoed, within one tick per connection (in flight at the end).
    const tick = BYTES_PER_TICK * WORKSPACES;
    expect(echoed).toBeGreaterThan(tick * 5);
    expect(Math.abs(sc.bytesRead! - echoed)).toBeLessThanOrEqual(tick);
    expect(Math.abs(sc.bytesWritten! - echoed)).toBeLessThanOrEqual(tick);
    expect(sc.roundTrip!.samples).toBeGreaterThan(WORKSPACES * 5);
    const byText = Object.fromEntries(summary.verdict.thresholds.map((t) => [t.threshold, t]));
    expect(byText["web_terminal.round_trip.p99 < 30s"]).toMatchObject({ status: "pass", observed: sc.roundTrip!.p99 });
    expect(byText["web_terminal.bytes.achieved_ratio > 30%"]!.status).toBe("pass");
    expect(byText["web_terminal.round_trip.p50 > 30s"]).toMatchObject({ status: "fail", observed: expect.any(Number) });
    expect(summary.verdict.status).toBe("fail");
    // The terminal summary shows them too; no shard lacked its totals.
    expect(run.stderr).not.toMatch(/no totals line|totals were not counted/);
    expect(run.stdout + run.stderr).toMatch(/written \d+(\.\d+)? KiB; read \d+(\.\d+)? KiB; round trip p50/);
  });
});
