import { afterEach, describe, expect, it } from "vitest";
import { once } from "node:events";
import { performance } from "node:perf_hooks";
import type { RetryEvent } from "../../../src/coder/retry.ts";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { countingConn, type ConnMetrics } from "../../../src/traffic/conn.ts";
import { runTrafficJob, type SkipReason } from "../../../src/traffic/job.ts";
import { makePayload, terminalEcho } from "../../../src/traffic/payload.ts";
import { parseResolve } from "../../../src/traffic/resolve.ts";
import { openApp } from "../../../src/traffic/app.ts";
import { openRpty } from "../../../src/traffic/rpty.ts";
import { Scheduler } from "../../../src/traffic/scheduler.ts";
import { ManualClock } from "../../helpers/manual-clock.ts";

/** A ConnMetrics that keeps totals, as tests read them. */
function collectingMetrics() {
  const m = { read: 0, written: 0, readErrors: 0, writeErrors: 0, readLat: 0, writeLat: 0, rtt: [] as number[] };
  const metrics: ConnMetrics = {
    addRead: (n) => (m.read += n),
    addWritten: (n) => (m.written += n),
    readError: () => m.readErrors++,
    writeError: () => m.writeErrors++,
    observeReadLatency: () => m.readLat++,
    observeWriteLatency: () => m.writeLat++,
    observeRoundTrip: (s) => m.rtt.push(s),
  };
  return { m, metrics };
}

type Behaviour = (ws: WebSocket, path: string, host: string | undefined) => void;

const servers: WebSocketServer[] = [];
let sched: Scheduler;
afterEach(async () => {
  sched?.close();
  for (const s of servers.splice(0)) {
    for (const c of s.clients) c.terminate();
    await new Promise((r) => s.close(r));
  }
});

