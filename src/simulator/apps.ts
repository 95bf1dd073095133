// Simulated workspace apps: subdomain and path app routing with coderd's auth answers, and the wsec/wsra/wsdi WebSocket servers.
//
// NOTE: the simulator's default app host is `*.apps.localhost:<port>` (the `appHost` knob overrides it).
// Node does not resolve such names everywhere, so clients dial 127.0.0.1 and keep the app name in the
// Host header (the traffic client's `--resolve host:port:127.0.0.1`; tests pass a `lookup` override).
import { randomFillSync } from "node:crypto";
import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { SimulatorModule } from "./module.ts";
import { rawToBuffer } from "./pty.ts";
import {
  NOT_FOUND_BODY,
  agentOfflineHtml,
  addTrafficEndpoint,
  rejectUpgrade,
  trafficControls,
  type TrafficAgent,
  type TrafficApp,
  type TrafficCaller,
  type TrafficHost,
  type TrafficSockets,
} from "./traffic-host.ts";

/** What the app behind a URL does, as the kubernetes-minimal template's websocat servers do. */
export type AppMode = "echo" | "random" | "discard";

/** websocat servers by the port in the app URL (1234 mirror, 1235 `dd if=/dev/urandom`, 1236 `dd of=/dev/null`). */
const MODE_BY_PORT: Record<string, AppMode> = { "1234": "echo", "1235": "random", "1236": "discard" };

/** The server behind an app, or undefined when nothing listens on its URL in the workspace. */
export function appMode(app: TrafficApp): AppMode | undefined {
  try {
    return MODE_BY_PORT[new URL(app.url).port];
  } catch {
    return undefined;
  }
}

/** wsra stops queueing once this much is buffered for the socket (bytes). */
export const RANDOM_HIGH_WATER = 256 * 1024;
/** Size of each wsra message (bytes). */
export const RANDOM_CHUNK = 16 * 1024;
/** wsec stops reading from a client whose echoes pile up past this (bytes). */
const ECHO_HIGH_WATER = 4 * 1024 * 1024;
// One pool of random bytes; wsra sends rotating slices of it (fresh randomness per message is wasted CPU).
const RANDOM_POOL = randomFillSync(Buffer.alloc(1024 * 1024));

const NAME = "[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*";
// coderd's subdomain form: app--agent--workspace--user, the agent part optional.
const SUBDOMAIN_RE = new RegExp(`^(${NAME})(?:--(${NAME}))?--(${NAME})--(${NAME})$`);
const PATH_RE = /^\/@([^/]+)\/([^/]+)\/apps\/([^/]+)(\/.*)?$/;

/** The outcome of routing one request to an app. */
type Resolution =
  | { kind: "redirect"; status: 303 | 307; location: string }
  | { kind: "error"; status: number; body: typeof NOT_FOUND_BODY | { html: string } }
  | { kind: "app"; agent: TrafficAgent; app: TrafficApp; mode: AppMode };

/** Hostname (no port, lower case) of a host or host:port string. */
function hostname(hostPort: string): string {
  const h = hostPort.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.lastIndexOf(":");
  return colon >= 0 ? h.slice(0, colon) : h;
}

/** The label the wildcard matched, when `host` is under the app host pattern (ports ignored, as coderd does). */
export function matchAppHost(pattern: string, host: string): string | undefined {
  if (!pattern || !host) return undefined;
  return hostRegex(pattern).exec(hostname(host))?.[1];
}

// Every request is checked against the app host, so keep the compiled pattern.
let cachedPattern = "";
let cachedRegex = /$^/;
function hostRegex(pattern: string): RegExp {
  if (pattern !== cachedPattern) {
    const source = hostname(pattern)
      .split("*")
      .map((part) => part.replace(/[.+?^$()[\]\\|{}]/g, "\\$&"))
      .join("([^.]+)");
    cachedRegex = new RegExp(`^${source}$`);
    cachedPattern = pattern;
  }
  return cachedRegex;
}

