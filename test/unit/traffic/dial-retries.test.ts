// Traffic dials retry transient failures a bounded number of times, count each retry, and then fail the job;
// the `coder ssh --stdio` child gets an allow-listed environment.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import type { RetryEvent } from "../../../src/coder/retry.ts";
import { openApp } from "../../../src/traffic/app.ts";
import { makePayload } from "../../../src/traffic/payload.ts";
import { openSsh } from "../../../src/traffic/ssh.ts";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/** An HTTP server whose upgrades fail as `plan` says for the first attempts, then succeed as a WebSocket echo. */
async function flakyUpgrades(plan: Array<"503" | "reset" | "404">): Promise<{ url: string; attempts: () => number }> {
  let attempts = 0;
  const wss = new WebSocketServer({ noServer: true });
  const server: Server = createServer((_q, r) => r.end());
  server.on("upgrade", (req, socket: Socket, head) => {
    socket.on("error", () => {});
    const step = plan[attempts++];
    if (step === "503") return void socket.end("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    if (step === "404") return void socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    if (step === "reset") return void socket.resetAndDestroy();
    wss.handleUpgrade(req, socket, head, (ws) => ws.on("message", (d) => ws.send(d)));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise((r) => (wss.clients.forEach((c) => c.terminate()), server.close(() => r()))));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, attempts: () => attempts };
}

describe("WebSocket dial retries", () => {
  it("retries 5xx and resets, counting each retry, then connects", async () => {
    const srv = await flakyUpgrades(["503", "reset", "503"]);
    const events: RetryEvent[] = [];
    const conn = await openApp({ url: srv.url, payload: makePayload(8), retryBaseMs: 10, onRetry: (e) => events.push(e) });
    expect(srv.attempts()).toBe(4);
    expect(events.map((e) => [e.kind, e.reason, e.attempt])).toEqual([
      ["websocket", "503", 1],
      ["websocket", "ECONNRESET", 2],
      ["websocket", "503", 3],
    ]);
    await conn.close(1_000);
  });

  it("retries a refused dial, then fails naming the refusal", async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const events: RetryEvent[] = [];
    await expect(openApp({ url: `http://127.0.0.1:${port}/`, payload: makePayload(8), retries: 2, retryBaseMs: 10, onRetry: (e) => events.push(e) })).rejects.toThrow(/websocket dial: .*ECONNREFUSED/);
    expect(events.map((e) => e.reason)).toEqual(["ECONNREFUSED", "ECONNREFUSED"]);
  });

  it("fails once its retries are spent, and never retries a 404", async () => {
    const spent = await flakyUpgrades(["503", "503", "503", "503", "503"]);
    await expect(openApp({ url: spent.url, payload: makePayload(8), retries: 2, retryBaseMs: 10 })).rejects.toThrow(/websocket dial: unexpected status 503/);
    expect(spent.attempts()).toBe(3);
    const missing = await flakyUpgrades(["404"]);
    await expect(openApp({ url: missing.url, payload: makePayload(8), retryBaseMs: 10 })).rejects.toThrow(/unexpected status 404/);
    expect(missing.attempts()).toBe(1);
  });
});

describe("coder ssh --stdio child", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ssh-child-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("gets an allow-listed environment (deployment, token, headers; never GRAFANA_API_TOKEN or SLACK_WEBHOOK_URL), and a failing start is retried and counted", async () => {
    const dump = join(dir, "env.txt");
    const bin = join(dir, "coder");
    writeFileSync(bin, `#!/bin/sh\nenv > "${dump}"\necho "agent not connected" >&2\nexit 1\n`);
    chmodSync(bin, 0o755);
    const saved = { GRAFANA_API_TOKEN: process.env.GRAFANA_API_TOKEN, SLACK_WEBHOOK_URL: process.env.SLACK_WEBHOOK_URL, SOME_OTHER_SECRET: process.env.SOME_OTHER_SECRET };
    Object.assign(process.env, { GRAFANA_API_TOKEN: "glsa_secret", SLACK_WEBHOOK_URL: "https://hooks.slack.example/T/B/x", SOME_OTHER_SECRET: "s" });
    const events: RetryEvent[] = [];
    try {
      await expect(
        openSsh({
          coderBinary: bin,
          target: "owner/ws.main",
          coderUrl: "http://127.0.0.1:1/",
          token: "abcdefghij-0123456789012345678901",
          headerEnv: { CODER_HEADER: "X-Proxy=1", CODER_HEADER_COMMAND: "echo X-B=2" },
          payload: makePayload(8),
          retryBaseMs: 10,
          onRetry: (e) => events.push(e),
        }),
      ).rejects.toThrow(/connect to workspace via ssh: coder ssh --stdio exited \(1\) before the SSH handshake: agent not connected \(after 3 attempts\)/);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    expect(events.map((e) => [e.kind, e.reason])).toEqual([
      ["ssh", "exit"],
      ["ssh", "exit"],
    ]);
    const env = Object.fromEntries(
      readFileSync(dump, "utf8")
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    expect(env).toMatchObject({ CODER_URL: "http://127.0.0.1:1/", CODER_SESSION_TOKEN: "abcdefghij-0123456789012345678901", CODER_HEADER: "X-Proxy=1", CODER_HEADER_COMMAND: "echo X-B=2", PATH: process.env.PATH });
    expect(Object.keys(env)).not.toContain("GRAFANA_API_TOKEN");
    expect(Object.keys(env)).not.toContain("SLACK_WEBHOOK_URL");
    expect(Object.keys(env)).not.toContain("SOME_OTHER_SECRET");
  });
});
