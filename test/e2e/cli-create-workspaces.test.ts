// End to end: `scaletest sim` and `scaletest create-workspaces` / `cleanup` as real processes. Upstream-shaped
// results, faults accounted for, --retry, and a SIGKILLed run cleaned up through the ledger.
import { watch } from "node:fs";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

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
afterEach(async () => {
  for (const s of sims) {
    s.child.kill("SIGTERM");
    await s.child.catch(() => undefined);
  }
  sims = [];
  rmSync(dir, { recursive: true, force: true });
});

/** Spawns `scaletest sim` and resolves once its credentials file is written. */
async function startSim(knobFlags: string[] = []): Promise<SimChild> {
  const creds = join(dir, `sim-${sims.length}.json`);
  const child = execa("node", ["bin/scaletest.js", "sim", "--port", "0", "--credentials-file", creds, ...knobFlags], { reject: false });
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
  return execa("node", ["bin/scaletest.js", ...args], {
    reject: false,
    env: { CODER_URL: sim.url, CODER_SESSION_TOKEN: sim.token, SCALETEST_STATE_DIR: join(dir, "state"), CODER_CONFIG_DIR: join(dir, "nocfg") },
    extendEnv: false,
  });
}

async function api<T>(sim: SimChild, path: string): Promise<T> {
  const res = await fetch(`${sim.url}${path}`, { headers: { "Coder-Session-Token": sim.token } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

async function counts(sim: SimChild) {
  const ws = await api<{ workspaces: unknown[]; count: number }>(sim, "/api/v2/workspaces?q=name:scaletest-&limit=1000");
  const users = await api<{ users: Array<{ email: string }> }>(sim, "/api/v2/users?q=scaletest-&limit=1000");
  return { workspaces: ws.workspaces.length, users: users.users.filter((u) => u.email.endsWith("@scaletest.local")).length };
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
    const ledgerFile = join(stateDir, "ledger.jsonl");
    const run = scaletest(sim, ["create-workspaces", "-t", "kubernetes-minimal", "--count", "40", "--concurrency", "8"]);
    // Wait (on file events, not time) until the ledger shows workspaces announced, then kill without warning.
    await new Promise<void>((resolve, reject) => {
      let watcher: ReturnType<typeof watch> | undefined;
      const check = () => {
        let text = "";
        try {
          text = readFileSync(ledgerFile, "utf8");
        } catch {
          return;
        }
        if ((text.match(/"op":"create-workspace"/g) ?? []).length >= 6) {
          watcher?.close();
          resolve();
        }
      };
      const start = () => {
        try {
          watcher = watch(stateDir, check);
          check();
        } catch {
          setImmediate(start); // the state dir does not exist yet
        }
      };
      start();
      run.once("exit", () => reject(new Error("create-workspaces finished before it was killed")));
    });
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
});
