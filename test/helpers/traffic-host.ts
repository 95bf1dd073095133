// A small in-memory TrafficHost and loopback server for unit tests of the simulator's traffic endpoints.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { requestToken } from "../../src/simulator/auth.ts";
import {
  TrafficSockets,
  type TrafficAgent,
  type TrafficCaller,
  type TrafficHost,
  type TrafficKind,
  type TrafficKnobs,
} from "../../src/simulator/traffic-host.ts";

/** Named test entities: a site owner, two members, and agents of the members' workspaces. */
export const OWNER: TrafficCaller & { token: string } = { id: "00000000-0000-4000-8000-000000000001", username: "admin", siteOwner: true, token: "admintoken-aaaaaaaaaaaaaaaaaaaaaa" };
export const ALICE: TrafficCaller & { token: string } = { id: "00000000-0000-4000-8000-000000000002", username: "alice", siteOwner: false, token: "alicetoken-bbbbbbbbbbbbbbbbbbbbbb" };
export const BOB: TrafficCaller & { token: string } = { id: "00000000-0000-4000-8000-000000000003", username: "bob", siteOwner: false, token: "bobtokenxx-cccccccccccccccccccccc" };

const APPS: TrafficAgent["apps"] = [
  { slug: "wsec", url: "http://localhost:1234", subdomain: true, sharingLevel: "authenticated" },
  { slug: "wsra", url: "http://localhost:1235", subdomain: true, sharingLevel: "authenticated" },
  { slug: "wsdi", url: "http://localhost:1236", subdomain: true, sharingLevel: "authenticated" },
  { slug: "pecho", url: "http://localhost:1234", subdomain: false, sharingLevel: "owner" },
  { slug: "secret", url: "http://localhost:1234", subdomain: true, sharingLevel: "owner" },
];

/** Alice's connected agent `m` of workspace `ws1`. */
export const ALICE_AGENT: TrafficAgent = {
  id: "11111111-1111-4111-8111-111111111111",
  name: "m",
  connected: true,
  workspaceId: "21111111-1111-4111-8111-111111111111",
  workspaceName: "ws1",
  ownerId: ALICE.id,
  ownerName: ALICE.username,
  apps: APPS,
};
/** Alice's agent `m` of workspace `down`, not connected. */
export const OFFLINE_AGENT: TrafficAgent = { ...ALICE_AGENT, id: "11111111-1111-4111-8111-222222222222", workspaceId: "21111111-1111-4111-8111-222222222222", workspaceName: "down", connected: false };

/** Counters the fake metrics collect. */
export interface FakeMetrics {
  connections: Record<TrafficKind, number>;
  bytesIn: Record<TrafficKind, number>;
  bytesOut: Record<TrafficKind, number>;
  sessions: Record<TrafficKind, number>;
  websockets: number;
}

/** The fake host: mutable knobs and agents, counting metrics. */
export function fakeHost(knobs: Partial<TrafficKnobs> = {}): TrafficHost & { setKnobs(k: Partial<TrafficKnobs>): void; setAccessUrl(u: string): void; counters: FakeMetrics; agents: Map<string, TrafficAgent> } {
  const zero = (): Record<TrafficKind, number> => ({ pty: 0, app: 0, ssh: 0 });
  const counters: FakeMetrics = { connections: zero(), bytesIn: zero(), bytesOut: zero(), sessions: zero(), websockets: 0 };
  let current: TrafficKnobs = { dropSocketsRate: 0, appHost: "", ...knobs };
  const users = [OWNER, ALICE, BOB];
  const agents = new Map([ALICE_AGENT, OFFLINE_AGENT].map((a) => [a.id, a]));
  let seed = 1;
  let accessUrl = "http://127.0.0.1";
  return {
    accessUrl: () => accessUrl,
    agents,
    counters,
    setAccessUrl(u: string) {
      accessUrl = u;
    },
    setKnobs(k) {
      current = { ...current, ...k };
    },
    authenticate(req: IncomingMessage, url: URL, extra: readonly string[]) {
      const token = requestToken(req, url, extra);
      const user = users.find((u) => u.token === token);
      return user && { id: user.id, username: user.username, siteOwner: user.siteOwner };
    },
    agent: (id) => agents.get(id),
    agentsOf: (owner, workspace) => [...agents.values()].filter((a) => a.ownerName === owner && a.workspaceName === workspace),
    knobs: () => current,
    random() {
      // Deterministic LCG, good enough for fault rolls in tests.
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    },
    metrics: {
      connection: (k) => void counters.connections[k]++,
      bytes: (k, dir, n) => void ((dir === "in" ? counters.bytesIn : counters.bytesOut)[k] += n),
      sessions: (k, d) => void (counters.sessions[k] += d),
      websocketOpened() {
        counters.websockets++;
        let done = false;
        return () => {
          if (!done) counters.websockets--;
          done = true;
        };
      },
    },
  };
}

