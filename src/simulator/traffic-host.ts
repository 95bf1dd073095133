// What the simulator's traffic endpoints (PTY, apps, SSH) need from the core, plus their shared upgrade, auth and fault plumbing.
import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { Counter, Gauge } from "prom-client";
import type { WebSocket } from "ws";
import type { ApiResponse } from "../coder/types.ts";
import { AGENT } from "../metrics/names.ts";
import { cookie, tryAuthenticate } from "./auth.ts";
import type { SimContext } from "./module.ts";
import type { SimState } from "./state.ts";
import type { SimAgent, SimUser } from "./records.ts";

/** The authenticated caller of a traffic endpoint. */
export interface TrafficCaller {
  id: string;
  username: string;
  /** Holds the site-wide "owner" role. */
  siteOwner: boolean;
}

/** One app of an agent, as its template declares it. */
export interface TrafficApp {
  slug: string;
  /** The URL inside the workspace (its port picks the websocat server: 1234 echo, 1235 random, 1236 discard). */
  url: string;
  subdomain: boolean;
  sharingLevel: "owner" | "authenticated" | "public";
}

/** An agent and the workspace it belongs to. */
export interface TrafficAgent {
  id: string;
  name: string;
  /** The agent is connected (otherwise coderd answers 502 "app offline"). */
  connected: boolean;
  workspaceId: string;
  workspaceName: string;
  ownerId: string;
  ownerName: string;
  apps: TrafficApp[];
}

/** Knobs the traffic endpoints read live (the core's knobs plus ours). */
export interface TrafficKnobs {
  /** Chance (0..1) that a traffic WebSocket is dropped abnormally mid-run. */
  dropSocketsRate: number;
  /** The effective wildcard app host, e.g. `*.apps.sim.localhost:4000` ("" = no subdomain apps). */
  appHost: string;
  /** A session with no attached connection is killed after this long (milliseconds). */
  ptyReconnectTimeoutMs?: number;
  /** Chance (0..1) that a PTY output chunk has one byte flipped. */
  corruptEchoRate?: number;
  /** Upper bound of the wsra random stream per connection (bytes per second; 0 = as fast as the socket drains). */
  wsraBytesPerSecond?: number;
  /** coderd's --dangerous-allow-path-app-site-owner-access. */
  allowPathAppSiteOwnerAccess?: boolean;
  /** coderd's --disable-owner-workspace-access: site owners lose exec/app access to others' workspaces. */
  disableOwnerWorkspaceAccess?: boolean;
}

/** Traffic counters the endpoints bump (agent-side metrics plus byte totals). */
export interface TrafficMetrics {
  /** A connection was accepted on `kind`. */
  connection(kind: TrafficKind): void;
  /** Bytes moved: "in" = from the client, "out" = to the client. */
  bytes(kind: TrafficKind, direction: "in" | "out", n: number): void;
  /** Live sessions changed by `delta`. */
  sessions(kind: TrafficKind, delta: number): void;
  /** A coderd API WebSocket opened on `path` (route pattern); call the result once when it closes. */
  websocketOpened(path: string): () => void;
}

export type TrafficKind = "pty" | "app" | "ssh";

/** The core's side of the contract. */
export interface TrafficHost {
  /**
   * The caller from (in coderd's order) the `coder_session_token` cookie, the `coder_session_token`
   * query parameter, the `Coder-Session-Token` header, then the cookies named in `extraCookies`.
   */
  authenticate(req: IncomingMessage, url: URL, extraCookies: readonly string[]): TrafficCaller | undefined;
  /** The agent with this ID (of a non-deleted workspace). */
  agent(id: string): TrafficAgent | undefined;
  /** Agents of `owner`'s workspace `workspace` (latest build); empty when there is no such workspace. */
  agentsOf(owner: string, workspace: string): TrafficAgent[];
  knobs(): TrafficKnobs;
  /** The deployment (dashboard) URL, e.g. `http://127.0.0.1:4000`; subdomain auth redirects point there. */
  accessUrl(): string;
  /** The simulator's seeded PRNG in [0, 1). */
  random(): number;
  metrics: TrafficMetrics;
}

