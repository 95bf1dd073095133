// The simulator's SSH path: a sim-ssh WebSocket (what the `coder` shim dials) piped to the agent's SSH server, built in or a real sshd.
import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { SimContext, SimulatorModule } from "./module.ts";
import { rawToBuffer } from "./pty.ts";
import { AgentSshServer } from "./ssh-server.ts";
import { addTrafficEndpoint, authorizeAgentUpgrade, trafficControls, type TrafficHost, type TrafficSockets } from "./traffic-host.ts";

/** The route the shim dials for `coder ssh --stdio` (the simulator's stand-in for the tailnet hop to agent port 1). */
export const SIM_SSH_ROUTE = "/api/v2/workspaceagents/{workspaceagent}/sim-ssh";
const SIM_SSH_RE = /^\/api\/v2\/workspaceagents\/([^/]+)\/sim-ssh\/?$/;

/** An external SSH server an agent's connections go to (e.g. a real OpenSSH sshd in tests). */
export interface SshTarget {
  host: string;
  port: number;
}

/** Largest chunk the bridge queues towards the client before pausing the SSH side (bytes). */
const HIGH_WATER = 1024 * 1024;

/**
 * A WebSocket as a byte stream: binary messages in, binary messages out, with backpressure both
 * ways. A text frame closes with 1003. Ending the stream closes the socket normally.
 */
export class WebSocketByteStream extends Duplex {
  constructor(
    private readonly ws: WebSocket,
    private readonly count: (direction: "in" | "out", n: number) => void = () => {},
  ) {
    super({ allowHalfOpen: false });
    ws.on("message", (raw, isBinary) => {
      if (!isBinary) {
        ws.close(1003, "unexpected frame type");
        return;
      }
      const data = rawToBuffer(raw);
      this.count("in", data.length);
      if (!this.push(data)) ws.pause();
    });
    ws.on("close", () => {
      this.push(null);
      this.destroy();
    });
  }

  override _read(): void {
    this.ws.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return cb();
    this.count("out", chunk.length);
    let called = false;
    const done = () => {
      if (called) return;
      called = true;
      cb();
    };
    this.ws.send(chunk, { binary: true }, done);
    // Let the writer run ahead until the socket's buffer is large; past that, wait for the flush.
    if (this.ws.bufferedAmount < HIGH_WATER) done();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000, "");
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(err ? 1011 : 1000, err ? err.message.slice(0, 120) : "");
    cb(err);
  }
}

/** The sim-ssh endpoint: per-agent SSH targets ("*" = every agent), the built-in server otherwise. */
export class SshEndpoint {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly targets = new Map<string, SshTarget>();
  private builtin: AgentSshServer | undefined;
  private readonly tcp = new Set<Socket>();

  constructor(
    private readonly host: TrafficHost,
    private readonly sockets: TrafficSockets,
  ) {}

  /** Sends SSH connections of `agentId` (or of every agent, "*") to `target`; `undefined` restores the built-in server. */
  setTarget(agentId: string, target: SshTarget | undefined): void {
    const key = agentId === "*" ? "*" : agentId.toLowerCase();
    if (target) this.targets.set(key, target);
    else this.targets.delete(key);
  }

  /** The external target for an agent, if any. */
  targetFor(agentId: string): SshTarget | undefined {
    return this.targets.get(agentId.toLowerCase()) ?? this.targets.get("*");
  }

  /** The built-in agent SSH server (created on first use). */
  builtinServer(): AgentSshServer {
    this.builtin ??= new AgentSshServer({ session: (d) => this.host.metrics.sessions("ssh", d) });
    return this.builtin;
  }

  /** Handles `GET .../sim-ssh` upgrades, authenticated like the PTY; returns false for other paths. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean {
    const m = SIM_SSH_RE.exec(url.pathname);
    if (!m) return false;
    const agent = authorizeAgentUpgrade(this.host, req, socket, url, decodeURIComponent(m[1]!));
    if (!agent) return true;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, agent.id));
    return true;
  }

  private serve(ws: WebSocket, agentId: string): void {
    this.sockets.track(ws, "ssh", SIM_SSH_ROUTE, agentId);
    this.host.metrics.connection("ssh");
    const stream = new WebSocketByteStream(ws, (dir, n) => this.host.metrics.bytes("ssh", dir, n));
    stream.on("error", () => {});
    const target = this.targetFor(agentId);
    if (!target) {
      this.builtinServer().accept(stream);
      return;
    }
    // An external server: the simulator only relays bytes, as coderd's tailnet hop would.
    this.host.metrics.sessions("ssh", 1);
    ws.once("close", () => this.host.metrics.sessions("ssh", -1));
    const tcp = connect({ host: target.host, port: target.port });
    this.tcp.add(tcp);
    tcp.once("close", () => {
      this.tcp.delete(tcp);
      if (ws.readyState === ws.OPEN) ws.close(1000, "");
    });
    tcp.on("error", (err) => {
      if (ws.readyState === ws.OPEN) ws.close(1011, `dial: ${err.message}`.slice(0, 120));
    });
    ws.once("close", () => tcp.destroy());
    stream.pipe(tcp);
    tcp.pipe(stream);
  }

  close(): void {
    for (const t of this.tcp) t.destroy();
    this.builtin?.close();
    this.wss.close();
  }
}

/** Plug-in registering the sim-ssh route; `setSshTarget` points it at a real sshd. */
export const sshModule: SimulatorModule = {
  name: "ssh",
  setup(ctx) {
    const controls = trafficControls(ctx);
    const ssh = new SshEndpoint(controls.host, controls.sockets);
    sshByContext.set(ctx, ssh);
    addTrafficEndpoint(ctx, ssh, { name: SIM_SSH_ROUTE, match: (_req, url) => SIM_SSH_RE.test(url.pathname), apiLimited: false });
  },
};

const sshByContext = new WeakMap<SimContext, SshEndpoint>();

/** Sends the SSH connections of `agentId` (or "*" for all agents) of a running simulator to `target` (undefined = built-in server). */
export function setSshTarget(sim: { ctx: SimContext }, agentId: string, target: SshTarget | undefined): void {
  const ssh = sshByContext.get(sim.ctx);
  if (!ssh) throw new Error("set ssh target: the simulator runs without the ssh module");
  ssh.setTarget(agentId, target);
}
