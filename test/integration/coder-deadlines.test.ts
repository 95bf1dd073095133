// A deployment that accepts connections and never answers ends a command within the request deadline; one that
// refuses connections for a while (coderd restarting) is waited out, inside the caller's own timeout; transient
// answers are retried and counted.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CoderClient } from "../../src/coder/client.ts";
import { CoderConnectionError, CoderTimeoutError } from "../../src/coder/errors.ts";
import type { RetryEvent } from "../../src/coder/retry.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/** A TCP server on loopback that accepts every connection and never says a word. */
async function silentServer(): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A port nothing listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "deadlines-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[], env: Record<string, string>) {
  const t0 = Date.now();
  const res = await execa("node", ["bin/scaletest.js", ...args], {
    reject: false,
    extendEnv: false,
    env: { PATH: process.env.PATH ?? "", HOME: dir, SCALETEST_STATE_DIR: join(dir, "state"), CODER_CONFIG_DIR: join(dir, "nocfg"), ...env },
  });
  return { exitCode: res.exitCode, out: `${res.stdout}\n${res.stderr}`, ms: Date.now() - t0 };
}

describe("request deadline", () => {
  it("ends a request to a silent deployment with CoderTimeoutError within the deadline", async () => {
    const url = await silentServer();
    const client = new CoderClient({ url, token: "x", requestTimeoutMs: 500 });
    const t0 = Date.now();
    const err = await client.buildInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoderTimeoutError);
    expect((err as Error).message).toBe("GET /api/v2/buildinfo: no answer from the deployment within 0.5s (--request-timeout)");
    // Not retried: one deadline, not five.
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it("counts a body that stalls after the headers against the deadline", async () => {
    const server = createHttpServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write('{"version":');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))));
    const client = new CoderClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requestTimeoutMs: 500 });
    await expect(client.buildInfo()).rejects.toBeInstanceOf(CoderTimeoutError);
  });

  for (const command of [["create-workspaces", "--count", "1", "--template", "kubernetes-minimal"], ["cleanup"]]) {
    it(`${command[0]} against a silent deployment ends with a clear error within the bound`, async () => {
      const url = await silentServer();
      const r = await cli([...command, "--request-timeout", "2s"], { CODER_URL: url, CODER_SESSION_TOKEN: "x" });
      expect(r.exitCode, r.out).toBe(2);
      expect(r.out).toMatch(/validate --request-timeout: .* accepted the connection but did not answer: GET \/api\/v2\/users\/me: no answer from the deployment within 2s/);
      // 2 s of deadline plus starting Node on a loaded machine.
      expect(r.ms).toBeLessThan(15_000);
    });
  }

  it("reads the deadline from CODER_SCALETEST_REQUEST_TIMEOUT and refuses one out of range, naming it", async () => {
    const url = await silentServer();
    const viaEnv = await cli(["cleanup"], { CODER_URL: url, CODER_SESSION_TOKEN: "x", CODER_SCALETEST_REQUEST_TIMEOUT: "1s" });
    expect(viaEnv.exitCode).toBe(2);
    expect(viaEnv.out).toMatch(/within 1s/);
    const bad = await cli(["cleanup", "--request-timeout", "2h"], { CODER_URL: url, CODER_SESSION_TOKEN: "x" });
    expect(bad.exitCode).toBe(2);
    expect(bad.out).toMatch(/validate --request-timeout: must be 0 \(no deadline\) or from 1s to 1h, got 7200s/);
  });
});

