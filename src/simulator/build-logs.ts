// Provisioner job logs: JSON arrays without `follow`, and the follow WebSocket (backlog, live lines, close 1000 "done") for builds, dry runs and imports.
import type { IncomingMessage } from "node:http";
import type { WebSocket } from "ws";
import type { ProvisionerJobLog } from "../coder/types.ts";
import { authenticate } from "./auth.ts";
import { HttpError, notFound, parseUUIDParam } from "./http.ts";
import type { SimContext, SimulatorModule } from "./module.ts";
import { buildParam } from "./routes/lookup.ts";
import { dryRunParam, versionParam } from "./routes/templates.ts";
import { SimState } from "./state.ts";
import { type SimJob, type SimUser } from "./records.ts";

/** Server pings keep idle log sockets alive through proxies, as coderd does every 15 s. */
const PING_INTERVAL_MS = 15_000;

interface LogsRoute {
  name: string;
  regex: RegExp;
  keys: string[];
  job(ctx: SimContext, params: Record<string, string>, user: SimUser): SimJob;
}

const ROUTES: LogsRoute[] = [
  {
    name: "/api/v2/workspacebuilds/{workspacebuild}/logs",
    regex: /^\/api\/v2\/workspacebuilds\/([^/]+)\/logs\/?$/,
    keys: ["workspacebuild"],
    job: (ctx, p, user) => buildParam(ctx, p.workspacebuild!, user).build.job,
  },
  {
    name: "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/logs",
    regex: /^\/api\/v2\/templateversions\/([^/]+)\/dry-run\/([^/]+)\/logs\/?$/,
    keys: ["templateversion", "jobID"],
    job: (ctx, p, user) => dryRunParam(ctx, p, user).job,
  },
  {
    name: "/api/v2/templateversions/{templateversion}/logs",
    regex: /^\/api\/v2\/templateversions\/([^/]+)\/logs\/?$/,
    keys: ["templateversion"],
    job: (ctx, p, user) => versionParam(ctx, p.templateversion!, user).job,
  },
];

function matchRoute(path: string): { route: LogsRoute; params: Record<string, string> } | null {
  for (const route of ROUTES) {
    const m = route.regex.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    route.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1]!)));
    return { route, params };
  }
  return null;
}

/** `after` is a log id (coderd ignores swagger's "Unix timestamp" wording); 400 when not an integer. */
function afterParam(url: URL): number {
  const raw = url.searchParams.get("after");
  if (raw === null || raw === "") return 0;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new HttpError(400, { message: 'Query param "after" must be an integer.', validations: [{ field: "after", detail: "must be an integer" }] });
  return n;
}

/** `?follow`, `?follow=true` and `?follow=1` follow; `follow=false` does not. */
function wantsFollow(url: URL): boolean {
  if (!url.searchParams.has("follow")) return false;
  const v = url.searchParams.get("follow");
  return v === "" || v === "true" || v === "1";
}

/** Streams a job's logs over an open socket and closes with 1000 "done" at a terminal status. */
export function streamJobLogs(ws: WebSocket, job: SimJob, after: number): void {
  const send = (line: ProvisionerJobLog) => {
    if (line.id > after && ws.readyState === ws.OPEN) ws.send(JSON.stringify(line));
  };
  for (const line of job.logs) send(line);
  if (!SimState.isActive(job)) {
    ws.close(1000, "done");
    return;
  }
  const ping = setInterval(() => ws.ping(), PING_INTERVAL_MS);
  ping.unref();
  const watcher = {
    log: send,
    done: () => {
      clearInterval(ping);
      job.watchers.delete(watcher);
      if (ws.readyState === ws.OPEN) ws.close(1000, "done");
    },
  };
  job.watchers.add(watcher);
  ws.on("close", () => {
    clearInterval(ping);
    job.watchers.delete(watcher);
  });
}

export const buildLogsModule: SimulatorModule = {
  name: "build-logs",
  setup(ctx) {
    for (const route of ROUTES) {
      ctx.addRoute("GET", route.name, ({ params, url, user }) => {
        const job = route.job(ctx, params, user);
        if (wantsFollow(url)) throw new HttpError(426, { message: "Upgrade required.", detail: "follow=true needs a WebSocket upgrade" });
        const after = afterParam(url);
        return [200, job.logs.filter((l) => l.id > after)];
      });
    }
    ctx.addUpgrade<{ route: LogsRoute; params: Record<string, string>; job?: SimJob; after?: number }>({
      name: "build-logs",
      label: (m) => m.route.name,
      match(_req: IncomingMessage, url: URL) {
        if (!wantsFollow(url)) return null;
        return matchRoute(url.pathname);
      },
      accept(req, url, m) {
        const user = authenticate(ctx.state, req, url);
        for (const k of m.route.keys) parseUUIDParam(m.params[k]!, k);
        m.job = m.route.job(ctx, m.params, user);
        if (!m.job) throw notFound();
        m.after = afterParam(url);
      },
      handle(ws, _req, m) {
        streamJobLogs(ws, m.job!, m.after ?? 0);
      },
    });
  },
};
