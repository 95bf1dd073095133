// Simulated reconnecting PTY (web terminal): coderd's /pty WebSocket over an in-memory agent session with echo and replay.
import type { IncomingMessage } from "node:http";
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket, type RawData } from "ws";
import { isUUID } from "./http.ts";
import type { SimContext, SimulatorModule } from "./module.ts";
import { programFor } from "./pty-programs.ts";
import { addTrafficEndpoint, authorizeAgentUpgrade, rejectUpgrade, trafficControls, type TrafficHost, type TrafficSockets } from "./traffic-host.ts";

/** The most a single WebSocket message may carry (coderd reads with this limit; more closes with 1009). */
export const PTY_MAX_MESSAGE_BYTES = 32_768;
/** Output kept per session for replay on reconnect (the agent's buffered backend keeps 64 KiB). */
export const PTY_REPLAY_BYTES = 64 * 1024;
/** A pending partial JSON object larger than this is a protocol error (protects the simulator's memory). */
const MAX_PENDING_JSON_BYTES = 1024 * 1024;
/** The route pattern (metrics `path` label). */
export const PTY_ROUTE = "/api/v2/workspaceagents/{workspaceagent}/pty";
const PTY_RE = /^\/api\/v2\/workspaceagents\/([^/]+)\/pty\/?$/;

/** One decoded input object: `{data?, height?, width?}`. */
export interface PtyInput {
  data?: string;
  height?: number;
  width?: number;
}

/**
 * Decodes a byte stream of concatenated JSON objects, as the agent's streaming decoder does:
 * objects may span messages or share one, whitespace between them is ignored.
 */
export class JsonObjectStream {
  private pending: Buffer = Buffer.alloc(0);
  private scanned = 0;
  private start = -1;
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Feeds bytes; calls `onObject` for each complete object. Throws on malformed input. */
  push(chunk: Buffer, onObject: (obj: PtyInput) => void): void {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let i = this.scanned;
    let consumed = 0;
    for (; i < buf.length; i++) {
      const c = buf[i]!;
      if (this.depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          consumed = i + 1;
          continue;
        }
        if (c !== 0x7b) throw new Error(`invalid character ${JSON.stringify(String.fromCharCode(c))} looking for beginning of value`);
        this.start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          onObject(parseInput(buf.toString("utf8", this.start, i + 1)));
          this.start = -1;
          consumed = i + 1;
        }
      }
    }
    if (this.depth === 0) {
      this.pending = Buffer.alloc(0);
      this.scanned = 0;
      return;
    }
    const from = this.start >= 0 ? this.start : consumed;
    if (buf.length - from > MAX_PENDING_JSON_BYTES) throw new Error(`input object exceeds ${MAX_PENDING_JSON_BYTES} bytes`);
    this.pending = buf.subarray(from);
    this.scanned = i - from;
    this.start = 0;
  }
}

function parseInput(text: string): PtyInput {
  const v = JSON.parse(text) as Record<string, unknown>;
  const out: PtyInput = {};
  if (v.data !== undefined && v.data !== null) {
    if (typeof v.data !== "string") throw new Error("json: cannot unmarshal into Go struct field ReconnectingPTYRequest.data of type string");
    out.data = v.data;
  }
  for (const k of ["height", "width"] as const) {
    const n = v[k];
    if (n === undefined || n === null) continue;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`json: cannot unmarshal ${String(n)} into Go struct field ReconnectingPTYRequest.${k} of type uint16`);
    out[k] = n;
  }
  return out;
}

/** A fixed-size ring of the most recent output bytes. */
export class ReplayBuffer {
  private readonly buf: Buffer;
  private end = 0;
  private filled = 0;
  constructor(size = PTY_REPLAY_BYTES) {
    this.buf = Buffer.alloc(size);
  }
  write(data: Buffer): void {
    const size = this.buf.length;
    if (data.length >= size) {
      data.copy(this.buf, 0, data.length - size);
      this.end = 0;
      this.filled = size;
      return;
    }
    const first = Math.min(data.length, size - this.end);
    data.copy(this.buf, this.end, 0, first);
    if (first < data.length) data.copy(this.buf, 0, first);
    this.end = (this.end + data.length) % size;
    this.filled = Math.min(size, this.filled + data.length);
  }
  /** A copy of the buffered bytes, oldest first. */
  contents(): Buffer {
    // Until the ring first wraps, the bytes sit in [0, end).
    if (this.filled < this.buf.length) return Buffer.from(this.buf.subarray(0, this.end));
    return Buffer.concat([this.buf.subarray(this.end), this.buf.subarray(0, this.end)]);
  }
}

