// The Coder simulator: a coderd stand-in on a Node http server (REST, build-log WebSockets, metrics, fault knobs) that modules extend.
//
// Extension points (for the PTY, app and SSH modules):
//   1. Write a module exporting a `SimulatorModule` ({ name, setup(ctx) }); see module.ts for `SimContext`.
//   2. Add one import and one entry to MODULES below.
// In `setup(ctx)` a module can:
//   - ctx.addUpgrade({ name, match(req, url) -> params | null, maxPayload?, apiLimited?, accept?, handle(ws, req, params, ctx) })
//     (or `upgrade(req, socket, head, params, ctx)` to take the raw socket, e.g. an endpoint with its own ws server)
//     for WebSockets. Upgrade routes are tried in registration order; each gets its own ws server (maxPayload per route,
//     perMessageDeflate off). `accept` runs before the upgrade and may throw HttpError (JSON) or return
//     { status, headers, body } (e.g. 502 HTML "app offline"). API-limited routes pass the rate limiter and fault knobs first.
//     Open sockets are counted in coderd_api_concurrent_websockets and timed in coderd_api_websocket_durations_seconds.
//   - ctx.addRequestRoute({ name, match, handle(req, res, params, ctx) }) for plain HTTP matched by anything (Host header of
//     subdomain apps, `/@owner/ws.agent/apps/slug/` path apps); checked before /api/v2 routing.
//   - ctx.addRoute(method, "/api/v2/...{param}...", handler, { auth }) for REST routes; the handler gets { req, res, url,
//     params, route, user } and returns [status, body] or writes the response itself.
//   - ctx.authenticate(req), ctx.findWorkspace(owner, name), ctx.agentById(id), ctx.isAgentConnected(id),
//     ctx.canAccessWorkspace(user, ws), ctx.parseAppHost(host), ctx.appHost(), ctx.knobs() (e.g. dropSocketsRate),
//     ctx.random(), ctx.metrics (registry for extra families), ctx.onClose(fn).
import { randomUUID } from "node:crypto";
import { STATUS_CODES, createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { WebSocketServer, type WebSocket } from "ws";
import type { Organization, Template, User } from "../coder/types.ts";
import { assertNoProblems, getErrorMessage } from "../errors.ts";
import { seededRandom } from "../util/random.ts";
import { tryAuthenticate, authenticate as authenticateOrThrow } from "./auth.ts";
import { appsModule } from "./apps.ts";
import { buildLogsModule } from "./build-logs.ts";
import { Entities } from "./entities.ts";
import { RateLimiter, injectFault } from "./faults.ts";
import { HttpError, Router, SIM_VERSION, sendJSON, type RouteHandler, type RouteOptions } from "./http.ts";
import { DEFAULT_KNOBS, validateKnobs, type Knobs } from "./knobs.ts";
import { outageControl } from "./outage.ts";
import { createSimMetrics } from "./metrics.ts";
import type { AppHostTarget, RequestRoute, SimContext, SimulatorModule, UpgradeRejection, UpgradeRoute } from "./module.ts";
import { dashboardPagesModule } from "./pages/index.ts";
import { ptyModule } from "./pty.ts";
import { registerFileRoutes } from "./routes/files.ts";
import { registerKeyRoutes } from "./routes/keys.ts";
import { registerMiscRoutes } from "./routes/misc.ts";
import { registerTemplateRoutes } from "./routes/templates.ts";
import { registerUserRoutes } from "./routes/users.ts";
import { registerWorkspaceRoutes } from "./routes/workspaces.ts";
import { sshModule } from "./ssh.ts";
import { SimState, type SimUser } from "./state.ts";
import { BUILTIN_TEMPLATES, type TemplateDefinition } from "./templates.ts";

export type { Knobs } from "./knobs.ts";
export type { SimContext, SimulatorModule, UpgradeRoute, RequestRoute } from "./module.ts";
export { HttpError } from "./http.ts";

/** Plug-in modules, in order. Add the PTY, apps and SSH modules here (one import + one entry each). */
const MODULES: SimulatorModule[] = [buildLogsModule, ptyModule, appsModule, sshModule, dashboardPagesModule];

export interface SimulatorOptions {
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** Listen port; default 0 (any free port). */
  port?: number;
  /** Initial knob values (validated; bad values throw ConfigError naming the knob). */
  knobs?: Partial<Knobs>;
  ownerUsername?: string;
  ownerEmail?: string;
  /** Password of the owner for POST /users/login; default "SomeSecurePassword!". */
  ownerPassword?: string;
  organizationName?: string;
  /** Templates to create at start; default BUILTIN_TEMPLATES (the first is `simulator.template`). */
  templates?: TemplateDefinition[];
  /** Extra modules after the built-in ones (tests, experiments). */
  modules?: SimulatorModule[];
  /** Test-only: rewrites a JSON body before it is sent (contract tests break a shape on purpose). */
  responseTransform?: (info: { method: string; route: string; status: number }, body: unknown) => unknown;
  /** Keep at most this many entries in `requests` (oldest dropped); default 100000. */
  maxRequestLog?: number;
  /** Test-only: sees every request and upgrade as it arrives (e.g. to check the headers a client sends). */
  onRequest?: (req: IncomingMessage, kind: "http" | "upgrade") => void;
}

/** One handled request, for tests and the demo. */
export interface RequestRecord {
  method: string;
  path: string;
  /** Route pattern or upgrade route name ("" when nothing matched). */
  route: string;
  status: number;
  ip: string;
}

export interface Simulator {
  /** Base URL, e.g. http://127.0.0.1:41234. */
  url: string;
  host: string;
  port: number;
  /** The owner's API token. Never log it. */
  sessionToken: string;
  owner: User;
  organization: Organization;
  /** The first template (kubernetes-minimal by default). */
  template: Template;
  templates: Template[];
  state: SimState;
  ctx: SimContext;
  requests: RequestRecord[];
  knobs(): Knobs;
  /** Changes knobs live; throws ConfigError naming the bad knob. */
  setKnobs(partial: Partial<Knobs>): void;
  /**
   * A coderd that went away: stops listening and cuts every open connection (HTTP and WebSocket), so clients see
   * resets, then refused connections. The state (users, workspaces, builds, agents' PTY sessions) is kept.
   */
  stopListening(): Promise<void>;
  /** The same coderd back on the same address and port, with the state it had. */
  resumeListening(): Promise<void>;
  close(): Promise<void>;
}

const OWNER_TOKEN_LIFETIME_MS = 30 * 24 * 3600_000;

/** Starts the simulator and resolves once it listens. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  assertNoProblems(validateKnobs(opts.knobs ?? {}));
  let knobs: Knobs = { ...DEFAULT_KNOBS, ...opts.knobs };
  let rand = seededRandom(knobs.seed);
  const random = () => rand();
  const state = new SimState(() => knobs, random);
  const metrics = createSimMetrics(state);
  state.events.jobCompleted = (job, build, seconds) => metrics.jobCompleted(job, build, seconds);
  state.events.queried = (query, seconds) => metrics.dbQuery(query, seconds);
  const entities = new Entities(state);
  const router = new Router<SimUser>();
  const upgrades: UpgradeRoute<unknown>[] = [];
  const requestRoutes: RequestRoute<unknown>[] = [];
  const wsServers = new Map<UpgradeRoute<unknown>, WebSocketServer>();
  const closeHooks: Array<() => void | Promise<void>> = [];
  const limiter = new RateLimiter();
  const requests: RequestRecord[] = [];
  const maxLog = opts.maxRequestLog ?? 100_000;
  const host = opts.host ?? "127.0.0.1";
  let baseUrl = "";
  let port = 0;

  const record = (r: RequestRecord) => {
    requests.push(r);
    if (requests.length > maxLog) requests.splice(0, requests.length - maxLog);
  };
  const appHost = () => knobs.appHost || `*.apps.${isIP(host) || host === "localhost" ? "localhost" : host}:${port}`;

  const ctx: SimContext = {
    get url() {
      return baseUrl;
    },
    state,
    entities,
    metrics,
    knobs: () => knobs,
    random,
    authenticate: (req) => tryAuthenticate(state, req, requestURL(req)),
    appHost,
    parseAppHost(hostHeader): AppHostTarget | null {
      if (!hostHeader) return null;
      const suffix = appHost().slice(1).toLowerCase();
      const h = hostHeader.toLowerCase();
      const withoutPort = suffix.replace(/:\d+$/, "");
      const label = h.endsWith(suffix) ? h.slice(0, -suffix.length) : h.endsWith(withoutPort) && !h.includes(":") ? h.slice(0, -withoutPort.length) : null;
      if (!label || label.includes(".")) return null;
      const parts = hostHeader.slice(0, label.length).split("--");
      if (parts.length !== 4 || parts.some((p) => p === "")) return null;
      return { slug: parts[0]!, agentName: parts[1]!, workspaceName: parts[2]!, ownerName: parts[3]! };
    },
    findWorkspace(ownerName, workspaceName) {
      const owner = state.userByName(ownerName);
      if (!owner) return undefined;
      const lower = workspaceName.toLowerCase();
      for (const ws of state.workspaces.values()) if (!ws.deleted && ws.ownerId === owner.id && ws.name.toLowerCase() === lower) return ws;
      return undefined;
    },
    agentById: (id) => state.agents.get(id.toLowerCase()),
    isAgentConnected: (id) => state.agents.get(id.toLowerCase())?.status === "connected",
    canAccessWorkspace: (user, ws) => user.id === ws.ownerId || state.isOwner(user),
    addRoute<U>(method: string, pattern: string, handler: RouteHandler<U>, routeOpts?: RouteOptions) {
      router.add(method, pattern, handler as unknown as RouteHandler<SimUser>, routeOpts);
    },
    addUpgrade<P>(route: UpgradeRoute<P>) {
      upgrades.push(route as UpgradeRoute<unknown>);
    },
    addRequestRoute<P>(route: RequestRoute<P>) {
      requestRoutes.push(route as RequestRoute<unknown>);
    },
    onClose(fn) {
      closeHooks.push(fn);
    },
  };

  // ---- bootstrap data ----
  const org = state.addOrganization(opts.organizationName ?? "coder", "Coder", true);
  const ownerUser = state.addUser({
    username: opts.ownerUsername ?? "admin",
    email: opts.ownerEmail ?? "admin@coder.com",
    password: opts.ownerPassword ?? "SomeSecurePassword!",
    siteRoles: ["owner"],
    organizationIds: [org.id],
  });
  const sessionToken = state.addApiKey(ownerUser.id, { tokenName: "simulator-owner", lifetimeMs: OWNER_TOKEN_LIFETIME_MS, loginType: "token" });
  const simTemplates = (opts.templates ?? BUILTIN_TEMPLATES).map((def) => {
    const version = state.addTemplateVersion({ organizationId: org.id, templateId: null, definition: def, createdById: ownerUser.id, imported: true });
    return state.addTemplate({ organizationId: org.id, versionId: version.id, name: def.name, displayName: def.displayName, description: def.description, icon: def.icon, createdById: ownerUser.id });
  });

  registerMiscRoutes(ctx, randomUUID());
  registerUserRoutes(ctx);
  registerKeyRoutes(ctx);
  registerTemplateRoutes(ctx);
  registerWorkspaceRoutes(ctx);
  registerFileRoutes(ctx);
  for (const m of [...MODULES, ...(opts.modules ?? [])]) await m.setup(ctx);

  // ---- request handling ----
  const transform = (method: string, route: string, status: number, body: unknown) => (opts.responseTransform ? opts.responseTransform({ method, route, status }, body) : body);

  /** Rate limiter and fault knobs, then the slow-response delay; throws the refusal. */
  const preflight = async (req: IncomingMessage, url: URL) => {
    const fault = injectFault({ knobs, random, limiter, ip: clientIP(req), method: req.method ?? "GET", path: url.pathname });
    if (fault) throw fault;
    if (knobs.slowResponseMs > 0) await delay(knobs.slowResponseMs);
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<string> => {
    const method = req.method ?? "GET";
    const m = router.match(method, url.pathname);
    const label = m === null ? "" : "route" in m ? m.route.pattern : m.pattern;
    try {
      await preflight(req, url);
      if (m === null) throw new HttpError(404, { message: "Route not found." });
      if (!("route" in m)) throw new HttpError(405, { message: "Method not allowed." });
      const user = m.route.auth ? authenticateOrThrow(state, req, url) : (tryAuthenticate(state, req, url) as SimUser);
      const result = await m.route.handler({ req, res, url, params: m.params, route: label, user });
      if (result && !res.headersSent) sendJSON(res, result[0], transform(method, label, result[0], result[1]));
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
      } else if (err instanceof HttpError) {
        sendJSON(res, err.status, transform(method, label, err.status, err.body));
      } else {
        sendJSON(res, 500, { message: "An internal error occurred. Please try again or contact the system administrator.", detail: getErrorMessage(err) });
      }
    }
    return label;
  };

  const server = createServer((req, res) => {
    opts.onRequest?.(req, "http");
    res.setHeader("X-Coder-Build-Version", SIM_VERSION);
    const url = requestURL(req);
    const started = process.hrtime.bigint();
    const method = req.method ?? "GET";
    const finish = (route: string, counted: boolean) => {
      record({ method, path: url.pathname, route, status: res.statusCode, ip: clientIP(req) });
      if (!counted) return;
      metrics.requestsProcessed.inc({ code: String(res.statusCode), method, path: route || "/*" });
      metrics.requestLatency.observe({ method, path: route || "/*" }, Number(process.hrtime.bigint() - started) / 1e9);
    };
    void (async () => {
      for (const r of requestRoutes) {
        const params = r.match(req, url);
        if (params === null) continue;
        metrics.concurrentRequests.inc();
        try {
          if (r.apiLimited !== false) await preflight(req, url);
          await r.handle(req, res, params, ctx);
        } catch (err) {
          const e = err instanceof HttpError ? err : new HttpError(500, { message: "An internal error occurred.", detail: getErrorMessage(err) });
          if (!res.headersSent) sendJSON(res, e.status, e.body);
          else res.destroy();
        } finally {
          metrics.concurrentRequests.dec();
          finish(r.name, true);
        }
        return;
      }
      if (url.pathname === "/metrics") {
        res.setHeader("Content-Type", metrics.registry.contentType);
        res.end(await metrics.registry.metrics());
        return finish("/metrics", false);
      }
      if (url.pathname === "/healthz") {
        res.setHeader("Content-Type", "text/plain");
        res.end("OK");
        return finish("/healthz", false);
      }
      metrics.concurrentRequests.inc();
      let route = "";
      try {
        route = await handleApi(req, res, url);
      } finally {
        metrics.concurrentRequests.dec();
        finish(route, true);
      }
    })();
  });

  const rejectUpgrade = (socket: Duplex, rej: UpgradeRejection, req: IncomingMessage, url: URL, label: string) => {
    const headers: Record<string, string> = { "Content-Type": "application/json", ...rej.headers, "Content-Length": String(Buffer.byteLength(rej.body)), "X-Coder-Build-Version": SIM_VERSION, Connection: "close" };
    const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    socket.end(`HTTP/1.1 ${rej.status} ${STATUS_CODES[rej.status] ?? ""}\r\n${head}\r\n${rej.body}`);
    record({ method: req.method ?? "GET", path: url.pathname, route: label, status: rej.status, ip: clientIP(req) });
    metrics.requestsProcessed.inc({ code: String(rej.status), method: req.method ?? "GET", path: label || "/*" });
  };

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    opts.onRequest?.(req, "upgrade");
    const url = requestURL(req);
    socket.on("error", () => socket.destroy());
    void (async () => {
      let route: UpgradeRoute<unknown> | undefined;
      let params: unknown = null;
      for (const r of upgrades) {
        params = r.match(req, url);
        if (params !== null) {
          route = r;
          break;
        }
      }
      if (!route) return rejectUpgrade(socket, { status: 404, body: JSON.stringify({ message: "Route not found." }) }, req, url, "");
      const label = route.label?.(params) ?? route.name;
      try {
        if (route.apiLimited !== false) await preflight(req, url);
        const rejection = await route.accept?.(req, url, params, ctx);
        if (rejection) return rejectUpgrade(socket, rejection, req, url, label);
      } catch (err) {
        const e = err instanceof HttpError ? err : new HttpError(500, { message: "An internal error occurred.", detail: getErrorMessage(err) });
        return rejectUpgrade(socket, { status: e.status, body: JSON.stringify(e.body) }, req, url, label);
      }
      if (route.upgrade) {
        record({ method: req.method ?? "GET", path: url.pathname, route: label, status: 101, ip: clientIP(req) });
        return route.upgrade(req, socket, head, params, ctx);
      }
      let wss = wsServers.get(route);
      if (!wss) {
        wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: route.maxPayload ?? 32 * 1024 * 1024 });
        wss.on("headers", (headers) => headers.push(`X-Coder-Build-Version: ${SIM_VERSION}`));
        wsServers.set(route, wss);
      }
      const chosen = route;
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        const done = metrics.websocketOpened(label);
        ws.on("close", done);
        record({ method: req.method ?? "GET", path: url.pathname, route: label, status: 101, ip: clientIP(req) });
        metrics.requestsProcessed.inc({ code: "101", method: req.method ?? "GET", path: label });
        try {
          chosen.handle?.(ws, req, params, ctx);
        } catch (err) {
          ws.close(1011, getErrorMessage(err).slice(0, 120));
        }
      });
    })();
  });

  const outage = outageControl(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  port = typeof addr === "object" && addr ? addr.port : 0;
  baseUrl = `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;

  let closed: Promise<void> | undefined;
  return {
    url: baseUrl,
    host,
    port,
    sessionToken,
    owner: entities.user(ownerUser),
    organization: entities.organization(org),
    template: entities.template(simTemplates[0]!),
    templates: simTemplates.map((t) => entities.template(t)),
    state,
    ctx,
    requests,
    knobs: () => knobs,
    setKnobs(partial) {
      assertNoProblems(validateKnobs(partial));
      knobs = { ...knobs, ...partial };
      if (partial.seed !== undefined) rand = seededRandom(partial.seed);
    },
    stopListening: () => outage.stopListening(),
    resumeListening: () => outage.resumeListening(port, host),
    close() {
      closed ??= (async () => {
        for (const fn of closeHooks) await fn();
        state.close();
        for (const wss of wsServers.values()) {
          for (const ws of wss.clients) ws.terminate();
          wss.close();
        }
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}

function requestURL(req: IncomingMessage): URL {
  return new URL(req.url ?? "/", "http://simulator.invalid");
}

function clientIP(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? "";
}