async function serve(behaviour: Behaviour): Promise<string> {
  // The server's 32 KiB message limit, as coderd's: a bigger message closes with 1009.
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, maxPayload: 32_768 });
  servers.push(wss);
  wss.on("connection", (ws, req) => behaviour(ws, req.url ?? "", req.headers.host));
  await once(wss, "listening");
  return `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

/** A terminal: concatenated JSON objects in, their data echoed with \n -> \r\n; Ctrl+C echoes ^C and ends the session. */
function pty(mutate?: (out: Buffer) => void): Behaviour {
  return (ws) => {
    let pending = "";
    ws.on("message", (msg: Buffer) => {
      pending += msg.toString("latin1");
      let nl: number;
      while ((nl = pending.indexOf("}\n")) >= 0) {
        const obj = JSON.parse(pending.slice(0, nl + 1)) as { data?: string };
        pending = pending.slice(nl + 2);
        if (obj.data === "\u0003") {
          ws.send(Buffer.from("^C"));
          ws.close(1000);
          return;
        }
        const out = Buffer.from((obj.data ?? "").replace(/\n/g, "\r\n"), "latin1");
        mutate?.(out);
        ws.send(out);
      }
    });
  };
}

const mirror: Behaviour = (ws) => ws.on("message", (m: Buffer) => ws.send(m));

describe("web terminal connection", () => {
  it("runs a clean job: zero errors, reads match writes within one tick, every echo verified and timed", async () => {
    let path = "";
    const url = await serve((ws, p) => {
      path = p;
      pty()(ws, p, undefined);
    });
    sched = new Scheduler();
    const payload = makePayload(512);
    const { m, metrics } = collectingMetrics();
    const conn = countingConn(await openRpty({ url, agentId: "a1", payload }), metrics);
    const stats = await runTrafficJob({
      conn, scheduler: sched, tickIntervalMs: 20, durationMs: 300, metrics,
      echo: { template: terminalEcho(payload), markerLen: payload.markerLen },
    });
    const q = new URL(path, url).searchParams;
    expect(q.get("command")).toBe("dd if=/dev/stdin of=/dev/null bs=512 status=none");
    expect([q.get("width"), q.get("height")]).toEqual(["80", "25"]);
    expect(q.get("reconnect")).toMatch(/^[0-9a-f-]{36}$/);
    expect(stats.ticks).toBeGreaterThanOrEqual(8);
    expect(m.written).toBe(stats.ticks * 512);
    // Echo adds one \r per tick, plus the ^C after Ctrl+C.
    expect(Math.abs(m.read - m.written)).toBeLessThanOrEqual(512);
    expect(m.readErrors + m.writeErrors).toBe(0);
    expect(stats.verifiedTicks).toBe(stats.ticks);
    expect(m.rtt.length).toBe(stats.ticks);
    expect(m.rtt.every((s) => s >= 0 && s < 1)).toBe(true);
  });

  it("counts bytes, latencies and errors itself when asked, exactly as countingConn does", async () => {
    let messages = 0;
    const url = await serve((ws, p) => {
      ws.on("message", () => messages++);
      pty()(ws, p, undefined);
    });
    sched = new Scheduler();
    const payload = makePayload(512);
    const { m, metrics } = collectingMetrics();
    const stats = await runTrafficJob({
      conn: await openRpty({ url, agentId: "a1", payload }), count: true, scheduler: sched, tickIntervalMs: 20, durationMs: 200, metrics,
      echo: { template: terminalEcho(payload), markerLen: payload.markerLen },
    });
    expect(stats.ticks).toBeGreaterThan(0);
    expect(stats.verifiedTicks).toBe(stats.ticks);
    expect(messages).toBe(stats.ticks + 1); // every tick's frame, then Ctrl+C
    expect(m.written).toBe(stats.ticks * 512);
    expect(m.writeLat).toBe(stats.ticks);
    // Each echo is 513 bytes (\n -> \r\n), one message per tick, then ^C: one read-latency sample per message.
    expect(m.read).toBe(stats.ticks * 513 + 2);
    expect(m.readLat).toBe(stats.ticks + 1);
    expect(m.rtt.length).toBe(stats.ticks);
    expect(m.readErrors + m.writeErrors).toBe(0);

    let n = 0;
    const dropping = await serve((ws) => ws.on("message", () => {
      if (++n === 3) ws.terminate();
    }));
    const c2 = collectingMetrics();
    await expect(
      runTrafficJob({ conn: await openRpty({ url: dropping, agentId: "a1", payload }), count: true, scheduler: sched, tickIntervalMs: 10, durationMs: 2_000, metrics: c2.metrics }),
    ).rejects.toThrow(/read from agent: websocket closed with status 1006/);
    expect(c2.m.readErrors).toBe(1);
    expect(c2.m.writeErrors).toBe(0);
  });

  it("reports one corrupted echo byte as a read error and fails the job", async () => {
    let n = 0;
    const url = await serve(pty((out) => {
      if (++n === 3) out[10] = out[10] === 0x41 ? 0x42 : 0x41;
    }));
    sched = new Scheduler();
    const payload = makePayload(64);
    const { m, metrics } = collectingMetrics();
    const conn = countingConn(await openRpty({ url, agentId: "a1", payload }), metrics);
    await expect(runTrafficJob({
      conn, scheduler: sched, tickIntervalMs: 10, durationMs: 2_000, metrics,
      echo: { template: terminalEcho(payload), markerLen: payload.markerLen },
    })).rejects.toThrow(/read from agent: echo corrupted: tick 3 byte 10/);
    expect(m.readErrors).toBe(1);
  });

  it("counts a dropped socket as a read error", async () => {
    let n = 0;
    const url = await serve((ws) => ws.on("message", () => {
      if (++n === 3) ws.terminate();
    }));
    sched = new Scheduler();
    const payload = makePayload(64);
    const { m, metrics } = collectingMetrics();
    const conn = countingConn(await openRpty({ url, agentId: "a1", payload }), metrics);
    await expect(runTrafficJob({ conn, scheduler: sched, tickIntervalMs: 10, durationMs: 2_000, metrics })).rejects.toThrow(
      /read from agent: websocket closed with status 1006/,
    );
    expect(m.readErrors).toBe(1);
  });

  it("never trips the 32 KiB message limit, even with 100000 bytes per tick", async () => {
    const url = await serve(pty());
    sched = new Scheduler();
    const payload = makePayload(100_000);
    const { m, metrics } = collectingMetrics();
    const conn = countingConn(await openRpty({ url, agentId: "a1", payload }), metrics);
    const stats = await runTrafficJob({
      conn, scheduler: sched, tickIntervalMs: 50, durationMs: 300, metrics,
      echo: { template: terminalEcho(payload), markerLen: payload.markerLen },
    });
    expect(stats.ticks).toBeGreaterThanOrEqual(3);
    expect(m.readErrors + m.writeErrors).toBe(0);
    expect(stats.verifiedTicks).toBe(stats.ticks);
  });

  it("treats a normal close by the server as a clean end", async () => {
    const url = await serve((ws) => setTimeout(() => ws.close(1000), 50));
    sched = new Scheduler();
    const payload = makePayload(64);
    const { m, metrics } = collectingMetrics();
    const conn = countingConn(await openRpty({ url, agentId: "a1", payload }), metrics);
    await runTrafficJob({ conn, scheduler: sched, tickIntervalMs: 10, durationMs: 5_000, metrics });
    expect(m.readErrors + m.writeErrors).toBe(0);
  });

  it("fails the dial with the HTTP status when the upgrade is refused", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, verifyClient: (_i, cb) => cb(false, 404, "Not Found") });
    servers.push(wss);
    await once(wss, "listening");
    const url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    await expect(openRpty({ url, agentId: "a1", payload: makePayload(8) })).rejects.toThrow(/unexpected status 404/);
  });
});

describe("app connection", () => {
  it("echoes through wsec with raw chunks of at most 1024 bytes and verifies them", async () => {
    const sizes: number[] = [];
    const url = await serve((ws) => ws.on("message", (msg: Buffer) => {
      sizes.push(msg.length);
      ws.send(msg);
    }));
    sched = new Scheduler();
    const payload = makePayload(2500);
    const { m, metrics } = collectingMetrics();
    const conn = countingConn(await openApp({ url, payload }), metrics);
    const stats = await runTrafficJob({
      conn, scheduler: sched, tickIntervalMs: 20, durationMs: 200, metrics,
      echo: { template: payload.bytes, markerLen: payload.markerLen },
    });
    expect(Math.max(...sizes)).toBe(1024);
    expect(m.read).toBe(m.written);
    expect(stats.verifiedTicks).toBe(stats.ticks);
    expect(m.readErrors + m.writeErrors).toBe(0);
  });

  it("calls each tick's flush callback once, in order, even when a tick follows before the last one flushed", async () => {
    const url = await serve(mirror);
    const conn = await openApp({ url, payload: makePayload(2500) });
    const flushed: string[] = [];
    // A target that ran late can tick twice in one scheduler batch: both writes precede either callback.
    conn.write(1, (err) => flushed.push(`1:${err ?? "ok"}`));
    conn.write(2, (err) => flushed.push(`2:${err ?? "ok"}`));
    conn.write(3);
    conn.write(4, (err) => flushed.push(`4:${err ?? "ok"}`));
    while (flushed.length < 3) await new Promise((r) => setImmediate(r));
    expect(flushed).toEqual(["1:ok", "2:ok", "4:ok"]);
    await conn.close(1_000);
  });

  it("reaches a subdomain host through a --resolve override", async () => {
    let host: string | undefined;
    const base = await serve((ws, p, h) => {
      host = h;
      mirror(ws, p, h);
    });
    const port = new URL(base).port;
    const payload = makePayload(16);
    const conn = await openApp({
      url: `http://wsec--m--ws--owner.apps.sim.localhost:${port}/`,
      payload,
      resolve: [parseResolve(`*.apps.sim.localhost:${port}:127.0.0.1`)],
    });
    expect(host).toBe(`wsec--m--ws--owner.apps.sim.localhost:${port}`);
    await conn.close(1_000);
    await conn.ended;
  });

  it("skips ticks while the send buffer is still full instead of queueing them", async () => {
    const url = await serve((ws) => {
      // Stop reading: the kernel buffers fill and ws starts to buffer in user space.
      (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    });
    // Ticks come from a hand-moved clock: 40 of them at once, however busy the machine is.
    const clock = new ManualClock();
    sched = new Scheduler({ clock });
    const payload = makePayload(2 * 1024 * 1024);
    const skips: SkipReason[] = [];
    const { metrics } = collectingMetrics();
    const raw = await openApp({ url, payload });
    const conn = countingConn(raw, metrics);
    const job = runTrafficJob({
      conn, scheduler: sched, tickIntervalMs: 10, durationMs: 200, metrics, onSkip: (r) => skips.push(r), closeTimeoutMs: 200,
    });
    clock.advance(400);
    const stats = await job;
    // 80 MiB would not fit in the socket buffers: once ws buffers a tick, every later tick is skipped.
    expect(stats.ticks + stats.skipped).toBe(40);
    expect(stats.ticks).toBeLessThan(20);
    expect(skips.length).toBeGreaterThan(20);
    expect(skips.every((r) => r === "backpressure")).toBe(true);
    expect(stats.skipped).toBe(skips.length);
  });
});