describe("transient answers", () => {
  it("workspace-traffic rides out 20% HTTP 500s and 5% 429s in target selection and in every dial", async () => {
    const sim = await startSimulator({ knobs: { pendingMs: 20, runningMs: 100, agentConnectDelayMs: 20, seed: 7 } });
    closers.push(() => sim.close());
    const env = { CODER_URL: sim.url, CODER_SESSION_TOKEN: sim.sessionToken };
    const made = await cli(["create-workspaces", "--count", "4", "--concurrency", "0", "--template", sim.template.name, "--no-cleanup"], env);
    expect(made.exitCode, made.out).toBe(0);
    sim.setKnobs({ http5xxRate: 0.2, http429Rate: 0.05 });
    const mark = sim.requests.length;
    const out = join(dir, "traffic-5xx.json");
    const r = await cli(
      ["workspace-traffic", "--timeout", "1s", "--job-timeout", "60s", "--concurrency", "0", "--tick-interval", "100ms", "--scaletest-prometheus-address", "127.0.0.1:0", "--scaletest-prometheus-wait", "0s", "--output", `json:${out}`],
      env,
    );
    const faults = sim.requests.slice(mark).filter((q) => q.status === 500 || q.status === 429);
    expect(faults.length).toBeGreaterThan(0);
    expect(r.exitCode, r.out).toBe(0);
    const results = JSON.parse(readFileSync(out, "utf8")) as { total_runs: number; total_fail: number; runs: Record<string, { logs: string }> };
    expect([results.total_runs, results.total_fail]).toEqual([4, 0]);
    // Every fault a dial met was retried, and each retry is a line in its job's log in the results.
    const dialFaults = faults.filter((q) => q.path.endsWith("/pty")).length;
    const logged = Object.values(results.runs).flatMap((run) => run.logs.match(/retry websocket after (500|429) \(attempt \d\)/g) ?? []).length;
    expect(logged).toBe(dialFaults);
    // The command's total (selection and dials) counts them too.
    expect(Number(/Retries: (\d+) \(/.exec(r.out)?.[1] ?? 0)).toBeGreaterThanOrEqual(dialFaults);
  });
});

describe("long durations", () => {
  it("create-workspaces with --timeout 600h --job-timeout 600h runs its jobs (they used to time out after 1 ms)", async () => {
    const sim = await startSimulator({ knobs: { pendingMs: 20, runningMs: 100, agentConnectDelayMs: 20 } });
    closers.push(() => sim.close());
    const r = await cli(["create-workspaces", "--count", "2", "--concurrency", "0", "--template", sim.template.name, "--timeout", "600h", "--job-timeout", "600h", "--cleanup-timeout", "600h"], {
      CODER_URL: sim.url,
      CODER_SESSION_TOKEN: sim.sessionToken,
    });
    expect(r.exitCode, r.out).toBe(0);
    expect(r.out).not.toMatch(/TimeoutOverflowWarning|deadline exceeded/);
    expect([...sim.state.workspaces.values()].filter((w) => !w.deleted)).toEqual([]);
  });
});

describe("a refused deployment (coderd restarting)", () => {
  it("fails at once without a refusal window, and rides out the refusal with one", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    await expect(new CoderClient({ url }).buildInfo()).rejects.toBeInstanceOf(CoderConnectionError);

    const retries: RetryEvent[] = [];
    const client = new CoderClient({ url, retry: { refusedWindowMs: 20_000, baseDelayMs: 50 }, onRetry: (e) => retries.push(e) });
    const started = Date.now();
    let sim: Simulator | undefined;
    const late = setTimeout(() => void startSimulator({ port }).then((s) => (sim = s)), 1_500);
    closers.push(async () => (clearTimeout(late), await sim?.close()));
    const info = await client.buildInfo();
    expect(info.version).toMatch(/sim/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((r) => r.kind === "rest" && r.reason === "ECONNREFUSED")).toBe(true);
  });

  it("gives up when the window is spent, and a signal ends the wait sooner", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const t0 = Date.now();
    await expect(new CoderClient({ url, retry: { refusedWindowMs: 800, baseDelayMs: 50 } }).buildInfo()).rejects.toBeInstanceOf(CoderConnectionError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(800);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error("stop")), 300);
    await expect(new CoderClient({ url, retry: { refusedWindowMs: 60_000 } }).buildInfo({ signal: ctl.signal })).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it("scaletest cleanup rides out a restart in the middle of deleting", async () => {
    const sim = await startSimulator({ knobs: { pendingMs: 20, runningMs: 300, agentConnectDelayMs: 20 } });
    closers.push(() => sim.close());
    const proxy = await restartableProxy(sim.port);
    closers.push(() => proxy.close());
    const env = { CODER_URL: proxy.url, CODER_SESSION_TOKEN: sim.sessionToken };
    const made = await cli(["create-workspaces", "--count", "3", "--template", sim.template.name, "--no-cleanup", "--concurrency", "0"], env);
    expect(made.exitCode, made.out).toBe(0);
    // The first delete build takes coderd down for 3 s (every connection refused), then it comes back.
    let outage: Promise<void> | undefined;
    const stopAt = sim.state.builds.size;
    const timer = setInterval(() => {
      if (!outage && sim.state.builds.size > stopAt) outage = proxy.down(3_000);
    }, 20);
    closers.push(async () => clearInterval(timer));
    const r = await cli(["cleanup", "--cleanup-concurrency", "0"], env);
    expect(outage).toBeDefined();
    expect(r.exitCode, r.out).toBe(0);
    expect([...sim.state.workspaces.values()].filter((w) => !w.deleted)).toEqual([]);
    expect([...sim.state.users.values()].filter((u) => !u.deleted).map((u) => u.username)).toEqual([sim.owner.username]);
  });
});

/** A TCP proxy that can go down (listener closed, connections cut: refused) and come back on the same port. */
async function restartableProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = connect(targetPort, "127.0.0.1");
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  };
  const stop = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  await listen();
  return {
    url: `http://127.0.0.1:${port}`,
    async down(ms: number) {
      await stop();
      await new Promise((r) => setTimeout(r, ms));
      await listen();
    },
    close: stop,
  };
}