/** PTY knobs the module reads on every use, so changes apply live. */
export interface PtyKnobs {
  /** A session with no attached connection is killed after this long (milliseconds; the agent's default is 5 min). */
  ptyReconnectTimeoutMs: number;
  /** Chance (0..1) that an output chunk has one byte flipped, to exercise the client's echo check. */
  corruptEchoRate: number;
}

export const DEFAULT_PTY_KNOBS: Readonly<PtyKnobs> = Object.freeze({ ptyReconnectTimeoutMs: 300_000, corruptEchoRate: 0 });

/** One reconnecting-PTY session, keyed by (agent, reconnect UUID) as in the agent. */
class PtySession {
  readonly replay = new ReplayBuffer();
  readonly conns = new Set<WebSocket>();
  width: number;
  height: number;
  private idleTimer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    readonly key: string,
    private readonly program: ReturnType<typeof programFor>,
    size: { width: number; height: number },
    private readonly owner: PtySessions,
  ) {
    this.width = size.width;
    this.height = size.height;
  }

  attach(ws: WebSocket, isNew: boolean): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.conns.add(ws);
    if (!isNew) {
      const replay = this.replay.contents();
      if (replay.length > 0) ws.send(replay, { binary: true });
      return;
    }
    const banner = this.program.banner();
    if (banner) this.emit(banner);
    if (this.program.exitsAfterBanner) this.end();
  }

  detach(ws: WebSocket): void {
    if (!this.conns.delete(ws) || this.ended || this.conns.size > 0) return;
    const ms = this.owner.knobs().ptyReconnectTimeoutMs;
    this.idleTimer = setTimeout(() => this.end(), ms);
    this.idleTimer.unref();
  }

  input(obj: PtyInput): void {
    if (this.ended) return;
    if (obj.data !== undefined && obj.data.length > 0) {
      const { output, exit } = this.program.input(obj.data);
      if (output) this.emit(output);
      if (exit) {
        this.end();
        return;
      }
    }
    if (obj.width && obj.height) {
      this.width = obj.width;
      this.height = obj.height;
    }
  }

  private emit(text: string): void {
    const out = Buffer.from(text, "utf8");
    this.owner.maybeCorrupt(out);
    this.replay.write(out);
    this.owner.countOut(out.length * this.conns.size);
    for (const ws of this.conns) if (ws.readyState === ws.OPEN) ws.send(out, { binary: true });
  }

  /** The process exited: every attached connection gets a normal close and the UUID is free again. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.owner.forget(this);
    for (const ws of this.conns) ws.close(1000, "");
    this.conns.clear();
  }
}

/** All PTY sessions of a simulator, plus the fault hooks tests use. Emits "ended" (key) when a session's process exits or times out. */
export class PtySessions extends EventEmitter {
  private readonly sessions = new Map<string, PtySession>();
  private corruptNext = 0;

  constructor(private readonly host: TrafficHost) {
    super();
  }

  knobs(): PtyKnobs {
    return { ...DEFAULT_PTY_KNOBS, ...this.host.knobs() };
  }

  /** Number of live sessions (for tests and metrics). */
  get size(): number {
    return this.sessions.size;
  }

  /** Flips one byte in the next `n` output chunks (one-shot fault for echo-verification tests). */
  corruptNextEcho(n = 1): void {
    this.corruptNext += n;
  }

  maybeCorrupt(out: Buffer): void {
    if (out.length === 0) return;
    const rate = this.knobs().corruptEchoRate;
    if (this.corruptNext > 0) this.corruptNext--;
    else if (!(rate > 0 && this.host.random() < rate)) return;
    const at = out.length - 1;
    out[at] = out[at]! ^ 0x01;
  }

  countOut(n: number): void {
    if (n > 0) this.host.metrics.bytes("pty", "out", n);
  }

  forget(s: PtySession): void {
    if (this.sessions.get(s.key) === s) {
      this.sessions.delete(s.key);
      this.host.metrics.sessions("pty", -1);
      this.emit("ended", s.key);
    }
  }

