// --dial-concurrency: every job starts at once, but at most N connections are being opened at a time, in one
// thread or split over worker threads; the jobs then pass as usual.
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { Harness } from "../../../src/harness/harness.ts";
import { concurrent } from "../../../src/harness/strategies.ts";
import { createRegistry, TrafficMetrics } from "../../../src/metrics/registry.ts";
import { RunnerHealth } from "../../../src/metrics/health.ts";
import { defaultWorkspaceTrafficConfig, validateWorkspaceTrafficConfig } from "../../../src/scenarios/workspace-traffic/config.ts";
import { phaseDialGate, WorkspaceTrafficRunner, type TrafficContext } from "../../../src/scenarios/workspace-traffic/runner.ts";
import type { TrafficTarget } from "../../../src/scenarios/workspace-traffic/select.ts";
import { startTrafficWorkers, workerDataFor, type TrafficWorkers } from "../../../src/scenarios/workspace-traffic/workers.ts";
import { DialGate } from "../../../src/traffic/dial-gate.ts";
import { tightHeapGrowthHolders } from "../../../src/util/heap-growth.ts";
import { Scheduler } from "../../../src/traffic/scheduler.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/**
 * A terminal whose upgrades wait until the test answers them, oldest first. Counts the TCP connections it
 * accepted, so a test can tell how many dials were started.
 */
async function heldTerminal() {
  const wss = new WebSocketServer({ noServer: true });
  const pending: Array<{ req: IncomingMessage; socket: Duplex; head: Buffer }> = [];
  let accepted = 0;
  let maxPending = 0;
  let changed: (() => void) | undefined;
  const server: Server = createServer((_q, r) => r.end());
  server.on("connection", () => {
    accepted++;
    changed?.();
  });
  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => {});
    pending.push({ req, socket, head });
    maxPending = Math.max(maxPending, pending.length);
    changed?.();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const sockets: Socket[] = [];
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        for (const s of sockets) s.destroy();
        for (const p of pending) p.socket.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  /** Resolves once `test()` holds, re-checked on every accept and upgrade. */
  const until = async (test: () => boolean) => {
    while (!test()) await new Promise<void>((r) => (changed = r));
    changed = undefined;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    get pending() {
      return pending.length;
    },
    get accepted() {
      return accepted;
    },
    get maxPending() {
      return maxPending;
    },
    until,
    /** Completes the oldest held upgrade as the web terminal: echoes each frame's data, Ctrl+C ends with 1000. */
    answerOne() {
      const p = pending.shift()!;
      wss.handleUpgrade(p.req, p.socket, p.head, (ws) =>
        ws.on("message", (msg: Buffer) => {
          const { data } = JSON.parse(msg.toString("latin1")) as { data: string };
          if (data === "\u0003") return ws.close(1000);
          ws.send(Buffer.from(data.replace(/\n/g, "\r\n"), "latin1"));
        }),
      );
    },
    /**
     * Opens one more TCP connection of its own and waits until the server accepted it. Loopback accepts in connect
     * order, so every dial a job had started before this one has been accepted by then.
     */
    async sentinel() {
      const before = accepted;
      const s = connect(port, "127.0.0.1");
      sockets.push(s);
      s.on("error", () => {});
      await until(() => accepted > before);
      return accepted - before - 1; // accepts other than the sentinel's own
    },
  };
}

function targets(n: number): TrafficTarget[] {
  return Array.from({ length: n }, (_, i) => ({
    index: i,
    workspace: { id: randomUUID(), name: `scaletest-ws-${i}`, owner_name: "scaletest-owner" },
    agent: { id: randomUUID(), name: "main" },
  }));
}

/** Answers the held upgrades one at a time until `total` were answered; exactly `limit` wait each time (fewer at the end). */
async function answerAll(srv: Awaited<ReturnType<typeof heldTerminal>>, total: number, limit: number): Promise<void> {
  for (let answered = 0; answered < total; answered++) {
    await srv.until(() => srv.pending === Math.min(limit, total - answered));
    // Nothing beyond the limit was dialled meanwhile.
    expect(await srv.sentinel()).toBe(0);
    expect(srv.pending).toBe(Math.min(limit, total - answered));
    srv.answerOne();
  }
}

const cfg = { ...defaultWorkspaceTrafficConfig, bytesPerTick: 64, tickIntervalMs: 10, durationMs: 30 };

