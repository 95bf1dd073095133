// The simulator's extension surface: what a plug-in module (PTY, apps, SSH, build logs) gets and how it registers routes.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import type { Entities } from "./entities.ts";
import type { RouteHandler, RouteOptions } from "./http.ts";
import type { Knobs } from "./knobs.ts";
import type { SimMetrics } from "./metrics.ts";
import type { SimState } from "./state.ts";
import type { SimAgent, SimUser, SimWorkspace } from "./records.ts";

/** A refusal written before a WebSocket upgrade (e.g. 502 HTML "app offline"). HttpError also works for JSON bodies. */
export interface UpgradeRejection {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** A WebSocket endpoint. `match` sees every upgrade request; the first route that returns params wins. */
export interface UpgradeRoute<P = Record<string, string>> {
  /** The metrics `path` label and log name, e.g. `/api/v2/workspaceagents/{workspaceagent}/pty`. */
  name: string;
  match(req: IncomingMessage, url: URL): P | null;
  /** The metrics `path` label for one matched request, when one name covers several patterns. Default `name`. */
  label?(params: P): string;
  /** Largest accepted message in bytes (ws `maxPayload`); bigger messages close with 1009. Default 32 MiB. */
  maxPayload?: number;
  /** Apply the API rate limiter and fault knobs before upgrading (coderd puts PTY and apps behind it). Default true. */
  apiLimited?: boolean;
  /** Runs before the upgrade: throw HttpError or return an UpgradeRejection to refuse with a status. */
  accept?(req: IncomingMessage, url: URL, params: P, ctx: SimContext): Promise<UpgradeRejection | void> | UpgradeRejection | void;
  /** Owns the socket after the upgrade. Per-message compression is off. */
  handle?(ws: WebSocket, req: IncomingMessage, params: P, ctx: SimContext): void;
  /**
   * Raw alternative to `handle`: the module answers or upgrades the socket itself (own ws server, own
   * websocket metrics via ctx.metrics.websocketOpened). Runs after the limiter, faults and `accept`.
   */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, params: P, ctx: SimContext): void;
}

/** A plain HTTP endpoint matched by anything (e.g. the Host header of a subdomain app), checked before /api/v2 routing. */
export interface RequestRoute<P = Record<string, string>> {
  name: string;
  match(req: IncomingMessage, url: URL): P | null;
  apiLimited?: boolean;
  handle(req: IncomingMessage, res: ServerResponse, params: P, ctx: SimContext): Promise<void> | void;
}

/** Where an app subdomain points: `{slug}--{agent}--{workspace}--{owner}.<app host suffix>`. */
export interface AppHostTarget {
  slug: string;
  agentName: string;
  workspaceName: string;
  ownerName: string;
}

/** What modules get from the simulator. */
export interface SimContext {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  readonly state: SimState;
  readonly entities: Entities;
  readonly metrics: SimMetrics;
  /** Current knob values (read at use time; setKnobs changes them live). */
  knobs(): Knobs;
  /** The seeded PRNG shared with fault injection. */
  random(): number;
  /** The caller from cookie, query parameter or header; null when missing or invalid. */
  authenticate(req: IncomingMessage): SimUser | null;
  /** The wildcard app host, e.g. `*.apps.localhost:41234`. */
  appHost(): string;
  /** Parses a Host header against the app host; null when it is not an app subdomain. */
  parseAppHost(host: string | undefined): AppHostTarget | null;
  /** A non-deleted workspace by owner username and workspace name (case-insensitive, as coderd). */
  findWorkspace(ownerName: string, workspaceName: string): SimWorkspace | undefined;
  agentById(id: string): SimAgent | undefined;
  isAgentConnected(id: string): boolean;
  /** coderd's rule for SSH/exec and owner-level app access: the workspace owner or a site owner. */
  canAccessWorkspace(user: SimUser, ws: SimWorkspace): boolean;
  addRoute<U = SimUser>(method: string, pattern: string, handler: RouteHandler<U>, opts?: RouteOptions): void;
  addUpgrade<P>(route: UpgradeRoute<P>): void;
  addRequestRoute<P>(route: RequestRoute<P>): void;
  /** Runs when the simulator closes (before the listener stops). */
  onClose(fn: () => void | Promise<void>): void;
}

/** A plug-in: `setup` registers its routes. Add one to MODULES in index.ts. */
export interface SimulatorModule {
  name: string;
  setup(ctx: SimContext): void | Promise<void>;
}