  /** Attaches `ws` to the session `reconnect` of `agentId`, starting `command` when the session is new. */
  attach(ws: WebSocket, agentId: string, reconnect: string, size: { width: number; height: number }, command: string): void {
    const key = `${agentId}/${reconnect.toLowerCase()}`;
    let session = this.sessions.get(key);
    const isNew = !session;
    if (!session) {
      session = new PtySession(key, programFor(command), size, this);
      this.sessions.set(key, session);
      this.host.metrics.sessions("pty", 1);
    } else {
      session.width = size.width;
      session.height = size.height;
    }
    const s = session;
    const decoder = new JsonObjectStream();
    ws.on("message", (raw: RawData, isBinary: boolean) => {
      if (!isBinary) {
        ws.close(1003, "unexpected frame type");
        return;
      }
      const chunk = rawToBuffer(raw);
      this.host.metrics.bytes("pty", "in", chunk.length);
      try {
        decoder.push(chunk, (obj) => s.input(obj));
      } catch (err) {
        // The agent drops a connection whose input does not decode; coderd then closes normally.
        ws.close(1000, `decode: ${err instanceof Error ? err.message : String(err)}`.slice(0, 120));
      }
    });
    ws.on("close", () => s.detach(ws));
    s.attach(ws, isNew);
  }

  /** Kills every session (simulator shutdown). */
  closeAll(): void {
    for (const s of [...this.sessions.values()]) s.end();
  }
}

/** Turns any `ws` message payload into one Buffer. */
export function rawToBuffer(raw: RawData): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw);
  return Buffer.from(raw);
}

type Validation = { field: string; detail: string };

/** Parses reconnect/width/height as coderd does; returns the field validations on failure. */
export function parsePtyQuery(url: URL): { reconnect: string; width: number; height: number; command: string } | { validations: Validation[] } {
  const validations: Validation[] = [];
  const reconnect = url.searchParams.get("reconnect") ?? "";
  if (reconnect === "") validations.push({ field: "reconnect", detail: 'Query param "reconnect" is required and cannot be empty' });
  else if (!isUUID(reconnect)) validations.push({ field: "reconnect", detail: 'Query param "reconnect" must be a valid uuid' });
  const uint = (name: string): number => {
    const raw = url.searchParams.get(name) ?? "";
    if (raw === "") return 80;
    if (!/^\d+$/.test(raw)) {
      validations.push({ field: name, detail: `Query param "${name}" must be a valid positive integer (strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax)` });
      return 0;
    }
    const n = Number(raw);
    if (n > Number.MAX_SAFE_INTEGER) {
      validations.push({ field: name, detail: `Query param "${name}" must be a valid positive integer (strconv.ParseUint: parsing ${JSON.stringify(raw)}: value out of range)` });
      return 0;
    }
    return n & 0xffff; // Go converts to uint16 without a range check.
  };
  const height = uint("height");
  const width = uint("width");
  if (validations.length > 0) return { validations };
  return { reconnect, width, height, command: url.searchParams.get("command") ?? "" };
}

/** The PTY WebSocket endpoint: route matching, coderd's checks in coderd's order, then the upgrade. */
export class PtyEndpoint {
  readonly sessions: PtySessions;
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: PTY_MAX_MESSAGE_BYTES });

  constructor(
    private readonly host: TrafficHost,
    private readonly sockets: TrafficSockets,
  ) {
    this.sessions = new PtySessions(host);
  }

  /** Handles an upgrade request when its path is `/api/v2/workspaceagents/{id}/pty`; returns false otherwise. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean {
    const m = PTY_RE.exec(url.pathname);
    if (!m) return false;
    const agent = authorizeAgentUpgrade(this.host, req, socket, url, decodeURIComponent(m[1]!));
    if (!agent) return true;
    const q = parsePtyQuery(url);
    if ("validations" in q) {
      rejectUpgrade(socket, 400, { message: "Invalid query parameters.", validations: q.validations });
      return true;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.host.metrics.connection("pty");
      this.sockets.track(ws, "pty", PTY_ROUTE, agent.id);
      this.sessions.attach(ws, agent.id, q.reconnect, { width: q.width, height: q.height }, q.command);
    });
    return true;
  }

  close(): void {
    this.sessions.closeAll();
    this.wss.close();
  }
}

/** Plug-in registering the PTY route; coderd puts it behind the API rate limiter. */
export const ptyModule: SimulatorModule = {
  name: "pty",
  setup(ctx) {
    const controls = trafficControls(ctx);
    const pty = new PtyEndpoint(controls.host, controls.sockets);
    ptyByContext.set(ctx, pty);
    addTrafficEndpoint(ctx, pty, { name: PTY_ROUTE, match: (_req, url) => PTY_RE.test(url.pathname), apiLimited: true });
  },
};

const ptyByContext = new WeakMap<SimContext, PtyEndpoint>();

/** The PTY endpoint of a running simulator (`sim.ctx`), for tests' fault hooks; undefined without the pty module. */
export function ptyEndpointOf(ctx: SimContext): PtyEndpoint | undefined {
  return ptyByContext.get(ctx);
}