describe("flushing a tick", () => {
  /** A server that has stopped reading, so the client's kernel buffers fill; `socket()` is its side. */
  async function stalled() {
    let server: { pause(): void; resume(): void; resetAndDestroy(): void } | undefined;
    const url = await serve((ws) => {
      server = (ws as unknown as { _socket: typeof server })._socket;
      server!.pause();
    });
    const conn = await openApp({ url, payload: makePayload(2 * 1024 * 1024) });
    while (!server) await new Promise((r) => setImmediate(r));
    return { conn, server };
  }

  /** Writes ticks until one is still in user space when write returns; the callbacks' outcomes, in call order. */
  function writeUntilPending(conn: Awaited<ReturnType<typeof openApp>>) {
    const outcomes: string[] = [];
    let sync = 0;
    for (let seq = 1; seq <= 200; seq++) {
      let now = true;
      let called = false;
      conn.write(seq, (err) => {
        called = true;
        outcomes.push(`${seq}:${err ? "error" : "ok"}${now ? " at once" : ""}`);
      });
      now = false;
      if (!called) return { outcomes, sync, pending: seq };
      sync++;
    }
    throw new Error("every 2 MiB tick reached the kernel at once: the server is not stalled");
  }

  it("reports a tick the kernel could not take at once when it reaches the OS, not before", async () => {
    const { conn, server } = await stalled();
    const { outcomes, sync, pending } = writeUntilPending(conn);
    // The ticks the kernel took were flushed during write; the last one waits, and the connection is busy.
    expect(outcomes).toEqual(Array.from({ length: sync }, (_, i) => `${i + 1}:ok at once`));
    expect(conn.busy).toBe(true);
    for (let turn = 0; turn < 20; turn++) await new Promise((r) => setImmediate(r));
    expect(outcomes).toHaveLength(sync);
    server.resume();
    while (outcomes.length < sync + 1) await new Promise((r) => setImmediate(r));
    expect(outcomes.at(-1)).toBe(`${pending}:ok`);
    expect(conn.busy).toBe(false);
    await conn.close(1_000);
  });

  it("files a tick that never reaches the OS as a write error", async () => {
    const { conn, server } = await stalled();
    const { outcomes, sync, pending } = writeUntilPending(conn);
    server.resetAndDestroy();
    while (outcomes.length < sync + 1) await new Promise((r) => setImmediate(r));
    expect(outcomes.at(-1)).toBe(`${pending}:error`);
    await expect(conn.ended).rejects.toThrow(/^write to agent: /);
  });
});

