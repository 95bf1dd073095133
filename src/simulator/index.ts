// The Coder simulator: a coderd stand-in on a Node http server (REST, build-log WebSockets, the traffic endpoints,
// dashboard pages, metrics, fault knobs). Route modules register on a SimContext (context.ts); dispatch.ts serves them.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { isIP } from "node:net";
import type { Organization, Template, User } from "../coder/types.ts";
import { assertNoProblems } from "../errors.ts";
import { appsModule } from "./apps.ts";
import { buildLogsModule } from "./build-logs.ts";
import { createCore } from "./context.ts";
import { createDispatchers, type RequestRecord } from "./dispatch.ts";
import { DEFAULT_KNOBS, validateKnobs, type Knobs } from "./knobs.ts";
import { outageControl } from "./outage.ts";
import type { SimContext, SimulatorModule } from "./module.ts";
import { dashboardPagesModule } from "./pages/index.ts";
import { ptyModule } from "./pty.ts";
import { registerFileRoutes } from "./routes/files.ts";
import { registerKeyRoutes } from "./routes/keys.ts";
import { registerMiscRoutes } from "./routes/misc.ts";
import { registerTemplateRoutes } from "./routes/templates.ts";
import { registerUserRoutes } from "./routes/users.ts";
import { registerWorkspaceRoutes } from "./routes/workspaces.ts";
import { sshModule } from "./ssh.ts";
import type { SimState } from "./state.ts";
import { BUILTIN_TEMPLATES, type TemplateDefinition } from "./templates.ts";

export type { RequestRecord } from "./dispatch.ts";
export type { Knobs } from "./knobs.ts";

/** Plug-in modules, in order. */
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
  /** Test-only: rewrites a JSON body before it is sent (contract tests break a shape on purpose). */
  responseTransform?: (info: { method: string; route: string; status: number }, body: unknown) => unknown;
  /** Keep at most this many entries in `requests` (oldest dropped); default 100000. */
  maxRequestLog?: number;
  /** Test-only: sees every request and upgrade as it arrives (e.g. to check the headers a client sends). */
  onRequest?: (req: IncomingMessage, kind: "http" | "upgrade") => void;
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
  const host = opts.host ?? "127.0.0.1";
  const core = createCore({ ...DEFAULT_KNOBS, ...opts.knobs }, host);
  const { ctx, state, entities, wsServers, closeHooks } = core;
  const requests: RequestRecord[] = [];
  const maxLog = opts.maxRequestLog ?? 100_000;
  const record = (r: RequestRecord) => {
    requests.push(r);
    if (requests.length > maxLog) requests.splice(0, requests.length - maxLog);
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
  for (const m of MODULES) await m.setup(ctx);

  const { onRequest, onUpgrade } = createDispatchers(core, { record, responseTransform: opts.responseTransform, onRequest: opts.onRequest });
  const server = createServer(onRequest);
  server.on("upgrade", onUpgrade);
  const outage = outageControl(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // Thousands of traffic jobs dial at once; Node's default backlog (511) would drop SYNs and stall them for seconds.
    server.listen({ port: opts.port ?? 0, host, backlog: 4096 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const baseUrl = `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  core.listening(baseUrl, port);

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
    knobs: core.knobs,
    setKnobs(partial) {
      assertNoProblems(validateKnobs(partial));
      core.setKnobs({ ...core.knobs(), ...partial }, partial.seed !== undefined);
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