/** Answers an upgrade request with a plain HTTP response and closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, body: ApiResponse | { html: string } | { location: string }, extraHeaders: Record<string, string> = {}): void {
  let text = "";
  const headers: Record<string, string> = { Connection: "close", ...extraHeaders };
  if ("html" in body) {
    text = body.html;
    headers["Content-Type"] = "text/html; charset=utf-8";
  } else if ("location" in body) {
    headers.Location = body.location;
  } else {
    text = JSON.stringify(body);
    headers["Content-Type"] = "application/json; charset=utf-8";
  }
  headers["Content-Length"] = String(Buffer.byteLength(text));
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join("\r\n");
  if (socket.writable) socket.end(`${head}\r\n\r\n${text}`);
  else socket.destroy();
}

/** coderd's "Resource not found" body for traffic routes (404 for unauthenticated and unauthorized alike). */
export const NOT_FOUND_BODY: ApiResponse = { message: "Resource not found or you do not have access to this resource" };

/** coderd's 502 page when the agent is not connected (the app-offline page). */
export function agentOfflineHtml(agent: TrafficAgent): string {
  return `<!doctype html><html><head><title>Application Unavailable</title></head><body><h1>Application Unavailable</h1><p>Agent state is "${agent.connected ? "connected" : "disconnected"}"; the workspace agent ${escapeHtml(agent.name)} is not connected.</p></body></html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** May `caller` exec into (PTY, SSH) the workspace of `agent`? Its owner, or a site owner unless that is disabled. */
export function canExec(host: TrafficHost, caller: TrafficCaller, agent: TrafficAgent): boolean {
  if (caller.id === agent.ownerId) return true;
  return caller.siteOwner && !host.knobs().disableOwnerWorkspaceAccess;
}

/**
 * coderd's checks for agent WebSocket routes (PTY, SSH), in its order: authentication and
 * authorization (404 either way), then agent connectivity (502 HTML). Returns the agent or
 * undefined after answering.
 */
export function authorizeAgentUpgrade(host: TrafficHost, req: IncomingMessage, socket: Duplex, url: URL, agentId: string): TrafficAgent | undefined {
  const caller = host.authenticate(req, url, ["coder_path_app_session_token"]);
  const agent = host.agent(agentId);
  if (!caller || !agent || !canExec(host, caller, agent)) {
    rejectUpgrade(socket, 404, NOT_FOUND_BODY);
    return undefined;
  }
  if (!agent.connected) {
    rejectUpgrade(socket, 502, { html: agentOfflineHtml(agent) });
    return undefined;
  }
  return agent;
}

/** How a test-triggered drop ends a socket: close frame 1011, or the TCP connection cut without a close frame. */
export type DropMode = "1011" | "terminate";

/** How many socket records a simulator keeps. */
const MAX_SOCKET_RECORDS = 100_000;

/** One accepted traffic socket: what it reached and when, in epoch milliseconds. */
export interface SocketRecord {
  kind: TrafficKind;
  path: string;
  /** The agent it reached (PTY, SSH, apps), when the endpoint knows it. */
  agentId?: string;
  openedAt: number;
  /** When the client's first message arrived (its first write); undefined until then. */
  firstMessageAt?: number;
}

/**
 * Open traffic sockets of one simulator: coderd's websocket gauge, and the abnormal drops the
 * `dropSocketsRate` knob and `dropAll` inject.
 */
export class TrafficSockets {
  private readonly open = new Map<WebSocket, TrafficKind>();
  /** Sockets the `dropSocketsRate` knob picked to cut so far (what a fault test sets aside). */
  injectedDrops = 0;
  /** The sockets accepted so far, in order (the newest MAX_SOCKET_RECORDS): who was driven, and when its traffic began. */
  readonly records: SocketRecord[] = [];

  constructor(private readonly host: TrafficHost) {}

  /** Registers an accepted socket. A socket picked by `dropSocketsRate` is cut on its first message from the client, or 500 ms after opening if none comes. */
  track(ws: WebSocket, kind: TrafficKind, path: string, agentId?: string): void {
    const done = this.host.metrics.websocketOpened(path);
    this.open.set(ws, kind);
    const record: SocketRecord = { kind, path, agentId, openedAt: Date.now() };
    // A long-lived `scaletest sim` forgets the oldest half rather than grow without bound.
    if (this.records.length >= MAX_SOCKET_RECORDS) this.records.splice(0, MAX_SOCKET_RECORDS / 2);
    this.records.push(record);
    ws.once("message", () => (record.firstMessageAt = Date.now()));
    // Protocol errors (oversized or malformed frames) already close the socket with the right code.
    ws.on("error", () => {});
    ws.once("close", () => {
      this.open.delete(ws);
      done();
    });
    const rate = this.host.knobs().dropSocketsRate;
    if (rate > 0 && this.host.random() < rate) {
      this.injectedDrops++;
      const timer = setTimeout(() => ws.terminate(), 500);
      timer.unref();
      ws.once("message", () => {
        clearTimeout(timer);
        setImmediate(() => ws.terminate());
      });
      ws.once("close", () => clearTimeout(timer));
    }
  }

  /** Number of open sockets, optionally of one kind. */
  count(kind?: TrafficKind): number {
    if (!kind) return this.open.size;
    let n = 0;
    for (const k of this.open.values()) if (k === kind) n++;
    return n;
  }

  /** Drops every open socket (of `kind`, or all) abnormally; returns how many. */
  dropAll(opts: { mode?: DropMode; kind?: TrafficKind } = {}): number {
    let n = 0;
    for (const [ws, kind] of [...this.open]) {
      if (opts.kind && opts.kind !== kind) continue;
      n++;
      if (opts.mode === "1011") ws.close(1011, "simulated failure");
      else ws.terminate();
    }
    return n;
  }
}

/** What the traffic endpoints of one simulator share (each endpoint module keeps its own handle, e.g. ptyEndpointOf). */
export interface TrafficControls {
  host: TrafficHost;
  sockets: TrafficSockets;
}

const controlsByContext = new WeakMap<SimContext, TrafficControls>();

/** The traffic controls of a running simulator (`sim.ctx`); created on first use by a module's setup. */
export function trafficControls(ctx: SimContext): TrafficControls {
  let c = controlsByContext.get(ctx);
  if (!c) {
    const host = hostFromContext(ctx);
    c = { host, sockets: new TrafficSockets(host) };
    controlsByContext.set(ctx, c);
  }
  return c;
}

/** What a traffic endpoint offers the core: raw upgrade handling and shutdown. */
export interface TrafficEndpoint {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean;
  close(): void;
}

/**
 * Registers an endpoint as a raw upgrade route (it runs its own ws server and websocket metrics)
 * and closes it with the simulator. `apiLimited` puts it behind the API rate limiter and 5xx/429 faults.
 */
export function addTrafficEndpoint(ctx: SimContext, endpoint: TrafficEndpoint, route: { name: string; match(req: IncomingMessage, url: URL): boolean; apiLimited: boolean }): void {
  ctx.addUpgrade<true>({
    name: route.name,
    match: (req, url) => (route.match(req, url) ? true : null),
    apiLimited: route.apiLimited,
    accept: () => {
      // The knob counts itself down in place: sim.knobs() shows the refusals still to come.
      const knobs = ctx.knobs();
      if (knobs.refuseUpgrades <= 0) return;
      knobs.refuseUpgrades--;
      return { status: 503, body: JSON.stringify({ message: "Service Unavailable", detail: "simulated fault: refuseUpgrades" }) };
    },
    upgrade: (req, socket, head) => {
      endpoint.handleUpgrade(req, socket, head, new URL(req.url ?? "/", "http://simulator.invalid"));
    },
  });
  ctx.onClose(() => endpoint.close());
}

/** Adapts the simulator core (state, auth, knobs, metrics registry) to what the traffic endpoints need. */
function hostFromContext(ctx: SimContext): TrafficHost {
  const { state } = ctx;
  const toAgent = (a: SimAgent): TrafficAgent | undefined => {
    const ws = a.workspaceId ? state.workspaces.get(a.workspaceId) : undefined;
    if (!ws || ws.deleted) return undefined;
    const owner = state.users.get(ws.ownerId);
    if (!owner) return undefined;
    return {
      id: a.id,
      name: a.name,
      // An agent of an older build still exists in coderd, but nothing runs it any more (502, not 404).
      connected: a.status === "connected" && state.latestBuild(ws).id === a.buildId,
      workspaceId: ws.id,
      workspaceName: ws.name,
      ownerId: owner.id,
      ownerName: owner.username,
      apps: a.apps.map((app) => ({ slug: app.def.slug, url: app.def.url, subdomain: app.def.subdomain, sharingLevel: app.def.sharingLevel })),
    };
  };
  return {
    authenticate(req, url, extraCookies) {
      const user = tryAuthenticate(state, req, url) ?? extraCookieUser(state, req, extraCookies);
      return user ? { id: user.id, username: user.username, siteOwner: state.isOwner(user) } : undefined;
    },
    agent(id) {
      const a = ctx.agentById(id);
      return a && toAgent(a);
    },
    agentsOf(owner, workspace) {
      const ws = ctx.findWorkspace(owner, workspace);
      if (!ws) return [];
      return state.agentsOf(state.latestBuild(ws)).flatMap((a) => toAgent(a) ?? []);
    },
    knobs: () => ({ ...ctx.knobs(), appHost: ctx.appHost() }),
    accessUrl: () => ctx.url,
    random: () => ctx.random(),
    metrics: createTrafficMetrics(ctx),
  };
}

/** coderd's last token sources for apps and the terminal: the app-session cookies. */
function extraCookieUser(state: SimState, req: IncomingMessage, names: readonly string[]): SimUser | null {
  for (const name of names) {
    const token = cookie(req, name);
    // Validate it exactly like a header token (same format checks, expiry and user state).
    if (token) return tryAuthenticate(state, { headers: { "coder-session-token": token } } as unknown as IncomingMessage, new URL("http://simulator.invalid/"));
  }
  return null;
}

/** Agent metrics on the simulator's registry. rx/tx report the bytes moved since the previous scrape (the "stats window"). */
function createTrafficMetrics(ctx: SimContext): TrafficMetrics {
  const registers = [ctx.metrics.registry];
  const ptyConnections = new Counter({ name: AGENT.reconnectingPtyConnections, help: "Total number of reconnecting PTY connections.", registers });
  const sessionsTotal = new Counter({ name: AGENT.sessions, help: "Total number of sessions.", labelNames: ["magic_type", "pty"] as const, registers });
  const live: Record<TrafficKind, number> = { pty: 0, app: 0, ssh: 0 };
  const window = { rx: 0, tx: 0 };
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  gauge(AGENT.sessionCountReconnectingPty, "The number of reconnecting PTY sessions.", () => live.pty);
  gauge(AGENT.sessionCountSsh, "The number of SSH sessions.", () => live.ssh);
  gauge(AGENT.connectionCount, "The number of established connections by agent.", () => live.pty + live.app + live.ssh);
  const drain = (key: "rx" | "tx") => () => {
    const n = window[key];
    window[key] = 0;
    return n;
  };
  gauge(AGENT.rxBytes, "Agent Rx bytes.", drain("rx"));
  gauge(AGENT.txBytes, "Agent Tx bytes.", drain("tx"));
  return {
    connection(kind) {
      if (kind === "pty") ptyConnections.inc();
      else if (kind === "ssh") sessionsTotal.inc({ magic_type: "ssh", pty: "no" });
    },
    bytes(_kind, direction, n) {
      // The agent receives what the client sends ("in") and transmits what the client reads.
      if (direction === "in") window.rx += n;
      else window.tx += n;
    },
    sessions(kind, delta) {
      live[kind] += delta;
    },
    websocketOpened: (path) => ctx.metrics.websocketOpened(path),
  };
}