describe("dial", () => {
  it("retries an upgrade refused with 429, honouring Retry-After", async () => {
    let refusals = 0;
    const wss = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      verifyClient: (_i, cb) => (refusals++ < 2 ? cb(false, 429, "Too Many Requests", { "Retry-After": "0" }) : cb(true)),
    });
    servers.push(wss);
    await once(wss, "listening");
    const conn = await openApp({ url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}/`, payload: makePayload(8) });
    expect(refusals).toBe(3);
    await conn.close(1_000);
  });

  it("waits each 429's Retry-After: 0 s, then 1 s (its own waits would be 1 s, then 2 s)", async () => {
    const arrivals: number[] = [];
    const afters = ["0", "1"];
    const wss = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      verifyClient: (_i, cb) => {
        arrivals.push(performance.now());
        const after = afters[arrivals.length - 1];
        return after === undefined ? cb(true) : cb(false, 429, "Too Many Requests", { "Retry-After": after });
      },
    });
    servers.push(wss);
    await once(wss, "listening");
    const retries: RetryEvent[] = [];
    const conn = await openApp({ url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}/`, payload: makePayload(8), onRetry: (e) => retries.push(e) });
    await conn.close(1_000);
    expect(retries.map((e) => [e.reason, e.attempt])).toEqual([["429", 1], ["429", 2]]);
    expect(arrivals).toHaveLength(3);
    const [first, second] = [arrivals[1]! - arrivals[0]!, arrivals[2]! - arrivals[1]!];
    expect(first).toBeLessThan(500);
    expect(second).toBeGreaterThanOrEqual(990);
    expect(second).toBeLessThan(1_900);
  });

  it("gives up after 5 retries of a 429 even when each one carries a Retry-After", async () => {
    let refusals = 0;
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, verifyClient: (_i, cb) => (refusals++, cb(false, 429, "Too Many Requests", { "Retry-After": "0" })) });
    servers.push(wss);
    await once(wss, "listening");
    await expect(openApp({ url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}/`, payload: makePayload(8) })).rejects.toThrow(/unexpected status 429/);
    expect(refusals).toBe(6);
  });
});
