// End to end: `scaletest sim` and `scaletest create-workspaces` / `cleanup` as real processes. Upstream-shaped
// results, faults accounted for, --retry, and a SIGKILLed run cleaned up through the ledger.
import { watch } from "node:fs";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Children } from "../helpers/children.ts";

interface SimChild {
  url: string;
  token: string;
  child: ResultPromise;
}

let dir: string;
let sims: SimChild[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cli-cw-"));
});
// Every process a test starts: the simulators, and runs a failed wait may have left running.
const children = new Children();
afterEach(async () => {
  await children.stopAll();
  sims = [];
  rmSync(dir, { recursive: true, force: true });
});

/** Spawns `scaletest sim` and resolves once its credentials file is written. */
async function startSim(knobFlags: string[] = []): Promise<SimChild> {
  const creds = join(dir, `sim-${sims.length}.json`);
  const child = children.track(execa("node", ["bin/scaletest.js", "sim", "--port", "0", "--credentials-file", creds, ...knobFlags], { reject: false }));
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("listening on")) resolve();
    });
    child.once("exit", () => reject(new Error(`sim exited early: ${out}`)));
  });
  const { url, session_token } = JSON.parse(readFileSync(creds, "utf8")) as { url: string; session_token: string };
  const s = { url, token: session_token, child };
  sims.push(s);
  return s;
}

function scaletest(sim: SimChild, args: string[]) {
  return children.track(
    execa("node", ["bin/scaletest.js", ...args], {
      reject: false,
      env: { CODER_URL: sim.url, CODER_SESSION_TOKEN: sim.token, SCALETEST_STATE_DIR: join(dir, "state"), CODER_CONFIG_DIR: join(dir, "nocfg") },
      extendEnv: false,
    }),
  );
}

