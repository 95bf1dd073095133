// Runs beside each other on one deployment and one state dir: a staged run's prepare and cleanup never touch what a
// live staged run made, nor what an operator's `create-workspaces --no-cleanup` kept; the operator's cleanup then
// removes the kept resources, printing them under their run first.
import { execa, type ResultPromise } from "execa";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readLedger } from "../../src/state/ledger.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { stagedEnv, type StagedEnv } from "./staged-env.ts";

const REPO = resolve(import.meta.dirname, "../..");
const SCENARIO = "Load scenario: Web Terminal Traffic";

let sim: Simulator | undefined;
let dir: string | undefined;
const envs: StagedEnv[] = [];
afterAll(async () => {
  for (const e of envs) await e.close();
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Resolves once the child's stderr has shown `text`; rejects if it exits first. */
function stderrShows(child: ResultPromise, text: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let seen = "";
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        child.stderr?.off("data", onData);
        resolvePromise();
      }
    };
    child.stderr?.on("data", onData);
    child.once("exit", () => reject(new Error(`exited before showing ${JSON.stringify(text)}: ${seen}`)));
  });
}

describe("deletion scope between runs", () => {
  it("a second run never touches a live run's resources nor a --no-cleanup create's; the operator's cleanup takes the kept ones", async () => {
    sim = await startSimulator({});
    dir = mkdtempSync(join(tmpdir(), "deletion-scope-"));
    const stateDir = join(dir, "state");
    const live = () => ({
      workspaces: new Set([...sim!.state.workspaces.values()].filter((w) => !w.deleted).map((w) => w.name)),
      users: new Set([...sim!.state.users.values()].filter((u) => !u.deleted).map((u) => u.username)),
    });
    const madeBy = async (run: string) => {
      const entries = (await readLedger(stateDir)).filter((e) => e.run === run);
      return {
        workspaces: entries.flatMap((e) => (e.op === "created-workspace" ? [e.name] : [])),
        users: entries.flatMap((e) => (e.op === "created-user" ? [e.username] : [])),
      };
    };
    const expectAlive = (made: { workspaces: string[]; users: string[] }, what: string) => {
      const now = live();
      for (const w of made.workspaces) expect(now.workspaces.has(w), `${what}: workspace ${w}`).toBe(true);
      for (const u of made.users) expect(now.users.has(u), `${what}: user ${u}`).toBe(true);
    };
    const cli = (args: string[]) =>
      execa("node", ["bin/scaletest.js", ...args], {
        cwd: REPO,
        reject: false,
        extendEnv: false,
        env: { PATH: process.env.PATH ?? "", HOME: dir!, CODER_URL: sim!.url, CODER_SESSION_TOKEN: sim!.sessionToken, SCALETEST_STATE_DIR: stateDir, CODER_CONFIG_DIR: join(dir!, "nocfg") },
      });

    // The operator keeps one workspace for later.
    const kept = await cli(["create-workspaces", "--count", "1", "--template", "kubernetes-minimal", "--no-cleanup", "--no-wait-for-agents"]);
    expect(kept.exitCode, kept.stderr).toBe(0);
    const keptRun = (await readLedger(stateDir)).find((e) => e.op === "keep")!.run;
    const keptMade = await madeBy(keptRun);
    expect(keptMade.workspaces).toHaveLength(1);

    // Run A: long web terminal traffic.
    const a = await stagedEnv(
      { SCALETEST_RUN_ID: "run-a", SCALETEST_STATE_DIR: stateDir, SCALETEST_PARAM_CLEANUP_STRATEGY: "always", SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "0s", SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_DURATION: "10m" },
      { sim },
    );
    envs.push(a);
    expect((await a.script("prepare")).exitCode).toBe(0);
    const runA = a.spawn("run");
    await a.phaseEvent((e) => e.kind === "START" && e.name === SCENARIO);
    await stderrShows(runA, "[Web Terminal Traffic] Running load test: rpty traffic to 2 workspace(s)");
    const aMade = await madeBy("run-a");
    expect(aMade.workspaces).toHaveLength(2);

    // Run B, with "Cleanup before scaletest" on and cleanup always: neither A's nor the kept create's resources go.
    const b = await stagedEnv(
      { SCALETEST_RUN_ID: "run-b", SCALETEST_STATE_DIR: stateDir, SCALETEST_PARAM_CLEANUP_STRATEGY: "always", SCALETEST_PARAM_CLEANUP_PREPARE: "true", SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "0s" },
      { sim },
    );
    envs.push(b);
    const prepB = await b.script("prepare");
    expect(prepB.exitCode, prepB.stderr).toBe(0);
    expect(prepB.stderr).toMatch(/not deleting 4: run run-a is still running \(pid \d+ on [^)]+\); it cleans up after itself/);
    expect(prepB.stderr).toContain(`not deleting 2: run ${keptRun} keeps its resources (--no-cleanup)`);
    expectAlive(aMade, "after B's prepare");
    expectAlive(keptMade, "after B's prepare");

    const runB = await b.script("run");
    expect(runB.exitCode, runB.stderr).toBe(0);
    const bMade = await madeBy("run-b");
    expect(bMade.workspaces).toHaveLength(2);
    for (const w of bMade.workspaces) expect(live().workspaces.has(w), `B's own ${w}`).toBe(false);
    expectAlive(aMade, "after B's run and cleanup");
    expectAlive(keptMade, "after B's run and cleanup");

    // A stops and cleans up its own; the kept create's stay.
    runA.kill("SIGTERM");
    expect((await runA).exitCode).toBe(143);
    for (const w of aMade.workspaces) expect(live().workspaces.has(w), `A's own ${w}`).toBe(false);
    expectAlive(keptMade, "after A's cleanup");

    // The operator's cleanup shows the kept run's resources under its run id, then deletes them.
    const operator = await cli(["cleanup", "--cleanup-concurrency", "4"]);
    expect(operator.exitCode, operator.stderr).toBe(0);
    expect(operator.stderr).toContain(`  run ${keptRun}: 1 workspace, 1 user`);
    expect(operator.stderr.indexOf(`  run ${keptRun}:`)).toBeLessThan(operator.stderr.indexOf("Found 1 scaletest workspaces"));
    expect(await a.leftovers()).toEqual({ workspaces: 0, users: 0 });
  });
});
