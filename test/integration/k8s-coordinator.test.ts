// The coordinator against the stand-in Kubernetes API server: real client, real processes per shard (a fixture
// `scaletest` that reports its targets), retries, a shard that never starts, a refused Job, SIGTERM and a crash.
import { execa } from "execa";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanupShardJobs } from "../../src/k8s/cleanup.ts";
import { runShardedPhase, type ShardedPhaseOptions } from "../../src/k8s/coordinator.ts";
import { connectKube, type KubeApi } from "../../src/k8s/kube.ts";
import { Ledger, outstandingJobs, readLedger } from "../../src/state/ledger.ts";
import { shardOf } from "../../src/traffic/shard.ts";
import { Children } from "../helpers/children.ts";
import { KubeStandIn, type KubeStandInOptions } from "../helpers/kube-api.ts";

const REPO = resolve(import.meta.dirname, "../..");
const FIXTURES = join(REPO, "test/fixtures/k8s");
const TOKEN = "shard-session-token-value";
const TARGETS = ["w0", "w1", "w2", "w3", "w4", "w5", "w6"];

let dir: string;
let kube: KubeStandIn | undefined;
const children = new Children();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "k8s-coord-"));
});
afterEach(async () => {
  await children.stopAll();
  await kube?.close();
  kube = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function standIn(o: KubeStandInOptions = {}, knobs: Record<string, string> = {}): Promise<{ s: KubeStandIn; api: KubeApi }> {
  kube = await KubeStandIn.start({
    secrets: { "shard-token": { token: TOKEN } },
    path: [FIXTURES],
    nodeEnv: { FIXTURE_SHARD_MARKS: dir, FIXTURE_EXPECT_TOKEN: TOKEN, FIXTURE_TARGETS: TARGETS.join(","), ...knobs },
    killGraceMs: 2000,
    ...o,
  });
  return { s: kube, api: await connectKube({ KUBECONFIG: kube.kubeconfig }) };
}

function phase(api: KubeApi, over: Partial<ShardedPhaseOptions> = {}): ShardedPhaseOptions & { lines: string[] } {
  const lines: string[] = [];
  return {
    kube: api,
    namespace: "scaletest",
    runId: "scaletest-2026-12-07T07-00-00Z",
    phase: "Web Terminal Traffic",
    shards: 3,
    args: ["workspace-traffic", "--target-workspaces", "0:7", "--timeout", "1s"],
    pod: { image: "ghcr.io/scaletest-runner/scaletest-runner:test", serviceAccountName: "scaletest-sa", ports: [{ name: "prom-traffic", containerPort: 21112 }] },
    secretName: "shard-token",
    workMs: 5000,
    startLeadMs: 1500,
    pollMs: 50,
    signal: new AbortController().signal,
    log: (l) => lines.push(l),
    lines,
    ...over,
  };
}

/** What each shard process saw (args, whether its token was the secret's), from the fixture's marks. */
function shardMarks(): { args: string[]; env: { token: boolean; url?: string } }[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith("args-"))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as { args: string[]; env: { token: boolean } });
}

async function ledgerOps(stateDir: string): Promise<string[]> {
  return (await readLedger(stateDir)).map((e) => e.op);
}

