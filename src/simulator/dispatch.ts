// The simulator's dispatchers: plain HTTP (request routes, /metrics, /healthz, the REST API behind faults and the rate
// limiter) and WebSocket upgrades (per-route ws servers, counted and timed as coderd's middleware does).
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { WebSocketServer, type WebSocket } from "ws";
import { getErrorMessage } from "../errors.ts";
import { authenticate as authenticateOrThrow, tryAuthenticate } from "./auth.ts";
import { clientIP, requestURL, type SimCore } from "./context.ts";
import { RateLimiter, injectFault } from "./faults.ts";
import { HttpError, SIM_VERSION, sendJSON } from "./http.ts";
import type { UpgradeRejection, UpgradeRoute } from "./module.ts";
import type { SimUser } from "./records.ts";

/** One handled request, for tests and the demo. */
export interface RequestRecord {
  method: string;
  path: string;
  /** Route pattern or upgrade route name ("" when nothing matched). */
  route: string;
  status: number;
  ip: string;
}

export interface DispatchOptions {
  record(r: RequestRecord): void;
  /** Test-only: rewrites a JSON body before it is sent. */
  responseTransform?: (info: { method: string; route: string; status: number }, body: unknown) => unknown;
  /** Test-only: sees every request and upgrade as it arrives. */
  onRequest?: (req: IncomingMessage, kind: "http" | "upgrade") => void;
}

/** The server's "request" and "upgrade" listeners over the routes the core holds. */
export function createDispatchers(core: SimCore, opts: DispatchOptions) {
  const { ctx, state, metrics, router, upgrades, requestRoutes, wsServers } = core;
  const record = opts.record;
  const limiter = new RateLimiter();
  const transform = (method: string, route: string, status: number, body: unknown) => (opts.responseTransform ? opts.responseTransform({ method, route, status }, body) : body);

  /** Rate limiter and fault knobs, then the slow-response delay; throws the refusal. */
  const preflight = async (req: IncomingMessage, url: URL) => {
    const fault = injectFault({ knobs: core.knobs(), random: core.random, limiter, ip: clientIP(req), method: req.method ?? "GET", path: url.pathname });
    if (fault) throw fault;
    if (core.knobs().slowResponseMs > 0) await delay(core.knobs().slowResponseMs);
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

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
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
  };

  const rejectUpgrade = (socket: Duplex, rej: UpgradeRejection, req: IncomingMessage, url: URL, label: string) => {
    const headers: Record<string, string> = { "Content-Type": "application/json", ...rej.headers, "Content-Length": String(Buffer.byteLength(rej.body)), "X-Coder-Build-Version": SIM_VERSION, Connection: "close" };
    const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    socket.end(`HTTP/1.1 ${rej.status} ${STATUS_CODES[rej.status] ?? ""}\r\n${head}\r\n${rej.body}`);
    record({ method: req.method ?? "GET", path: url.pathname, route: label, status: rej.status, ip: clientIP(req) });
    metrics.requestsProcessed.inc({ code: String(rej.status), method: req.method ?? "GET", path: label || "/*" });
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
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
  };

  return { onRequest, onUpgrade };
}
