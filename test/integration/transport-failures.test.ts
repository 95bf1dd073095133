// Every traffic transport failing in every way it can: the job fails with a message, the process lives on to
// write the results JSON (listing the failed jobs) and exits 1; nothing crashes it (no unheard `error` event,
// no unhandled rejection). Also the build-logs WebSocket during create-workspaces.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { performance } from "node:perf_hooks";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coderShimPath } from "../../src/simulator/coder-shim/index.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";

type UpgradeFault = "pass" | "reset-before" | "bad-status" | "reset-after" | "stall";

/** An HTTP proxy in front of the simulator: REST passes through, WebSocket upgrades fail as `fault` says. */
async function faultyProxy(target: Simulator): Promise<{ url: string; fault: UpgradeFault; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { fault: "pass" as UpgradeFault };
  const server: Server = createServer((req, res) => {
    const up = request({ host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r: IncomingMessage) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("upgrade", (req: IncomingMessage, client: Socket, head: Buffer) => {
    client.on("error", () => {});
    if (state.fault === "reset-before") return void client.resetAndDestroy();
    if (state.fault === "stall") return; // accepted, never answered
    if (state.fault === "bad-status") return void client.end("HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nbad gateway");
    const upstream = connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (head.length) upstream.write(head);
    if (state.fault === "reset-after") {
      // Let the upgrade and a little traffic through, then cut the connection with a reset.
      upstream.once("data", () => setTimeout(() => (client.resetAndDestroy(), upstream.destroy()), 300));
    }
    upstream.pipe(client);
    client.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get fault() {
      return state.fault;
    },
    set fault(f: UpgradeFault) {
      state.fault = f;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

let sim: Simulator;
let proxy: Awaited<ReturnType<typeof faultyProxy>>;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "transport-faults-"));
  // Builds run long enough for the logs WebSocket to be followed.
  sim = await startSimulator({ knobs: { pendingMs: 20, runningMs: 1500, agentConnectDelayMs: 20 } });
  proxy = await faultyProxy(sim);
  // The wildcard app host names the proxy's port; --resolve sends those names to the proxy on loopback.
  sim.setKnobs({ appHost: `*.apps.localhost:${new URL(proxy.url).port}` });
  const made = await cli(sim.url, ["create-workspaces", "--count", "2", "--template", sim.template.name, "--no-cleanup", "--concurrency", "0"]);
  expect(made.exitCode, made.out).toBe(0);
});
afterAll(async () => {
  await proxy.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(url: string, args: string[], onStderr?: (text: string) => void): Promise<{ exitCode: number | undefined; out: string }> {
  const child = execa("node", ["bin/scaletest.js", ...args], {
    reject: false,
    extendEnv: false,
    env: { PATH: process.env.PATH ?? "", HOME: dir, CODER_URL: url, CODER_SESSION_TOKEN: sim.sessionToken, SCALETEST_STATE_DIR: join(dir, "state"), CODER_CONFIG_DIR: join(dir, "nocfg") },
  });
  if (onStderr) child.stderr?.on("data", (d: Buffer) => onStderr(d.toString()));
  const res = await child;
  return { exitCode: res.exitCode, out: `${res.stdout}\n${res.stderr}` };
}

let n = 0;
/** Runs workspace-traffic through the proxy; returns the exit code, output and parsed results JSON. */
async function traffic(extra: string[], duration = "1s", onStderr?: (text: string) => void) {
  const out = join(dir, `results-${++n}.json`);
  const r = await cli(proxy.url, [
    "workspace-traffic", "--timeout", duration, "--job-timeout", "60s", "--concurrency", "0", "--tick-interval", "100ms",
    "--scaletest-prometheus-address", "127.0.0.1:0", "--scaletest-prometheus-wait", "0s", "--output", `json:${out}`, ...extra,
  ], onStderr);
  let results: { total_runs: number; total_fail: number; runs: Record<string, { error: string }> } | undefined;
  try {
    results = JSON.parse(readFileSync(out, "utf8"));
  } catch {
    results = undefined;
  }
  return { ...r, results, resultsPath: out };
}

/** The process ended on its own terms: no crash trace, results written, every job listed and failed. */
function expectAllFailed(r: Awaited<ReturnType<typeof traffic>>, message: RegExp) {
  expect(r.out).not.toMatch(/Unhandled|uncaught|ERR_UNHANDLED|node:events/i);
  expect(r.exitCode, r.out).toBe(1);
  expect(r.results, r.out).toBeDefined();
  expect(r.results!.total_runs).toBe(2);
  expect(r.results!.total_fail).toBe(2);
  for (const run of Object.values(r.results!.runs)) expect(run.error).toMatch(message);
}

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const APP = () => ["--app", "wsec", "--resolve", `*.apps.localhost:${new URL(proxy.url).port}:127.0.0.1`];

describe("web terminal and app dials that fail", () => {
  for (const [fault, message] of [
    ["reset-before", /websocket dial: .*(ECONNRESET|socket hang up)/],
    ["bad-status", /websocket dial: unexpected status 502/],
    ["reset-after", /ECONNRESET|websocket closed with status 1006|read/i],
  ] as const) {
    it(`web terminal: ${fault}`, async () => {
      proxy.fault = fault;
      expectAllFailed(await traffic([], fault === "reset-after" ? "3s" : "1s"), message);
    });
    it(`app (wsec): ${fault}`, async () => {
      proxy.fault = fault;
      expectAllFailed(await traffic(APP(), fault === "reset-after" ? "3s" : "1s"), message);
    });
  }

  // A stall: the proxy accepts the connection and the upgrade request, and never answers.
  for (const [name, flags] of [["web terminal", () => []], ["app (wsec)", APP]] as const) {
    it(`${name}: stall: the job ends at --job-timeout with a deadline error, results written, no hang`, async () => {
      proxy.fault = "stall";
      const t0 = performance.now();
      const r = await traffic([...flags(), "--job-timeout", "3s"]);
      expectAllFailed(r, /deadline exceeded/);
      expect(performance.now() - t0).toBeLessThan(20_000);
    });
    it(`${name}: stall: each handshake ends at --request-timeout and is retried, then the job fails naming the timeout`, async () => {
      proxy.fault = "stall";
      const r = await traffic([...flags(), "--request-timeout", "1s"]);
      expectAllFailed(r, /websocket dial: .*handshake has timed out/i);
      // 3 retries after the first attempt, each in the job's log.
      const logs = Object.values((JSON.parse(readFileSync(r.resultsPath, "utf8")) as { runs: Record<string, { logs: string }> }).runs).map((x) => x.logs);
      for (const l of logs) expect(l.match(/retry websocket after \S+ \(attempt \d\)/g)).toHaveLength(3);
    });
  }

  it("passes through the same proxy when nothing fails (the faults above are the only cause)", async () => {
    proxy.fault = "pass";
    const r = await traffic(APP());
    expect(r.exitCode, r.out).toBe(0);
    expect(r.results!.total_fail).toBe(0);
  });
});

describe("coder ssh --stdio children that fail", () => {
  it("a child that exits non-zero before the handshake (agent not connected)", async () => {
    const bin = script("coder-early-exit", 'echo "agent is not connected" >&2\nexit 1');
    expectAllFailed(await traffic(["--ssh", "--coder-binary", bin]), /coder ssh --stdio exited \(1\) before the SSH handshake: agent is not connected \(after 3 attempts\)/);
  });

  it("a child that writes garbage instead of an SSH greeting, then exits (ssh2 reports errors twice)", async () => {
    const bin = script("coder-garbage", "printf 'HTTP/1.1 502 Bad Gateway\\r\\n\\r\\n'\nsleep 0.2\nexit 0");
    expectAllFailed(await traffic(["--ssh", "--coder-binary", bin]), /connect to workspace via ssh/);
  });

  it("a child killed mid-run", async () => {
    // The tunnel records its pid; once both jobs say they are connected (their sessions run), each is SIGKILLed.
    const pids = join(dir, "tunnel-pids");
    const bin = script("coder-killed", `echo $$ >> "${pids}"\nexec node ${coderShimPath()} "$@"`);
    let connected = 0;
    let killed = 0;
    const onStderr = (text: string) => {
      connected += text.split("Connected; sending traffic.").length - 1;
      if (connected < 2 || killed > 0) return;
      for (const pid of readFileSync(pids, "utf8").trim().split("\n")) {
        try {
          process.kill(Number(pid), "SIGKILL");
          killed++;
        } catch {
          // a tunnel from a retried start that already ended
        }
      }
    };
    const r = await traffic(["--ssh", "--coder-binary", bin, "--verbose"], "20s", onStderr);
    expect(killed).toBeGreaterThanOrEqual(2);
    // The read side or the ssh client notices first, depending on timing; either way the job names the lost connection.
    expectAllFailed(r, /read from agent|ssh connection closed unexpectedly|ssh session closed/i);
  });

  it("a coder binary that does not exist fails at once, without retries", async () => {
    const r = await traffic(["--ssh", "--coder-binary", join(dir, "no-such-coder")]);
    expectAllFailed(r, /start .*no-such-coder: spawn .* ENOENT/);
    for (const run of Object.values(r.results!.runs)) expect(run.error).not.toMatch(/attempts/);
  });
});

describe("build-logs WebSocket that fails during create-workspaces", () => {
  it("stall (the upgrade is accepted and never answered): the logs dial ends at --request-timeout and the builds are polled", async () => {
    proxy.fault = "stall";
    const out = join(dir, "create-stall.json");
    const r = await cli(proxy.url, ["create-workspaces", "--count", "1", "--template", sim.template.name, "--request-timeout", "2s", "--verbose", "--output", `json:${out}`]);
    expect(r.exitCode, r.out).toBe(0);
    expect(r.out).toMatch(/logs stream unavailable \(.*(handshake has timed out|timed out).*\); polling the build instead/i);
    expect(JSON.parse(readFileSync(out, "utf8")).total_fail).toBe(0);
  });

  for (const fault of ["reset-before", "bad-status", "reset-after"] as const) {
    it(`${fault}: the builds are polled instead, the jobs pass, and the run's own cleanup removes what it made`, async () => {
      proxy.fault = fault;
      const out = join(dir, `create-${fault}.json`);
      const live = () => [...sim.state.workspaces.values()].filter((w) => !w.deleted).length;
      const before = live();
      const r = await cli(proxy.url, ["create-workspaces", "--count", "2", "--template", sim.template.name, "--concurrency", "0", "--verbose", "--output", `json:${out}`]);
      expect(r.out).not.toMatch(/Unhandled|uncaught|node:events/i);
      expect(r.exitCode, r.out).toBe(0);
      const results = JSON.parse(readFileSync(out, "utf8"));
      expect(results.total_runs).toBe(2);
      expect(results.total_fail).toBe(0);
      if (fault !== "reset-after") expect(r.out).toMatch(/logs stream unavailable \(.*\); polling the build instead/);
      expect(live()).toBe(before);
    });
  }
});