describe("the coordinator against the stand-in API server", () => {
  it("runs N shard pods from one Indexed Job, merges every target exactly once, and deletes the Job", async () => {
    const { s, api } = await standIn();
    const stateDir = join(dir, "state");
    const ledger = await Ledger.open(stateDir, { url: "http://127.0.0.1:9", run: "scaletest-2026-12-07T07-00-00Z" });
    const o = phase(api, { record: (rec) => ledger.append(rec) });
    const r = await runShardedPhase(o);
    await ledger.close();
    expect(r.error).toBeUndefined();
    expect(r.outcome).toBe("passed");
    // The union of the shards' runs is the whole set, each target once, split as shardOf splits.
    expect(Object.keys(r.results!.runs).sort()).toEqual(TARGETS.map((t) => `workspacetraffic/${t}`));
    expect(r.results!.total_runs).toBe(TARGETS.length);
    for (const sh of r.shards) expect(Object.values(sh.results!.runs).map((x) => x.id)).toEqual(TARGETS.filter((t) => shardOf(t, 3) === sh.index));
    // Every shard got the phase's flags plus the shard flags, and its token from the secret.
    const marks = shardMarks();
    expect(marks).toHaveLength(3);
    for (const m of marks) {
      expect(m.args).toEqual([...o.args, "--shard-count", "3", "--start-at", r.startAt]);
      expect(m.env.token).toBe(true);
    }
    // The Job as created: Indexed, 3 of 3, and the token nowhere in it.
    const job = s.created[0]!;
    expect(job.spec).toMatchObject({ completionMode: "Indexed", completions: 3, parallelism: 3, backoffLimitPerIndex: 2 });
    expect(JSON.stringify(job)).not.toContain(TOKEN);
    // Gone afterwards, processes too; the ledger says created, then deleted.
    expect(s.jobNames()).toEqual([]);
    expect(s.running()).toBe(0);
    expect(await ledgerOps(stateDir)).toEqual(["create-job", "deleted-job"]);
    expect(s.requests.find((q) => q.method === "DELETE")?.path).toContain("propagationPolicy=Background");
    expect(o.lines.join("\n")).not.toContain(TOKEN);
  });

  it("a shard that crashes is retried by Kubernetes (backoffLimitPerIndex) and the phase still passes", async () => {
    const { s, api } = await standIn({}, { FIXTURE_SHARD_CRASH_INDEX: "1" });
    const r = await runShardedPhase(phase(api));
    expect(r.error).toBeUndefined();
    expect(r.outcome).toBe("passed");
    expect(r.shards.map((x) => x.attempts)).toEqual([1, 2, 1]);
    const one = s.history.filter((h) => h.index === 1);
    expect(one.map((h) => [h.phase, h.exitCode])).toEqual([
      ["Failed", 137],
      ["Succeeded", 0],
    ]);
    expect(Object.keys(r.results!.runs)).toHaveLength(TARGETS.length);
  });

  it("sums the shards' totals lines; a shard without one is its own problem, logged, and the phase's results stand", async () => {
    const { api } = await standIn({}, { FIXTURE_SHARD_NO_TOTALS_INDEX: "1" });
    const r = await runShardedPhase(phase(api));
    expect(r.error).toBeUndefined();
    expect(r.outcome).toBe("passed");
    const owned = (i: number) => TARGETS.filter((t) => shardOf(t, 3) === i).length;
    expect(r.shards.map((x) => x.totals?.traffic?.written)).toEqual([1000 * owned(0), undefined, 1000 * owned(2)]);
    expect(r.shards[1]!.totalsProblem).toMatch(/^no totals line in the log of pod \S+: its traffic is missing from the run's metrics/);
    expect(r.shards[1]!.results!.total_runs).toBe(owned(1));
    expect(r.totals!.traffic!.written).toBe(1000 * (owned(0) + owned(2)));
    expect(r.totals!.traffic!.roundTrip.counts).toEqual([owned(0) + owned(2), 0, 0]);
    expect(r.totals!.skipped).toEqual({ backpressure: 0 + 2 });
  });

  it("a shard that never starts fails the phase by the shared start, naming its index and why; the Job is deleted", async () => {
    const { s, api } = await standIn({ unschedulable: (index) => index === 1 });
    const t0 = Date.now();
    const r = await runShardedPhase(phase(api, { workMs: 60_000 }));
    expect(r.outcome).toBe("failed");
    expect(r.error).toMatch(/^shard 1 of 3 did not start running by the shared start time \(pod scaletest-2026-12-07t07-00-00z-web-terminal-traffic-1-\w+: Unschedulable: 0\/1 nodes are available/);
    // Decided at the shared start, not at the phase's timeout.
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(s.jobNames()).toEqual([]);
    // Background propagation: the pods go after the Job, as the garbage collector removes them.
    await s.waitFor(() => s.running() === 0, 10_000, "the shard processes to end");
  });

  it("a shard whose jobs failed (exit 1) is not run again: its results stand and the merged results carry the failure", async () => {
    const { s, api } = await standIn({}, { FIXTURE_SHARD_FAIL_INDEX: "2" });
    const r = await runShardedPhase(phase(api));
    expect(r.outcome).toBe("failed");
    expect(r.error).toBe(`1 of ${TARGETS.length} jobs did not pass`);
    expect(r.shards.map((x) => x.attempts)).toEqual([1, 1, 1]);
    expect(r.results!.total_fail).toBe(1);
    expect(s.history.filter((h) => h.index === 2).map((h) => h.exitCode)).toEqual([1]);
  });

  it("a shard whose container cannot start (the secret lacks the token) fails the phase by the shared start", async () => {
    const { api } = await standIn({ secrets: { "shard-token": {} } });
    const r = await runShardedPhase(phase(api, { shards: 2 }));
    expect(r.outcome).toBe("failed");
    expect(r.error).toMatch(/^shard 0 of 2 did not start running by the shared start time \(pod \S+: CreateContainerConfigError: couldn't find key token in Secret scaletest\/shard-token\); shard 1 of 2/);
  });

  it("a Job Kubernetes refuses (a wrong field, against the 1.33 schema) fails the phase with the API server's words; nothing is left", async () => {
    const { s, api } = await standIn();
    const stateDir = join(dir, "state");
    const ledger = await Ledger.open(stateDir, { url: "http://127.0.0.1:9", run: "r" });
    const o = phase(api, { pod: { image: "img", imagePullPolicy: "Sometimes" }, record: (rec) => ledger.append(rec) });
    const r = await runShardedPhase(o);
    await ledger.close();
    expect(r.outcome).toBe("failed");
    expect(r.error).toBe(
      `Kubernetes did not create the shard Job: create Job scaletest/${r.job}: Kubernetes answered 422 Invalid: Job.batch "${r.job}" is invalid: ` +
        `spec.template.spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"`,
    );
    expect(s.requests.filter((q) => q.method === "POST").map((q) => q.status)).toEqual([422]);
    expect(s.jobNames()).toEqual([]);
    expect(outstandingJobs(await readLedger(stateDir))).toEqual([]);
  });

  it("a Job that already exists (an earlier attempt's) is reported, and the ledger keeps it for cleanup", async () => {
    const { s, api } = await standIn({}, { FIXTURE_SHARD_HOLD: "1" });
    const stop = new AbortController();
    const first = runShardedPhase(phase(api, { workMs: 60_000, signal: stop.signal }));
    await s.waitFor(() => s.jobNames().length === 1, 10_000, "the first Job");
    const stateDir = join(dir, "state");
    const ledger = await Ledger.open(stateDir, { url: "http://127.0.0.1:9", run: "r" });
    const r = await runShardedPhase(phase(api, { record: (rec) => ledger.append(rec) }));
    await ledger.close();
    expect(r.error).toMatch(/Kubernetes answered 409 AlreadyExists: jobs\.batch "scaletest-[^"]+" already exists$/);
    expect(outstandingJobs(await readLedger(stateDir))).toHaveLength(1);
    stop.abort();
    expect((await first).outcome).toBe("canceled");
    expect(s.jobNames()).toEqual([]);
  });
});

describe("a coordinator process", () => {
  async function start(s: KubeStandIn, stateDir: string) {
    const child = children.track(
      execa(process.execPath, ["--import", "tsx", join(FIXTURES, "coordinator.ts")], {
        cwd: REPO,
        env: { KUBECONFIG: s.kubeconfig, STATE_DIR: stateDir, RUN_ID: "scaletest-signal", HOME: dir },
        extendEnv: false,
        reject: false,
      }),
    );
    await s.waitFor(() => s.running() === 3, 20_000, "three running shard processes");
    // Wrapped: the child is a thenable, which an async function would wait for.
    return { child };
  }

  it("deletes its Job (and the shard processes) on SIGTERM", async () => {
    const { s } = await standIn({}, { FIXTURE_SHARD_HOLD: "1" });
    const stateDir = join(dir, "state");
    const { child } = await start(s, stateDir);
    const pids = s.history.map((h) => h.pid!);
    child.kill("SIGTERM");
    const r = await child;
    expect(r.exitCode, r.stderr).toBe(143);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: "canceled" });
    expect(r.stderr).toMatch(/shards: deleted Job scaletest\/scaletest-signal-web-terminal-traffic and its pods/);
    await s.waitFor(() => s.running() === 0, 10_000, "the shard processes to end");
    expect(s.jobNames()).toEqual([]);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(await ledgerOps(stateDir)).toEqual(["create-job", "deleted-job"]);
  });

  it("cleanup finds the Job of a SIGKILLed coordinator through the ledger (not while it lives) and deletes it", async () => {
    const { s } = await standIn({}, { FIXTURE_SHARD_HOLD: "1" });
    const stateDir = join(dir, "state");
    const { child } = await start(s, stateDir);
    const log: string[] = [];
    const connect = () => connectKube({ KUBECONFIG: s.kubeconfig });
    // While the coordinator lives, its Job is its own to delete.
    const early = await cleanupShardJobs({ stateDir, connect, log: (l) => log.push(l) });
    expect(early.deleted).toEqual([]);
    expect(early.left).toEqual([`Job scaletest/scaletest-signal-web-terminal-traffic (run scaletest-signal): its run is still running; it deletes its own Jobs`]);
    child.kill("SIGKILL");
    await child;
    // The crash left the Job and its pods running.
    expect(s.jobNames()).toEqual(["scaletest-signal-web-terminal-traffic"]);
    expect(s.running()).toBe(3);
    const after = await cleanupShardJobs({ stateDir, connect, log: (l) => log.push(l) });
    expect(after).toEqual({ deleted: ["Job scaletest/scaletest-signal-web-terminal-traffic (run scaletest-signal)"], left: [] });
    await s.waitFor(() => s.running() === 0, 10_000, "the shard processes to end");
    expect(s.jobNames()).toEqual([]);
    expect(outstandingJobs(await readLedger(stateDir))).toEqual([]);
    // A second cleanup has nothing to do and does not even connect.
    const again = await cleanupShardJobs({ stateDir, connect: () => Promise.reject(new Error("must not connect")), log: (l) => log.push(l) });
    expect(again).toEqual({ deleted: [], left: [] });
  });
});
