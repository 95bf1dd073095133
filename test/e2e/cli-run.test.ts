// End to end: `scaletest run` and `scaletest create-workspaces` as processes with no deployment given: the built-in
// simulator starts in the process, the staged test runs to its summary and results files, nothing is left; a bad
// setting stops everything before a side effect.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readPhaseEvents } from "../../src/state/phase.ts";
import { readStatus } from "../../src/state/status.ts";
import { Children } from "../helpers/children.ts";
import { readResults } from "./staged-env.ts";

const REPO = resolve(import.meta.dirname, "../..");
const SIMULATOR_LINE = /^no deployment given \(--url \/ CODER_URL\): using the built-in Coder simulator at http:\/\/127\.0\.0\.1:\d+$/m;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cli-run-"));
  mkdirSync(join(dir, "tmp"));
});
// A run a failed wait leaves behind (the SIGTERM test starts a 10-minute one) is stopped here.
const children = new Children();
afterEach(async () => {
  await children.stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** The CLI with no deployment anywhere: no CODER_URL, an empty config dir, HOME and TMPDIR inside the test dir. */
function scaletest(args: string[], env: Record<string, string> = {}) {
  return children.track(
    execa("node", [join(REPO, "bin/scaletest.js"), ...args], {
      cwd: dir,
      reject: false,
      stdin: "ignore",
      extendEnv: false,
      env: { PATH: process.env.PATH ?? "", HOME: dir, TMPDIR: join(dir, "tmp"), CODER_CONFIG_DIR: join(dir, "nocfg"), ...env },
    }),
  );
}

describe("a scenario that cannot run here", () => {
  // A browser path that does not exist stands for a machine with no browser at all.
  const noBrowser = { SCALETEST_CHROMIUM_PATH: "/nonexistent/chromium" };

  it("is named by the dry-run plan, which exits 2", async () => {
    const res = await scaletest(["run", "--dry-run", "--load-scenarios", "Web Terminal Traffic,Dashboard Traffic"], noBrowser);
    expect(res.exitCode, res.stderr).toBe(2);
    expect(res.stdout).toMatch(/Dry-run problem: "Dashboard Traffic" cannot run here: Dashboard Traffic needs a browser: .*SCALETEST_CHROMIUM_PATH/);
  });

  it("stops the real run before anything is created", async () => {
    const runDir = join(dir, "run");
    const res = await scaletest(["run", "--run-dir", runDir, "--num-workspaces", "2", "--load-scenarios", "Dashboard Traffic"], noBrowser);
    expect(res.exitCode, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/"Dashboard Traffic" cannot run here/);
    expect(res.stderr).not.toContain("created the runner's API token");
    expect(existsSync(join(runDir, "results", "create-workspaces.json"))).toBe(false);
  });

  it("refuses a browser that is found but cannot start, naming why, before anything is created", async () => {
    const broken = join(dir, "chromium");
    writeFileSync(broken, "#!/bin/sh\necho 'error while loading shared libraries: libnss3.so' >&2\nexit 127\n", { mode: 0o755 });
    const runDir = join(dir, "run");
    const res = await scaletest(["run", "--run-dir", runDir, "--num-workspaces", "2", "--load-scenarios", "Dashboard Traffic"], { SCALETEST_CHROMIUM_PATH: broken });
    expect(res.exitCode, res.stderr).toBe(2);
    expect(res.stderr).toContain(`"Dashboard Traffic" cannot run here: Dashboard Traffic needs a browser: ${broken} does not start: error while loading shared libraries: libnss3.so (exit code 127)`);
    expect(res.stderr).not.toContain("created the runner's API token");
    expect(existsSync(join(runDir, "results", "create-workspaces.json"))).toBe(false);
  });
});

describe("scaletest run without a deployment", () => {
  it("runs the staged test against the built-in simulator: summary, results, phase and status files, nothing left", async () => {
    const runDir = join(dir, "run");
    const res = await scaletest(
      [
        "run", "--run-dir", runDir, "--num-workspaces", "2", "--load-scenarios", "Web Terminal Traffic,App Traffic",
        "--load-scenario-web-terminal-traffic-duration", "1s", "--load-scenario-app-traffic-duration", "1s",
        "--load-scenario-baseline-duration", "0s", "--greedy-agent=false",
      ],
      // An env setting under the flags: the tick interval comes from the template's variable.
      { SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_TICK_INTERVAL: "50ms" },
    );
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stderr).toMatch(SIMULATOR_LINE);
    expect(res.stderr).toContain("built-in simulator: 0 scaletest workspace(s) and 0 scaletest user(s) left (clean)");

    // The summary people read, on stdout, and the same text in the results dir.
    expect(res.stdout).toMatch(/^Scaletest scaletest-[\dT:-]+Z: Complete in /m);
    expect(res.stdout).toMatch(/ok {3}1\. Creating workspaces/);
    expect(res.stdout).toMatch(/ok {3}Web Terminal Traffic: passed, 2\/2 jobs passed/);
    expect(res.stdout).toMatch(/ok {3}App Traffic: passed, 2\/2 jobs passed/);
    expect(res.stdout).toMatch(/ok {3}\d+\. Cleanup \(on_success\)/);
    const results = join(runDir, "results");
    expect(readFileSync(join(results, "summary.txt"), "utf8").trimEnd()).toBe(res.stdout); // execa drops the last newline
    const summary = JSON.parse(readFileSync(join(results, "summary.json"), "utf8")) as { status: string; phases: Array<{ name: string; outcome: string }> };
    expect(summary.status).toBe("Complete");
    expect(summary.phases.map((p) => `${p.name}: ${p.outcome}`)).toEqual([
      "Creating workspaces: passed",
      "Load scenario: Web Terminal Traffic: passed",
      "Load scenario: App Traffic: passed",
      "Cleanup (on_success): passed",
    ]);
    expect(readResults(join(results, "create-workspaces.json"))).toMatchObject({ total_runs: 2, total_pass: 2, total_fail: 0 });
    const wt = readResults(join(results, "traffic-web-terminal.json"));
    expect(wt).toMatchObject({ total_runs: 2, total_pass: 2, total_fail: 0 });
    expect(readResults(join(results, "traffic-app.json"))).toMatchObject({ total_runs: 2, total_pass: 2, total_fail: 0 });

    // The state files the template's metadata reads.
    const state = join(runDir, "state");
    expect(readStatus(state)).toBe("Complete");
    expect(readPhaseEvents(state).filter((e) => e.kind === "END").map((e) => e.name)).toEqual([
      "Cleanup (prepare)",
      "Creating workspaces",
      "Load scenario: Web Terminal Traffic",
      "Load scenario: App Traffic",
      "Cleanup (on_success)",
    ]);
    // Nothing outlives the command: the runner token file, the simulator's ledger dir.
    expect(existsSync(join(state, "session-token"))).toBe(false);
    expect(readdirSync(join(dir, "tmp")).filter((f) => f.startsWith("scaletest-"))).toEqual([]);
    expect(readFileSync(join(runDir, "environ.txt"), "utf8")).toContain("SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_TICK_INTERVAL=50ms");
  });

  it("runs the debug rows: debug:error fails the run (exit 1), the other two pass, nothing left", async () => {
    const runDir = join(dir, "run");
    const res = await scaletest([
      "run", "--run-dir", runDir, "--num-workspaces", "1", "--load-scenarios", "debug:success,debug:error,debug:greedy_agent_traffic",
      "--greedy-agent", "--load-scenario-debug-duration", "1s", "--load-scenario-baseline-duration", "0s",
    ]);
    expect(res.exitCode, res.stderr).toBe(1);
    expect(res.stdout).toMatch(/ok {3}debug:success: passed, 1\/1 jobs passed/);
    expect(res.stdout).toMatch(/FAIL {1,}debug:error: failed/);
    expect(res.stdout).toMatch(/ok {3}debug:greedy_agent_traffic: passed, 1\/1 jobs passed/);
    const summary = JSON.parse(readFileSync(join(runDir, "results", "summary.json"), "utf8")) as { status: string; phases: Array<{ name: string; outcome: string }> };
    expect(summary.phases.filter((p) => p.name.startsWith("Load scenario")).map((p) => `${p.name}: ${p.outcome}`)).toEqual([
      "Load scenario: debug:success: passed",
      "Load scenario: debug:error: failed",
      "Load scenario: debug:greedy_agent_traffic: passed",
    ]);
    expect(readResults(join(runDir, "results", "debug-error.json"))).toMatchObject({ total_runs: 1, total_pass: 0, total_fail: 1 });
    expect(readResults(join(runDir, "results", "debug-greedy-agent-traffic.json"))).toMatchObject({ total_runs: 1, total_pass: 1 });
    expect(res.stderr).toContain("built-in simulator: 0 scaletest workspace(s) and 0 scaletest user(s) left (clean)");
    expect(readdirSync(join(dir, "tmp")).filter((f) => f.startsWith("scaletest-"))).toEqual([]);
  });

  it("a bad setting exits 2 naming the flag and the env var, before the simulator starts or the run dir exists", async () => {
    const runDir = join(dir, "bad");
    const res = await scaletest(["run", "--run-dir", runDir, "--load-scenario-app-traffic-percentage", "200"], { SCALETEST_PARAM_NUM_WORKSPACES: "0" });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toContain('validate SCALETEST_PARAM_NUM_WORKSPACES: must be an integer from 1 to 2000 (template parameter "Number of workspaces to create"), got 0');
    expect(res.stderr).toContain("validate --load-scenario-app-traffic-percentage (SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_PERCENTAGE): must be an integer from 1 to 100");
    expect(res.stderr).not.toMatch(SIMULATOR_LINE);
    expect(res.stdout).toBe("");
    expect(existsSync(runDir)).toBe(false);
    expect(readdirSync(join(dir, "tmp")).filter((f) => f.startsWith("scaletest-"))).toEqual([]);
  });

  it("SIGTERM mid-scenario stops the traffic, writes results, cleans up and ends Failed (exit=143)", async () => {
    const runDir = join(dir, "run");
    const child = scaletest([
      "run", "--run-dir", runDir, "--num-workspaces", "2", "--load-scenarios", "Web Terminal Traffic",
      "--load-scenario-web-terminal-traffic-duration", "10m", "--load-scenario-baseline-duration", "0s", "--greedy-agent=false",
    ]);
    await new Promise<void>((resolveStarted, reject) => {
      let seen = "";
      child.stderr!.on("data", (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes("[Web Terminal Traffic] Running load test: rpty traffic to 2 workspace(s)")) resolveStarted();
      });
      child.once("exit", () => reject(new Error(`exited before the scenario started: ${seen}`)));
    });
    child.kill("SIGTERM");
    const res = await child;
    expect(res.exitCode, res.stderr).toBe(143);
    expect(res.stdout).toMatch(/Failed \(exit=143\)/);
    expect(res.stderr).toContain("built-in simulator: 0 scaletest workspace(s) and 0 scaletest user(s) left (clean)");
    expect(readStatus(join(runDir, "state"))).toBe("Failed (exit=143)");
    const wt = readResults(join(runDir, "results", "traffic-web-terminal.json"));
    expect(wt.total_runs).toBe(2);
    expect(Object.values(wt.runs).every((r) => r.error !== "<nil>")).toBe(true);
  });
});

