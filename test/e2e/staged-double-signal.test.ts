// A second SIGTERM while the run cleans up: the cleanup stops, yet the run ends consistent: results and summary
// written, status final, what was not deleted named in the log, the runner's API token revoked on the deployment
// and gone from disk; the next cleanup finds the leftovers through the run ledger.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ResultPromise } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { tokenPath } from "../../src/run/session.ts";
import { simApi } from "../helpers/sim-api.ts";
import { readResults, stagedEnv, type StagedEnv } from "./staged-env.ts";

let t: StagedEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Resolves once the child's stderr has shown `text`; rejects if it exits first. */
function stderrShows(child: ResultPromise, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        child.stderr?.off("data", onData);
        resolve(seen);
      }
    };
    child.stderr?.on("data", onData);
    child.once("exit", () => reject(new Error(`exited before showing ${JSON.stringify(text)}: ${seen}`)));
  });
}

describe("a second signal during cleanup", () => {
  it("stops the cleanup and still leaves results, a final status, the leftovers named and the token revoked", async () => {
    t = await stagedEnv({
      SCALETEST_PARAM_CLEANUP_STRATEGY: "always",
      SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "0s",
      SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_DURATION: "10m",
    });
    const s = t;
    expect((await s.script("prepare")).exitCode).toBe(0);
    const runDir = s.env.SCALETEST_RUN_DIR!;
    const token = readFileSync(tokenPath(runDir), "utf8").trim();
    expect((await simApi(s.sim, token)("GET", "/api/v2/users/me")).status).toBe(200);

    const child = s.spawn("run");
    await s.phaseEvent((e) => e.kind === "START" && e.name === "Load scenario: Web Terminal Traffic");
    await stderrShows(child, "[Web Terminal Traffic] Running load test: rpty traffic to 2 workspace(s)");
    // Delete builds now sit in the provisioner queue, so the cleanup is still deleting when the second signal lands.
    s.sim.setKnobs({ pendingMs: 3_600_000 });
    const deleting = stderrShows(child, "[cleanup] Found 2 scaletest workspaces");
    child.kill("SIGTERM");
    await deleting;
    const t0 = Date.now();
    child.kill("SIGTERM");
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(143);
    expect(Date.now() - t0).toBeLessThan(30_000);
    const stderr = String(r.stderr);

    // Results, summary and the cleanup's own results are written; the status is final.
    const results = join(runDir, "results");
    expect(readResults(join(results, "traffic-web-terminal.json")).total_runs).toBe(2);
    expect(JSON.parse(readFileSync(join(results, "summary.json"), "utf8")).status).toBe("Failed (exit=143)");
    expect(readFileSync(join(results, "cleanup-on_error.txt"), "utf8")).toContain("Workspaces:");
    expect(s.status()).toBe("Failed (exit=143)");
    expect(s.phaseLines().slice(-2)).toEqual(["START:4: Cleanup (on_error)", "END:4: Cleanup (on_error)"]);

    // What was not deleted is named: both workspaces and both users.
    const named = stderr.slice(stderr.indexOf("not deleted (the next cleanup finds them"));
    expect(named.match(/\[cleanup\] {3}workspace scaletest-\S+\/scaletest-\S+/g)).toHaveLength(2);
    expect(named.match(/\[cleanup\] {3}user scaletest-\S+/g)).toHaveLength(2);

    // The token is revoked on the deployment and gone from disk.
    expect(stderr).toContain("stopped again: revoked the runner's API token");
    expect(existsSync(tokenPath(runDir))).toBe(false);
    expect((await simApi(s.sim, token)("GET", "/api/v2/users/me")).status).toBe(401);

    // The next cleanup (the runner's own, from the ledger) finds and deletes the leftovers.
    s.sim.setKnobs({ pendingMs: 50 });
    expect(await s.leftovers()).toEqual({ workspaces: 2, users: 2 });
    const next = await s.script("cleanup", ["prepare"]);
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).toContain("run scaletest-e2e: 2 workspaces, 2 users");
    expect(await s.leftovers()).toEqual({ workspaces: 0, users: 0 });
  });
});