/** A read for the test's own checks; a simulator started with --http-5xx-rate may inject a 500 here too, so those are retried. */
async function api<T>(sim: SimChild, path: string): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${sim.url}${path}`, { headers: { "Coder-Session-Token": sim.token } });
    const body = await res.text();
    if (res.status === 500 && body.includes("simulated fault") && attempt < 20) continue;
    expect(res.status, body).toBe(200);
    return JSON.parse(body) as T;
  }
}

async function counts(sim: SimChild) {
  const ws = await api<{ workspaces: unknown[]; count: number }>(sim, "/api/v2/workspaces?q=name:scaletest-&limit=1000");
  const users = await api<{ users: Array<{ email: string }> }>(sim, "/api/v2/users?q=scaletest-&limit=1000");
  return { workspaces: ws.workspaces.length, users: users.users.filter((u) => u.email.endsWith("@scaletest.local")).length };
}

/** Resolves once the ledger in `stateDir` matches `pattern` at least `n` times; driven by file events, not time. */
function ledgerShows(stateDir: string, pattern: RegExp, n: number, child: ResultPromise): Promise<void> {
  const file = join(stateDir, "ledger.jsonl");
  return new Promise<void>((resolve, reject) => {
    let watcher: ReturnType<typeof watch> | undefined;
    let parentWatcher: ReturnType<typeof watch> | undefined;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      watcher?.close();
      parentWatcher?.close();
      if (err) reject(err);
      else resolve();
    };
    const check = () => {
      let text = "";
      try {
        text = readFileSync(file, "utf8");
      } catch {
        return;
      }
      if ((text.match(pattern) ?? []).length >= n) finish();
    };
    const start = () => {
      if (done || watcher) return;
      try {
        watcher = watch(stateDir, check);
      } catch {
        return; // the state dir does not exist yet: the parent's watcher calls again when it appears
      }
      parentWatcher?.close();
      check();
    };
    // Watch the parent first, so the state dir appearing between the two steps is not missed.
    parentWatcher = watch(dirname(stateDir), start);
    start();
    child.once("exit", () => finish(new Error("the command finished before the ledger showed enough progress")));
  });
}

interface Results {
  total_runs: number;
  total_pass: number;
  total_fail: number;
  runs: Record<string, { full_id: string; error: string; logs: string }>;
}

describe("scaletest create-workspaces and cleanup (processes)", () => {
  it("creates 50 workspaces with upstream-shaped JSON results, keeps them with --no-cleanup, and cleanup removes them all", async () => {
    const sim = await startSim();
    const out = join(dir, "results.json");
    const res = await scaletest(sim, ["create-workspaces", "-t", "kubernetes-minimal", "--count", "50", "--concurrency", "10", "--no-cleanup", "--output", `json:${out}`]);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toBe(""); // only a file output was asked for
    expect(res.stderr).toContain("Skipping cleanup");
    expect(res.stderr).not.toContain(sim.token);
    const text = readFileSync(out, "utf8");
    expect(text.endsWith("}\n")).toBe(true);
    expect(text.split("\n")).toHaveLength(2); // one compact line
    expect(text).toMatch(/^\{"total_runs":50,"total_pass":50,"total_fail":0,"elapsed":"[0-9.]+(ms|s)","elapsed_ms":\d+,"runs":\{"workspacebuild\/0":\{"full_id":"workspacebuild\/0","test_name":"workspacebuild","id":"0","logs":"/);
    expect(text).toContain('"error":"\\u003cnil\\u003e"');
    const r = JSON.parse(text) as Results;
    expect(Object.keys(r.runs)).toEqual(Array.from({ length: 50 }, (_, i) => `workspacebuild/${i}`).sort());
    expect(await counts(sim)).toEqual({ workspaces: 50, users: 50 });
    const ledgerFile = join(dir, "state", "ledger.jsonl");
    expect(statSync(ledgerFile).mode & 0o777).toBe(0o600);
    const ledger = readFileSync(ledgerFile, "utf8");
    expect(ledger.match(/"op":"created-workspace"/g)).toHaveLength(50);
    expect(ledger).not.toMatch(/password|session_token|token/i);
    expect(ledger).not.toContain(sim.token);

    const clean = await scaletest(sim, ["cleanup", "--cleanup-concurrency", "10"]);
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(clean.stderr).toContain("Found 50 scaletest workspaces");
    expect(clean.stderr).toContain("Found 50 scaletest users");
    expect(await counts(sim)).toEqual({ workspaces: 0, users: 0 });
  });

  it("with 10% failed builds and 5% HTTP 500s: every job accounted for with the server's message; --retry 3 passes them; cleanup leaves nothing", async () => {
    const sim = await startSim(["--build-failure-rate", "0.1", "--http-5xx-rate", "0.05", "--seed", "42"]);
    const out = join(dir, "faults.json");
    const res = await scaletest(sim, ["create-workspaces", "-t", "kubernetes-minimal", "--count", "30", "--concurrency", "10", "--cleanup-concurrency", "10", "--output", `json:${out}`, "--output", "text"]);
    const r = JSON.parse(readFileSync(out, "utf8")) as Results;
    expect(r.total_runs).toBe(30);
    expect(r.total_pass + r.total_fail).toBe(30);
    expect(r.total_fail).toBeGreaterThan(0);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain("load test failed");
    for (const run of Object.values(r.runs).filter((x) => x.error !== "<nil>")) {
      expect(run.error).toMatch(/unexpected status 500: An internal error occurred.*simulated fault|build failed with status "failed": \S+/);
      expect(res.stdout).toContain(`== FAIL: ${run.full_id}`);
    }
    expect(res.stdout).toContain(`Fail:  ${r.total_fail}`);
    expect(await counts(sim)).toEqual({ workspaces: 0, users: 0 });

    const retried = await scaletest(sim, ["create-workspaces", "-t", "kubernetes-minimal", "--count", "30", "--concurrency", "10", "--cleanup-concurrency", "10", "--retry", "3", "--output", `json:${out}`]);
    const rr = JSON.parse(readFileSync(out, "utf8")) as Results;
    expect(Object.values(rr.runs).filter((x) => x.error !== "<nil>").map((x) => x.error)).toEqual([]);
    expect(retried.exitCode, retried.stderr).toBe(0);
    expect(await counts(sim)).toEqual({ workspaces: 0, users: 0 });
    // Nothing is left for a later cleanup either.
    const clean = await scaletest(sim, ["cleanup"]);
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(clean.stderr).toContain("Found 0 scaletest workspaces");
  });

  it("a create-workspaces killed with SIGKILL mid-run is cleaned up completely by `scaletest cleanup`", async () => {
    const sim = await startSim(["--running", "300ms"]);
    const stateDir = join(dir, "state");
    const run = scaletest(sim, ["create-workspaces", "-t", "kubernetes-minimal", "--count", "40", "--concurrency", "8"]);
    // Wait (on file events, not time) until the ledger shows workspaces announced, then kill without warning.
    await ledgerShows(stateDir, /"op":"create-workspace"/g, 6, run);
    run.kill("SIGKILL");
    const killed = await run;
    expect(killed.signal).toBe("SIGKILL");
    const left = await counts(sim);
    expect(left.users).toBeGreaterThan(0);
    expect(left.workspaces).toBeGreaterThan(0);

    const clean = await scaletest(sim, ["cleanup", "--cleanup-concurrency", "10"]);
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(await counts(sim)).toEqual({ workspaces: 0, users: 0 });
  });

  it("SIGTERM mid-run stops the jobs, still writes the results, and cleans up what was created", async () => {
    const sim = await startSim(["--running", "300ms"]);
    const out = join(dir, "sigterm.json");
    const run = scaletest(sim, ["create-workspaces", "-t", "kubernetes-minimal", "--count", "30", "--concurrency", "5", "--cleanup-concurrency", "10", "--output", `json:${out}`]);
    await ledgerShows(join(dir, "state"), /"op":"created-workspace"/g, 8, run); // some jobs are well under way
    run.kill("SIGTERM");
    const res = await run;
    expect(res.stderr).toContain("Received SIGTERM");
    expect(res.exitCode, res.stderr).toBe(1);
    const r = JSON.parse(readFileSync(out, "utf8")) as Results;
    expect(r.total_runs).toBe(30);
    expect(r.total_pass).toBeGreaterThan(0);
    expect(r.total_fail).toBeGreaterThan(0);
    expect(Object.values(r.runs).filter((x) => x.error !== "<nil>").every((x) => x.error.includes("interrupted by SIGTERM"))).toBe(true);
    expect(res.stderr).toMatch(/Outcomes: ok \d+, failed 0, canceled \d+, timed out 0 \(of 30\)/);
    expect(await counts(sim)).toEqual({ workspaces: 0, users: 0 });
  });
});
