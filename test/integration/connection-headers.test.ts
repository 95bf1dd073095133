// --header / --header-command (CODER_HEADER, CODER_HEADER_COMMAND): every request and every WebSocket upgrade the
// commands make, the `coder ssh --stdio` children's and the dashboard's browsers' included, carries the extra headers;
// their values are never printed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findChromium } from "../../src/browser/chromium.ts";
import { coderShimPath } from "../../src/simulator/coder-shim/index.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";

const FLAG_VALUE = "flag-secret-4f2a9c";
const ENV_VALUE = "env-secret-7d31e0";
const COMMAND_VALUE = "command-secret-b81c55";

interface Seen {
  kind: "http" | "upgrade";
  path: string;
  fromFlag?: string;
  fromCommand?: string;
}

let sim: Simulator;
let dir: string;
const seen: Seen[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "headers-"));
  sim = await startSimulator({
    // Builds run long enough for the logs WebSocket to be followed.
    knobs: { pendingMs: 20, runningMs: 1500, agentConnectDelayMs: 20 },
    onRequest: (req, kind) => {
      const h = (name: string) => (req.headers[name] as string | undefined) ?? undefined;
      seen.push({ kind, path: (req.url ?? "").split("?")[0]!, fromFlag: h("x-proxy-auth"), fromCommand: h("x-from-command") });
    },
  });
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[], env: Record<string, string> = {}) {
  const res = await execa("node", ["bin/scaletest.js", ...args], {
    reject: false,
    extendEnv: false,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: dir,
      CODER_URL: sim.url,
      CODER_SESSION_TOKEN: sim.sessionToken,
      SCALETEST_STATE_DIR: join(dir, "state"),
      CODER_CONFIG_DIR: join(dir, "nocfg"),
      CODER_HEADER_COMMAND: `printf 'X-From-Command=${COMMAND_VALUE}\\n'`,
      ...env,
    },
  });
  return { exitCode: res.exitCode, out: `${res.stdout}\n${res.stderr}` };
}

const TRAFFIC = ["--timeout", "1s", "--job-timeout", "30s", "--tick-interval", "100ms", "--scaletest-prometheus-address", "127.0.0.1:0", "--scaletest-prometheus-wait", "0s", "--concurrency", "0"];