describe("--dial-concurrency", () => {
  it("starts every job at once but opens at most N connections at a time; all jobs then pass", async () => {
    const srv = await heldTerminal();
    const registry = createRegistry();
    const scheduler = new Scheduler();
    cleanups.push(() => scheduler.close());
    const ctx: TrafficContext = { cfg: { ...cfg, dialConcurrency: 2 }, url: new URL(srv.url), token: "test-token-123", scheduler, traffic: new TrafficMetrics(registry), dialGate: new DialGate(2, { lingerMs: 600_000 }) };
    const harness = new Harness({ strategy: concurrent(0) });
    const runs = targets(6).map((t) => harness.addRun("workspace-traffic", String(t.index), new WorkspaceTrafficRunner(t, ctx)));
    const running = harness.run(new AbortController().signal);

    await srv.until(() => srv.pending === 2);
    // The four waiting jobs have started, but not their dial, nor said so in their logs.
    expect(runs.every((r) => r.started)).toBe(true);
    expect(runs.filter((r) => r.log.toString().includes("Connecting to workspace"))).toHaveLength(2);
    await answerAll(srv, 6, 2);
    await running;

    const results = harness.results();
    expect(results.total_pass, JSON.stringify(results.runs)).toBe(6);
    expect(srv.maxPending).toBe(2);
    for (const r of Object.values(results.runs)) expect(r.logs).toMatch(/Done: \d+ ticks written, 0 skipped, \d+ echoes verified/);
  });

  it("hands each worker thread its share of N, so the phase as a whole keeps to it", () => {
    const o = { count: 3, cfg: { ...cfg, dialConcurrency: 200 }, url: new URL("http://127.0.0.1:1"), token: "t", perWorkspaceLabels: true, registry: createRegistry(), testName: "workspace-traffic" };
    expect([0, 1, 2].map((i) => workerDataFor(i, o, [], 3).cfg.dialConcurrency)).toEqual([67, 67, 67]);
    expect(workerDataFor(0, { ...o, cfg: { ...cfg, dialConcurrency: 0 } }, [], 3).cfg.dialConcurrency).toBe(0);
    expect(o.cfg.dialConcurrency).toBe(200);
  });

  it("runs gated jobs in worker threads to the end", async () => {
    const srv = await heldTerminal();
    const registry = createRegistry();
    new RunnerHealth(registry);
    new TrafficMetrics(registry);
    const ts = targets(6);
    const runs = ts.map((t) => ({ testName: "workspace-traffic", id: String(t.index), target: t }));
    const pool: TrafficWorkers = await startTrafficWorkers(runs, {
      count: 2,
      cfg: { ...cfg, dialConcurrency: 2 },
      url: new URL(srv.url),
      token: "test-token-123",
      perWorkspaceLabels: true,
      registry,
      testName: "workspace-traffic",
    });
    cleanups.push(() => pool.close());
    const harness = new Harness({ strategy: concurrent(0) });
    for (const r of pool.runs) harness.addRun(r.testName, r.id, r.runner);
    const running = harness.run(new AbortController().signal);
    let answered = 0;
    while (answered < 6) {
      await srv.until(() => srv.pending > 0);
      srv.answerOne();
      answered++;
    }
    await running;
    expect(harness.results().total_pass).toBe(6);
  });

  it("gives a phase a gate of --dial-concurrency that holds the heap's growth tight while its dials run", async () => {
    const gate = phaseDialGate(3);
    expect(gate.limit).toBe(3);
    const before = tightHeapGrowthHolders();
    const release = await gate.acquire();
    expect(tightHeapGrowthHolders()).toBe(before + 1);
    release();
    expect(tightHeapGrowthHolders()).toBe(before);
  });

  it("names the flag and its range for a value out of range", () => {
    for (const bad of [-1, 1.5, 100_001]) {
      expect(validateWorkspaceTrafficConfig({ ...defaultWorkspaceTrafficConfig, dialConcurrency: bad })).toEqual([
        { path: "--dial-concurrency", message: `must be an integer from 0 (no limit) to 100000, got ${bad}` },
      ]);
    }
    expect(validateWorkspaceTrafficConfig({ ...defaultWorkspaceTrafficConfig, dialConcurrency: 0 })).toEqual([]);
  });
});
