// Bench target: a lean web-terminal echo in its own process, so the target is never the bottleneck.
//
// Target selection answers are the simulator's own: it starts the Coder simulator once, creates one scaletest
// workspace there, records what coderd's routes answer (users/me, deployment config, app host, the workspace),
// closes it, and serves those answers with BENCH_WORKSPACES copies of the workspace (fresh IDs and names). The
// reconnecting-PTY WebSocket is a hand-written RFC 6455 endpoint on raw sockets: it decodes the JSON input
// frames and echoes the data as a tty with ONLCR would, Ctrl+C ends the session with 1000, as the simulator's.
//
// argv[2]: a 0600 file it writes {url, session_token} to. stdout: one JSON line {url} when ready, then one JSON
// stats line (its own CPU and byte counts) for each `stats` line on stdin. Listens on 127.0.0.1 only.
import { createHash, randomUUID } from "node:crypto";
import http, { type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createInterface } from "node:readline";
import { CoderClient } from "../src/coder/client.ts";
import { waitForAgents, waitForBuild } from "../src/coder/builds.ts";
import type { Workspace } from "../src/coder/types.ts";
import { startSimulator } from "../src/simulator/index.ts";
import { writeSecretFile } from "../src/util/secret-file.ts";
import { decodeInput, unmask } from "./echo-codec.ts";

const credentialsFile = process.argv[2];
if (!credentialsFile) throw new Error("usage: target.ts <credentials-file>");
const COUNT = Number(process.env.BENCH_WORKSPACES ?? 2000);