describe("scaletest create-workspaces without a deployment", () => {
  it("creates and cleans up in the built-in simulator and passes", async () => {
    const out = join(dir, "cw.json");
    const res = await scaletest(["create-workspaces", "-t", "kubernetes-minimal", "--count", "3", "--concurrency", "3", "--cleanup-concurrency", "3", "--output", `json:${out}`]);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stderr).toMatch(SIMULATOR_LINE);
    expect(res.stderr).toContain("Outcomes: ok 3, failed 0, canceled 0, timed out 0 (of 3)");
    expect(res.stderr).toMatch(/cleanup: 3\/3 done {2}ok 3 {2}failed 0/);
    expect(readResults(out)).toMatchObject({ total_runs: 3, total_pass: 3, total_fail: 0 });
    // The simulator's ledger went with it; the real one (~/.scaletest) was never touched.
    expect(readdirSync(join(dir, "tmp")).filter((f) => f.startsWith("scaletest-"))).toEqual([]);
    expect(existsSync(join(dir, ".scaletest"))).toBe(false);
  });

  it("with --no-cleanup warns that the workspaces end with the simulator", async () => {
    const res = await scaletest(["create-workspaces", "-t", "kubernetes-minimal", "--no-cleanup"]);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stderr).toContain("WARN: --no-cleanup with the built-in simulator: the users and workspaces end with the simulator when this command exits.");
    expect(res.stderr).not.toContain("later with `scaletest cleanup`");
  });
});
