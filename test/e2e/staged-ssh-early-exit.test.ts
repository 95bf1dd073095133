// The failure issue 15 measured first: SSH Traffic where every `coder ssh --stdio` ends before the SSH handshake
// (agent not connected, a coderd hiccup). It once killed the process with an unheard ssh2 `error` event, leaving
// the status `Running`, no cleanup, and the workspaces, users and the runner's API token behind. Now the jobs
// fail, and `scaletest run` still ends with its final status, results and summary, cleans up (strategy always)
// and revokes its token.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tokenPath } from "../../src/run/session.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { readStatus } from "../../src/state/status.ts";
import { Children } from "../helpers/children.ts";
import { simApi } from "../helpers/sim-api.ts";
import { readResults } from "./staged-env.ts";

const REPO = resolve(import.meta.dirname, "../..");

let dir: string;
let sim: Simulator;
const children = new Children();
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "ssh-early-exit-"));
  sim = await startSimulator({ knobs: { pendingMs: 20, runningMs: 60, agentConnectDelayMs: 20 } });
});
afterEach(async () => {
  await children.stopAll();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("scaletest run, SSH Traffic, every coder ssh child exiting before the handshake", () => {
  it("fails the jobs, not the process: final status, results, summary, cleanup done, the runner's token revoked", async () => {
    const coder = join(dir, "coder");
    writeFileSync(coder, '#!/bin/sh\necho "agent is not connected" >&2\nexit 1\n');
    chmodSync(coder, 0o755);
    const runDir = join(dir, "run");
    const keysBefore = new Set(sim.state.apiKeys.keys());
    let token: string | undefined;
    const child = children.track(
      execa(
        "node",
        [
          join(REPO, "bin/scaletest.js"), "run", "--run-dir", runDir, "--num-workspaces", "2", "--load-scenarios", "SSH Traffic",
          "--load-scenario-ssh-traffic-duration", "1s", "--load-scenario-baseline-duration", "0s", "--greedy-agent=false",
          "--cleanup-strategy", "always", "--metrics-linger", "0s",
        ],
        {
          cwd: dir,
          reject: false,
          stdin: "ignore",
          extendEnv: false,
          env: {
            PATH: process.env.PATH ?? "",
            HOME: dir,
            CODER_CONFIG_DIR: join(dir, "nocfg"),
            CODER_URL: sim.url,
            CODER_SESSION_TOKEN: sim.sessionToken,
            CODER_BINARY: coder,
            SCALETEST_STATE_DIR: join(dir, "ledger"),
            SCALETEST_TRAFFIC_METRICS_PORT: "0",
            SCALETEST_DASHBOARD_METRICS_PORT: "0",
            SCALETEST_RUNNER_METRICS_PORT: "0",
          },
        },
      ),
    );
    // The runner's token, read from its file as soon as prepare says it exists (to ask the deployment about it later).
    child.stderr!.on("data", (chunk: Buffer) => {
      if (!token && chunk.toString().includes("created the runner's API token")) token = readFileSync(tokenPath(runDir), "utf8").trim();
    });
    const res = await child;
    const stderr = String(res.stderr);
    expect(stderr).not.toMatch(/Unhandled|uncaught|ERR_UNHANDLED|node:events/i);
    expect(res.exitCode, stderr).toBe(1);

    // Final status, the summary, and the SSH results with both jobs failed for the reason the child gave.
    expect(readStatus(join(runDir, "state"))).toBe("Failed (exit=1)");
    expect(String(res.stdout)).toMatch(/FAIL SSH Traffic: failed, 0\/2 jobs passed/);
    const summary = JSON.parse(readFileSync(join(runDir, "results", "summary.json"), "utf8")) as { status: string };
    expect(summary.status).toBe("Failed (exit=1)");
    const ssh = readResults(join(runDir, "results", "traffic-ssh.json"));
    expect([ssh.total_runs, ssh.total_fail]).toEqual([2, 2]);
    for (const run of Object.values(ssh.runs)) expect(run.error).toMatch(/coder ssh --stdio exited \(1\) before the SSH handshake: agent is not connected \(after 3 attempts\)/);
    // Each start's retries are in the summary (2 per job).
    expect(String(res.stdout)).toContain("retries: 4 (ssh exit ×4)");

    // Cleanup ran: nothing scaletest left on the deployment.
    expect([...sim.state.workspaces.values()].filter((w) => !w.deleted && w.name.startsWith("scaletest-"))).toEqual([]);
    expect([...sim.state.users.values()].filter((u) => !u.deleted && u.username.startsWith("scaletest-"))).toEqual([]);

    // The runner's token: gone from disk and refused by the deployment; no new key is left.
    expect(token).toBeDefined();
    expect(existsSync(tokenPath(runDir))).toBe(false);
    expect((await simApi(sim, token!)("GET", "/api/v2/users/me")).status).toBe(401);
    expect([...sim.state.apiKeys.keys()].filter((k) => !keysBefore.has(k))).toEqual([]);
  });
});