// ---- record the simulator's answers ----
const sim = await startSimulator({ host: "127.0.0.1", port: 0, knobs: { pendingMs: 0, runningMs: 0, agentConnectDelayMs: 0, rateLimit: 0 } });
const token = sim.sessionToken;
const client = new CoderClient({ url: sim.url, token });
const created = await client.createWorkspace(sim.owner.id, { template_id: sim.template.id, name: "scaletest-bench-0" });
await waitForBuild(client, created.latest_build.id);
await waitForAgents(client, created.id);
const get = async (path: string) => {
  const res = await fetch(new URL(path, sim.url), { headers: { "Coder-Session-Token": token } });
  if (!res.ok) throw new Error(`simulator ${path}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
};
const recorded = new Map<string, Buffer>();
for (const path of ["/api/v2/users/me", "/api/v2/deployment/config", "/api/v2/applications/host", "/api/v2/buildinfo"]) recorded.set(path, await get(path));
const template = JSON.stringify(await client.workspace(created.id));
await sim.close();

// Copies of the workspace: every ID (workspace, build, resources, agents, apps) fresh, names numbered.
const oldIds = [...new Set(template.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [])];
const keep = new Set([JSON.parse(template).owner_id as string, JSON.parse(template).template_id as string, JSON.parse(template).organization_id as string]);
const workspaces: Workspace[] = [];
const agents = new Set<string>();
for (let i = 0; i < COUNT; i++) {
  let text = template.replaceAll('"scaletest-bench-0"', JSON.stringify(`scaletest-bench-${String(i).padStart(5, "0")}`));
  for (const id of oldIds) if (!keep.has(id)) text = text.replaceAll(id, randomUUID());
  const ws = JSON.parse(text) as Workspace;
  workspaces.push(ws);
  for (const r of ws.latest_build.resources) for (const a of r.agents ?? []) agents.add(a.id);
}

// ---- the lean server ----
let rxBytes = 0; // data bytes decoded from input frames
let txBytes = 0; // echo bytes sent
let sessions = 0;
let openSessions = 0;

const server = http.createServer((req, res) => {
  if (req.headers["coder-session-token"] !== token) return json(res, 401, { message: "You must be logged in." });
  const url = new URL(req.url ?? "/", "http://x");
  const body = recorded.get(url.pathname);
  if (body) return raw(res, 200, body);
  if (url.pathname === "/api/v2/workspaces") {
    const limit = Number(url.searchParams.get("limit") ?? 0) || workspaces.length;
    const offset = Number(url.searchParams.get("offset") ?? 0);
    return json(res, 200, { workspaces: workspaces.slice(offset, offset + limit), count: workspaces.length });
  }
  json(res, 404, { message: "Route not found." });
});

function raw(res: http.ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": body.length });
  res.end(body);
}
function json(res: http.ServerResponse, status: number, v: unknown): void {
  raw(res, status, Buffer.from(JSON.stringify(v)));
}

const PTY_RE = /^\/api\/v2\/workspaceagents\/([^/]+)\/pty$/;
server.on("upgrade", (req: IncomingMessage, socket: Socket) => {
  const m = PTY_RE.exec(new URL(req.url ?? "/", "http://x").pathname);
  const refuse = (status: number, message: string) => {
    const body = JSON.stringify({ message });
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  };
  if (req.headers["coder-session-token"] !== token) return refuse(401, "You must be logged in.");
  if (!m || !agents.has(m[1]!)) return refuse(404, "Agent not found.");
  const key = req.headers["sec-websocket-key"];
  if (typeof key !== "string") return refuse(400, "Missing Sec-WebSocket-Key.");
  const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  socket.setNoDelay(true);
  sessions++;
  openSessions++;
  socket.on("close", () => openSessions--);
  socket.on("error", () => socket.destroy());
  new EchoSession(socket);
});

/** Where echoes are built: reused while the kernel takes each one whole, which is almost always. */
let echoBuf = Buffer.allocUnsafeSlow(4096);

/** One terminal session: client frames in (masked), echo frames out. */
class EchoSession {
  private pending: Buffer | undefined;
  private closed = false;

  constructor(private readonly socket: Socket) {
    socket.on("data", (d: Buffer) => this.onData(d));
  }

  private onData(d: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, d]) : d;
    this.pending = undefined;
    let off = 0;
    while (!this.closed) {
      if (buf.length - off < 2) break;
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      let len = b1 & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (buf.length - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        hdr = 4;
      } else if (len === 127) {
        if (buf.length - off < 10) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        hdr = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const total = hdr + (masked ? 4 : 0) + len;
      if (buf.length - off < total) break;
      const payload = buf.subarray(off + hdr + (masked ? 4 : 0), off + total);
      if (masked) unmask(buf, off + hdr, off + hdr + 4, off + total);
      this.frame(b0 & 0x0f, payload);
      off += total;
    }
    if (off < buf.length && !this.closed) {
      buf = buf.subarray(off);
      this.pending = Buffer.from(buf);
    }
  }

  private frame(opcode: number, payload: Buffer): void {
    if (opcode === 0x8) return this.close(1000);
    if (opcode === 0x9) return void this.socket.write(Buffer.concat([Buffer.from([0x8a, payload.length]), payload]));
    if (opcode !== 0x2 && opcode !== 0x1 && opcode !== 0x0) return;
    if (echoBuf.length < payload.length * 2 + 4) echoBuf = Buffer.allocUnsafeSlow(payload.length * 2 + 4);
    const r = decodeInput(payload, echoBuf, 4);
    if (r.n > 0) {
      rxBytes += r.data;
      txBytes += r.n;
      this.send(echoBuf, 4, r.n);
      // The kernel usually takes the frame at once; a write left queued keeps its buffer, so the next echo
      // gets a fresh one.
      if (this.socket.writableLength > 0) echoBuf = Buffer.allocUnsafeSlow(echoBuf.length);
    }
    if (r.interrupt) this.close(1000);
  }

  /** Sends `out[from, from+n)` as one binary frame, its 2- or 4-byte header written just before it. */
  private send(out: Buffer, from: number, n: number): void {
    let start: number;
    if (n < 126) {
      start = from - 2;
      out[start + 1] = n;
    } else {
      start = from - 4;
      out[start + 1] = 126;
      out.writeUInt16BE(n, start + 2);
    }
    out[start] = 0x82;
    this.socket.write(out.subarray(start, from + n));
  }

  private close(code: number): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end(Buffer.from([0x88, 2, code >> 8, code & 0xff]));
  }
}

// Node's default backlog (511) overflows when thousands dial at once: the dropped SYNs come back 1, 3, 7 s later,
// and the target would be what slows opening down. The kernel caps it at net.core.somaxconn.
await new Promise<void>((resolve) => server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
writeSecretFile(credentialsFile, `${JSON.stringify({ url, session_token: token })}\n`);
process.stdout.write(`${JSON.stringify({ url, workspaces: workspaces.length })}\n`);

createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() !== "stats") return;
  const cpu = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ cpuSeconds: (cpu.user + cpu.system) / 1e6, rxBytes, txBytes, sessions, openSessions })}\n`);
});
const stop = () => process.exit(0);
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", () => process.exit(0)); // the parent went away