/** A loopback HTTP server that offers upgrades to `endpoints` in order (404 when none takes it). */
export async function serveEndpoints(
  host: TrafficHost,
  makeEndpoints: (sockets: TrafficSockets) => { handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean; handleRequest?(req: IncomingMessage, res: import("node:http").ServerResponse, url: URL): boolean; close(): void }[],
): Promise<{ url: string; port: number; server: Server; sockets: TrafficSockets; close(): Promise<void> }> {
  const sockets = new TrafficSockets(host);
  const endpoints = makeEndpoints(sockets);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    for (const e of endpoints) if (e.handleRequest?.(req, res, url)) return;
    res.writeHead(404).end();
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://x");
    for (const e of endpoints) if (e.handleUpgrade(req, socket, head, url)) return;
    socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    sockets,
    async close() {
      for (const e of endpoints) e.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A test WebSocket client that records everything it receives. */
export interface RecordingClient {
  ws: import("ws").WebSocket;
  /** All binary payload received so far, concatenated. */
  received(): Buffer;
  /** Resolves once the received bytes satisfy `pred` (rejects if the socket closes first). */
  until(pred: (got: Buffer) => boolean): Promise<Buffer>;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  /** Text frames received (a protocol error for these endpoints). */
  textFrames: number;
}

/** Opens a WebSocket and records what arrives; rejects with the HTTP status when the upgrade is refused. */
export async function openRecording(url: string, opts: import("ws").ClientOptions = {}): Promise<RecordingClient> {
  const { WebSocket } = await import("ws");
  const ws = new WebSocket(url, { perMessageDeflate: false, ...opts });
  const chunks: Buffer[] = [];
  let total = 0;
  const waiters = new Set<() => void>();
  let closeInfo: { code: number; reason: string } | undefined;
  const client: RecordingClient = {
    ws,
    textFrames: 0,
    received: () => Buffer.concat(chunks, total),
    until(pred) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const got = client.received();
          if (pred(got)) {
            waiters.delete(check);
            resolve(got);
          } else if (closeInfo) {
            waiters.delete(check);
            reject(new Error(`socket closed (${closeInfo.code} ${closeInfo.reason}) with ${got.length} bytes: ${JSON.stringify(got.toString("latin1").slice(-200))}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    closed: new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        closeInfo = { code, reason: reason.toString() };
        for (const w of [...waiters]) w();
        resolve(closeInfo);
      });
    }),
  };
  ws.on("message", (data, isBinary) => {
    if (!isBinary) client.textFrames++;
    const b = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
    chunks.push(b);
    total += b.length;
    for (const w of [...waiters]) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => reject(Object.assign(new Error(`unexpected status ${res.statusCode}`), { status: res.statusCode, body, headers: res.headers })));
    });
  });
  return client;
}

/** The refusal of an upgrade: status, body and headers (fails the test if the upgrade succeeds). */
export async function upgradeRefusal(url: string, opts: import("ws").ClientOptions = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  try {
    const c = await openRecording(url, opts);
    c.ws.terminate();
  } catch (err) {
    const e = err as { status?: number; body?: string; headers?: Record<string, unknown> };
    if (e.status !== undefined) return { status: e.status, body: e.body ?? "", headers: e.headers ?? {} };
    throw err;
  }
  throw new Error(`upgrade to ${url} was accepted`);
}

/** A DNS lookup that sends every name to 127.0.0.1 (`*.apps.localhost` does not resolve everywhere), as the traffic client's override does. */
export const loopbackLookup: import("node:net").LookupFunction = (_hostname, options, callback) => {
  if (typeof options === "object" && options.all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: "127.0.0.1", family: 4 }]);
  else callback(null, "127.0.0.1", 4);
};

/** A new member with one kubernetes-minimal workspace whose agent is connected (for integration tests of the real simulator). */
export async function memberWithWorkspace(sim: import("../../src/simulator/index.ts").Simulator, name: string) {
  const { createMember, simApi, until } = await import("./sim-api.ts");
  const { user, token } = await createMember(sim);
  const created = await simApi(sim, token)("POST", `/api/v2/users/${user.id}/workspaces`, { template_id: sim.template.id, name });
  if (created.status !== 201) throw new Error(`create workspace: ${created.status} ${JSON.stringify(created.body)}`);
  const agent = await until(async () => {
    const a = (await simApi(sim, token)("GET", `/api/v2/workspaces/${created.body.id}`)).body.latest_build.resources[0]?.agents[0];
    return a?.status === "connected" ? a : null;
  });
  return { user, token, workspaceId: created.body.id as string, workspaceName: name, agent };
}