describe("extra headers on every request and upgrade", () => {
  it("create-workspaces, workspace-traffic (terminal, ssh, app), dashboard and cleanup send --header and --header-command headers everywhere", async () => {
    const outputs: string[] = [];
    const run = async (args: string[], env?: Record<string, string>) => {
      const r = await cli(args, env);
      outputs.push(r.out);
      expect(r.exitCode, r.out).toBe(0);
    };
    // --header as a flag; the header command from CODER_HEADER_COMMAND. Build logs and the run command's PTY are upgrades.
    await run(["create-workspaces", "--count", "2", "--template", sim.template.name, "--no-cleanup", "--run-command", "echo hi", "--verbose", "--header", `X-Proxy-Auth=${FLAG_VALUE}`]);
    // The same header through CODER_HEADER (comma-separated, as the coder CLI reads it).
    await run(["workspace-traffic", ...TRAFFIC, "--verbose"], { CODER_HEADER: `X-Proxy-Auth=${FLAG_VALUE},X-Other=1` });
    await run(["workspace-traffic", ...TRAFFIC, "--ssh", "--coder-binary", coderShimPath(), "--header", `X-Proxy-Auth=${FLAG_VALUE}`]);
    await run(["workspace-traffic", ...TRAFFIC, "--app", "wsec", "--resolve", `*.apps.localhost:${sim.port}:127.0.0.1`, "--header", `X-Proxy-Auth=${FLAG_VALUE}`]);
    // The dashboard's REST calls (users, tokens) and every request its browser makes, as the users create-workspaces left.
    const beforeDashboard = seen.length;
    await run(
      ["dashboard", "--target-users", "0:1", "--interval", "1s", "--jitter", "0s", "--concurrency", "0", "--job-timeout", "4s",
        "--scaletest-prometheus-address", "127.0.0.1:0", "--scaletest-prometheus-wait", "0s", "--run-dir", dir, "--verbose", "--header", `X-Proxy-Auth=${FLAG_VALUE}`],
      { SCALETEST_CHROMIUM_PATH: findChromium() },
    );
    const dashboard = seen.slice(beforeDashboard).map((s) => s.path);
    expect(dashboard.some((p) => /^\/api\/v2\/users\/[^/]+\/keys\/tokens$/.test(p))).toBe(true);
    // The browser's own requests: the dashboard page it signs in to.
    expect(dashboard.some((p) => p === "/workspaces")).toBe(true);
    await run(["cleanup", "--header", `X-Proxy-Auth=${FLAG_VALUE}`]);

    const upgrades = seen.filter((s) => s.kind === "upgrade").map((s) => s.path);
    // Every kind of upgrade happened: build logs, web terminal, the ssh shim's tunnel, the app.
    expect(upgrades.some((p) => /\/workspacebuilds\/[^/]+\/logs$/.test(p))).toBe(true);
    expect(upgrades.some((p) => /\/workspaceagents\/[^/]+\/pty$/.test(p))).toBe(true);
    expect(upgrades.some((p) => /\/workspaceagents\/[^/]+\/sim-ssh$/.test(p))).toBe(true);
    // A subdomain app's upgrade is for `/` on the app host.
    expect(seen.filter((s) => s.kind === "upgrade" && s.path === "/").length).toBeGreaterThanOrEqual(2);
    // The ssh children's own REST calls were seen too (workspace lookup by owner and name).
    expect(seen.some((s) => s.kind === "http" && /\/users\/[^/]+\/workspace\/[^/]+$/.test(s.path))).toBe(true);
    expect(seen.length).toBeGreaterThan(40);
    const missing = seen.filter((s) => s.fromFlag !== FLAG_VALUE || s.fromCommand !== COMMAND_VALUE).map((s) => `${s.kind} ${s.path}`);
    expect(missing).toEqual([]);
    // Values never printed, not even with --verbose.
    for (const out of outputs) {
      expect(out).not.toContain(FLAG_VALUE);
      expect(out).not.toContain(COMMAND_VALUE);
    }
  });

  it("scaletest run hands the headers to the staged run's env (CODER_HEADER beside CODER_URL): its dry-run checks carry them", async () => {
    const mark = seen.length;
    const r = await cli(["run", "--dry-run", "--num-workspaces", "1", "--template", sim.template.name, "--header", `X-Proxy-Auth=${FLAG_VALUE}`]);
    expect(r.exitCode, r.out).toBe(0);
    const calls = seen.slice(mark);
    expect(calls.length).toBeGreaterThan(2);
    expect(calls.filter((s) => s.fromFlag !== FLAG_VALUE || s.fromCommand !== COMMAND_VALUE).map((s) => s.path)).toEqual([]);
    expect(r.out).not.toContain(FLAG_VALUE);
  });

  it("refuses a malformed header or a failing header command with exit 2, naming the flag and not the value", async () => {
    const bad = await cli(["create-workspaces", "--count", "1", "--template", sim.template.name, "--header", `NoEquals${ENV_VALUE}`]);
    expect(bad.exitCode).toBe(2);
    expect(bad.out).toMatch(/validate --header: entry 1 must be key=value/);
    expect(bad.out).not.toContain(ENV_VALUE);
    const failing = await cli(["cleanup"], { CODER_HEADER_COMMAND: `echo ${ENV_VALUE}; exit 3` });
    expect(failing.exitCode).toBe(2);
    expect(failing.out).toMatch(/validate --header-command: exited with status 3/);
    expect(failing.out).not.toContain(ENV_VALUE);
  });
});
