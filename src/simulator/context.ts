// The simulator's context: the state, knobs and registries every route module and endpoint sees (SimContext), and what they register.
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import type { WebSocketServer } from "ws";
import { seededRandom } from "../util/random.ts";
import { tryAuthenticate } from "./auth.ts";
import { Entities } from "./entities.ts";
import { Router, type RouteHandler, type RouteOptions } from "./http.ts";
import type { Knobs } from "./knobs.ts";
import { createSimMetrics } from "./metrics.ts";
import type { AppHostTarget, RequestRoute, SimContext, UpgradeRoute } from "./module.ts";
import { SimState } from "./state.ts";
import { type SimUser } from "./records.ts";

/** What the modules registered, and the live knobs: the dispatchers and startSimulator read these. */
export interface SimCore {
  ctx: SimContext;
  state: SimState;
  metrics: ReturnType<typeof createSimMetrics>;
  entities: Entities;
  router: Router<SimUser>;
  upgrades: UpgradeRoute<unknown>[];
  requestRoutes: RequestRoute<unknown>[];
  wsServers: Map<UpgradeRoute<unknown>, WebSocketServer>;
  closeHooks: Array<() => void | Promise<void>>;
  knobs(): Knobs;
  setKnobs(next: Knobs, reseed: boolean): void;
  random(): number;
  /** Set once the server listens: the base URL and port the app host is derived from. */
  listening(baseUrl: string, port: number): void;
}

/** Builds the state, metrics and the SimContext over them (the context factory). */
export function createCore(initial: Knobs, host: string): SimCore {
  let knobs = initial;
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
  const closeHooks: Array<() => void | Promise<void>> = [];
  let baseUrl = "";
  let port = 0;
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
  return {
    ctx,
    state,
    metrics,
    entities,
    router,
    upgrades,
    requestRoutes,
    wsServers: new Map(),
    closeHooks,
    knobs: () => knobs,
    setKnobs(next, reseed) {
      knobs = next;
      if (reseed) rand = seededRandom(next.seed);
    },
    random,
    listening(url, p) {
      baseUrl = url;
      port = p;
    },
  };
}

/** The request's path and query (the host part is a placeholder: routing never looks at it). */
export function requestURL(req: IncomingMessage): URL {
  return new URL(req.url ?? "/", "http://simulator.invalid");
}

/** The peer address the rate limiter counts by. */
export function clientIP(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? "";
}
