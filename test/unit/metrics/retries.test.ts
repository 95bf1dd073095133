// Retries reach /metrics: a client made before the command's metrics (as every command makes it) and a WebSocket
// dial both count into coderd_scaletest_retries_total{kind,reason} of the process's RunnerHealth.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { CoderClient } from "../../../src/coder/client.ts";
import { RunnerHealth } from "../../../src/metrics/health.ts";
import { createRegistry } from "../../../src/metrics/registry.ts";
import { reportRetry } from "../../../src/metrics/retry-sink.ts";
import { dialWebSocket } from "../../../src/traffic/ws-conn.ts";

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

const listen = async (s: Server) => {
  server = s;
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
};

const retriesOn = async (registry: ReturnType<typeof createRegistry>) =>
  (await registry.metrics()).split("\n").filter((l) => l.startsWith("coderd_scaletest_retries_total{"));

describe("coderd_scaletest_retries_total", () => {
  it("counts a client's retried 503s and 429s by kind and reason, the client made before the metrics", async () => {
    const answers = [503, 503, 429, 200];
    const url = await listen(
      createServer((_req, res) => {
        const status = answers.shift() ?? 200;
        res.writeHead(status, { "content-type": "application/json", ...(status === 429 ? { "retry-after": "0" } : {}) });
        res.end(status === 200 ? JSON.stringify({ version: "v2.99.0", external_url: "", dashboard_url: "" }) : JSON.stringify({ message: "busy" }));
      }),
    );
    const client = new CoderClient({ url, token: "t", retry: { retries5xx: 3, baseDelayMs: 1 }, onRetry: reportRetry });
    const registry = createRegistry();
    new RunnerHealth(registry);
    await client.buildInfo();
    expect(await retriesOn(registry)).toEqual([
      'coderd_scaletest_retries_total{kind="rest",reason="503"} 2',
      'coderd_scaletest_retries_total{kind="rest",reason="429"} 1',
    ]);
  });

  it("counts a WebSocket upgrade refused with 429 and then accepted", async () => {
    let refusals = 1;
    const http = createServer();
    const wss = new WebSocketServer({ noServer: true });
    http.on("upgrade", (req, socket, head) => {
      if (refusals-- > 0) {
        socket.end("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => ws.close(1000));
    });
    const url = (await listen(http)).replace("http", "ws");
    const registry = createRegistry();
    const health = new RunnerHealth(registry);
    const ws = await dialWebSocket(url, { onRetry: health.retried });
    ws.terminate();
    expect(await retriesOn(registry)).toEqual(['coderd_scaletest_retries_total{kind="websocket",reason="429"} 1']);
  });
});