/** The workspace-app servers and the routing in front of them. Emits "backpressure" when a wsra stream stalls on a slow reader. */
export class AppsEndpoint extends EventEmitter {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly streams = new Set<RandomStream>();
  private refill: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: TrafficHost,
    private readonly sockets: TrafficSockets,
  ) {
    super();
  }

  /** Routes a subdomain or path app request (by Host header or `/@owner/...`); returns false when it is not one. */
  resolve(req: IncomingMessage, url: URL): Resolution | undefined {
    const label = matchAppHost(this.host.knobs().appHost, req.headers.host ?? "");
    if (label !== undefined) return this.resolveSubdomain(req, url, label);
    const m = PATH_RE.exec(url.pathname);
    if (m) return this.resolvePath(req, url, m);
    return undefined;
  }

  private resolveSubdomain(req: IncomingMessage, url: URL, label: string): Resolution {
    const m = SUBDOMAIN_RE.exec(label);
    const found = m && this.find(m[4]!, m[3]!, m[2], m[1]!);
    if (!found) return { kind: "error", status: 404, body: NOT_FOUND_BODY };
    const caller = this.host.authenticate(req, url, ["coder_subdomain_app_session_token"]);
    if (!this.allowed(caller, found.agent, found.app.sharingLevel)) {
      if (caller) return { kind: "error", status: 404, body: NOT_FOUND_BODY };
      const appUrl = `${this.scheme(req)}://${req.headers.host}${url.pathname}${url.search}`;
      const location = `${this.host.accessUrl().replace(/\/+$/, "")}/api/v2/applications/auth-redirect?redirect_uri=${encodeURIComponent(appUrl)}`;
      return { kind: "redirect", status: 303, location };
    }
    return this.ready(found.agent, found.app);
  }

  private resolvePath(req: IncomingMessage, url: URL, m: RegExpExecArray): Resolution {
    if (m[4] === undefined) return { kind: "redirect", status: 307, location: `${url.pathname}/${url.search}` };
    const caller = this.host.authenticate(req, url, ["coder_path_app_session_token"]);
    const [workspace, agentName] = decodeURIComponent(m[2]!).split(".", 2);
    const owner = decodeURIComponent(m[1]!);
    const found = this.find(owner === "me" && caller ? caller.username : owner, workspace!, agentName, decodeURIComponent(m[3]!));
    if (!found || found.app.subdomain) return { kind: "error", status: 404, body: NOT_FOUND_BODY };
    // Path apps are forced to owner-level sharing, and site owners need the dangerous flag for others' path apps.
    const ok = caller && (caller.id === found.agent.ownerId || (caller.siteOwner && this.host.knobs().allowPathAppSiteOwnerAccess === true));
    if (!ok) {
      if (caller) return { kind: "error", status: 404, body: NOT_FOUND_BODY };
      return { kind: "redirect", status: 307, location: `/login?redirect=${encodeURIComponent(url.pathname + url.search)}` };
    }
    return this.ready(found.agent, found.app);
  }

  private find(owner: string, workspace: string, agentName: string | undefined, slug: string): { agent: TrafficAgent; app: TrafficApp } | undefined {
    const agents = this.host.agentsOf(owner, workspace);
    const agent = agentName ? agents.find((a) => a.name === agentName) : agents.length === 1 ? agents[0] : undefined;
    const app = agent?.apps.find((a) => a.slug === slug);
    return agent && app ? { agent, app } : undefined;
  }

  private allowed(caller: TrafficCaller | undefined, agent: TrafficAgent, level: TrafficApp["sharingLevel"]): boolean {
    if (level === "public") return true;
    if (!caller) return false;
    if (level === "authenticated" || caller.id === agent.ownerId) return true;
    return caller.siteOwner && !this.host.knobs().disableOwnerWorkspaceAccess;
  }

  private ready(agent: TrafficAgent, app: TrafficApp): Resolution {
    if (!agent.connected) return { kind: "error", status: 502, body: { html: agentOfflineHtml(agent) } };
    const mode = appMode(app);
    if (!mode) {
      const html = `<!doctype html><html><body><h1>Bad Gateway</h1><p>Failed to proxy request to application: dial ${app.url}: connect: connection refused</p></body></html>`;
      return { kind: "error", status: 502, body: { html } };
    }
    return { kind: "app", agent, app, mode };
  }

  private scheme(req: IncomingMessage): string {
    return (req.socket as { encrypted?: boolean }).encrypted ? "https" : "http";
  }

  /** Plain HTTP requests to apps get coderd's routing answers; a resolved app answers like websocat does. */
  handleRequest(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const r = this.resolve(req, url);
    if (!r) return false;
    if (r.kind === "redirect") {
      res.writeHead(r.status, { Location: r.location }).end();
    } else if (r.kind === "error") {
      const html = "html" in r.body;
      const text = html ? (r.body as { html: string }).html : JSON.stringify(r.body);
      res.writeHead(r.status, { "Content-Type": html ? "text/html; charset=utf-8" : "application/json; charset=utf-8" }).end(text);
    } else {
      res.writeHead(400, { "Content-Type": "text/plain", Server: "websocat" }).end("Only WebSocket connections are welcome here\n");
    }
    return true;
  }

  /** Upgrades an app WebSocket after routing; returns false when the request is not for an app. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean {
    const r = this.resolve(req, url);
    if (!r) return false;
    if (r.kind === "redirect") rejectUpgrade(socket, r.status, { location: r.location });
    else if (r.kind === "error") rejectUpgrade(socket, r.status, r.body);
    else {
      const path = r.app.subdomain ? "/" : "/@{user}/{workspace_and_agent}/apps/{workspaceapp}/*";
      this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, r.mode, path, r.agent.id));
    }
    return true;
  }

  private serve(ws: WebSocket, mode: AppMode, path: string, agentId: string): void {
    this.sockets.track(ws, "app", path, agentId);
    this.host.metrics.connection("app");
    this.host.metrics.sessions("app", 1);
    ws.once("close", () => this.host.metrics.sessions("app", -1));
    let paused = false;
    ws.on("message", (raw, isBinary) => {
      if (!isBinary) {
        ws.close(1003, "unexpected frame type");
        return;
      }
      const data = rawToBuffer(raw);
      this.host.metrics.bytes("app", "in", data.length);
      if (mode !== "echo") return;
      this.host.metrics.bytes("app", "out", data.length);
      ws.send(data, { binary: true }, () => {
        if (paused && ws.bufferedAmount < ECHO_HIGH_WATER / 2) {
          paused = false;
          ws.resume();
        }
      });
      if (!paused && ws.bufferedAmount > ECHO_HIGH_WATER) {
        paused = true;
        ws.pause();
      }
    });
    if (mode === "random") this.startRandom(ws);
  }

  private startRandom(ws: WebSocket): void {
    const stream = new RandomStream(ws, this);
    this.streams.add(stream);
    ws.once("close", () => {
      stream.closed = true;
      this.streams.delete(stream);
      if (this.streams.size === 0 && this.refill) {
        clearInterval(this.refill);
        this.refill = undefined;
      }
    });
    // One shared refill tick for every rate-limited stream, rather than a timer per connection.
    this.refill ??= setInterval(() => {
      const rate = this.rate();
      for (const s of this.streams) s.refill(rate);
    }, REFILL_MS);
    this.refill.unref();
    stream.pump();
  }

  /** The wsra per-connection rate cap (bytes per second; 0 = unbounded). */
  rate(): number {
    return this.host.knobs().wsraBytesPerSecond ?? 0;
  }

  /** Counts bytes a wsra stream sent. */
  sent(n: number): void {
    this.host.metrics.bytes("app", "out", n);
  }

  close(): void {
    if (this.refill) clearInterval(this.refill);
    this.refill = undefined;
    this.wss.close();
  }
}

const REFILL_MS = 20;

/** One wsra connection: random messages as fast as the reader (and the rate knob) allow. */
class RandomStream {
  closed = false;
  private offset = 0;
  private scheduled = false;
  private budget: number;

  constructor(
    private readonly ws: WebSocket,
    private readonly owner: AppsEndpoint,
  ) {
    // Start with one refill's worth so a capped stream begins at once.
    this.budget = (owner.rate() * REFILL_MS) / 1000;
  }

  refill(rate: number): void {
    if (rate <= 0) return;
    // Cap the bucket at one chunk or two refills, so an idle stream cannot burst.
    this.budget = Math.min(this.budget + (rate * REFILL_MS) / 1000, Math.max(RANDOM_CHUNK, (2 * rate * REFILL_MS) / 1000));
    this.pump();
  }

  private readonly onSent = (): void => {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  };

  pump(): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    const rate = this.owner.rate();
    let burst = 0;
    while (this.ws.bufferedAmount < RANDOM_HIGH_WATER && burst < 1024 * 1024) {
      let n = RANDOM_CHUNK;
      if (rate > 0) {
        n = Math.min(n, Math.floor(this.budget));
        if (n <= 0) return;
        this.budget -= n;
      }
      if (this.offset + n > RANDOM_POOL.length) this.offset = 0;
      this.ws.send(RANDOM_POOL.subarray(this.offset, this.offset + n), { binary: true }, this.onSent);
      this.offset += n;
      burst += n;
      this.owner.sent(n);
    }
    if (this.ws.bufferedAmount >= RANDOM_HIGH_WATER) this.owner.emit("backpressure", this.ws.bufferedAmount);
  }
}

/** Plug-in registering app routing for WebSockets and plain requests (by Host header or `/@owner/...` path). */
export const appsModule: SimulatorModule = {
  name: "apps",
  setup(ctx) {
    const controls = trafficControls(ctx);
    const apps = new AppsEndpoint(controls.host, controls.sockets);
    const name = "/@{user}/{workspace_and_agent}/apps/{workspaceapp}/*";
    const match = (req: IncomingMessage, url: URL) => apps.resolve(req, url) !== undefined;
    addTrafficEndpoint(ctx, apps, { name, match, apiLimited: false });
    ctx.addRequestRoute<true>({
      name,
      match: (req, url) => (match(req, url) ? true : null),
      apiLimited: false,
      handle: (req, res) => {
        apps.handleRequest(req, res, new URL(req.url ?? "/", "http://simulator.invalid"));
      },
    });
  },
};
