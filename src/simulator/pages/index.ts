// Simulator dashboard pages: an SPA-like shell served for the dashboard's paths whose script renders from the real API.
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ConfigError } from "../../errors.ts";
import type { SimulatorModule } from "../module.ts";
import type { SimState } from "../state.ts";
import { registerPageApiRoutes } from "./api.ts";

/** The page script, inlined into every page (plain browser JavaScript, not compiled). */
const APP_JS = readFileSync(new URL("./app.js", import.meta.url), "utf8");

/** Dashboard paths the simulator answers with a page (the real dashboard serves its SPA for these). */
const PAGE_PATHS = [
  /^\/$/,
  /^\/workspaces\/?$/,
  /^\/@[^/]+\/[^/]+(\/builds\/\d+)?\/?$/,
  /^\/templates(\/[^/]+(\/(docs|files|versions(\/[^/]+)?))?)?\/?$/,
  /^\/users\/?$/,
  /^\/starter-templates(\/[^/]+)?\/?$/,
];

/** Fault knobs of the pages, per simulator. */
export interface PageKnobs {
  /**
   * Paths answered with a 500 error page that keeps the navigation but never shows the page's content.
   * An entry matches its exact path, or every path below it when it ends with `/*` (e.g. `/templates/*`).
   */
  failingPages: string[];
}

const knobsByState = new WeakMap<SimState, PageKnobs>();

function pageKnobs(state: SimState): PageKnobs {
  let k = knobsByState.get(state);
  if (!k) knobsByState.set(state, (k = { failingPages: [] }));
  return k;
}

/** Makes the given pages fail (live; [] heals them). Each entry must start with "/". */
export function setFailingPages(sim: { state: SimState }, pages: readonly string[]): void {
  const bad = pages.filter((p) => typeof p !== "string" || !p.startsWith("/"));
  if (bad.length > 0) throw new ConfigError([{ path: "failingPages", message: `entries must be paths starting with "/", got ${bad.map((b) => JSON.stringify(b)).join(", ")}` }]);
  pageKnobs(sim.state).failingPages = [...pages];
}

/** True when `path` is one of the failing pages. */
export function isFailingPage(failing: readonly string[], path: string): boolean {
  const p = path.length > 1 ? path.replace(/\/$/, "") : path;
  return failing.some((f) => (f.endsWith("/*") ? p.startsWith(f.slice(0, -1)) : p === f));
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** The nav section a path belongs to (its link gets `.active`, as the real dashboard marks it). */
function section(path: string): string {
  if (path.startsWith("/templates") || path.startsWith("/starter-templates")) return "/templates";
  if (path.startsWith("/users")) return "/users";
  return "/workspaces";
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:0;background:#fafafa;color:#111}
header{display:flex;gap:24px;align-items:center;padding:12px 24px;background:#111;color:#fff}
nav a{color:#ccc;margin-right:16px;text-decoration:none}nav a.active{color:#fff;font-weight:600}
main{padding:24px}table{border-collapse:collapse;width:100%}td,th{padding:8px;border-bottom:1px solid #ddd;text-align:left}
tr[role=button]{cursor:pointer}.tabs a{margin-right:12px}.tabs a[aria-current]{font-weight:600}
.monaco-editor{background:#1e1e1e;color:#ddd;padding:12px;min-height:200px}.error{color:#b00}`;

/** The page for `path`: the shell with the navigation and either the script or an error. */
export function renderPage(path: string, failed: boolean): string {
  const active = section(path);
  const links = [
    ["/workspaces", "Workspaces"],
    ["/templates", "Templates"],
    ["/users", "Users"],
  ]
    .map(([href, text]) => `<a href="${href}"${href === active ? ' class="active"' : ""}>${text}</a>`)
    .join("");
  const body = failed
    ? `<main id="main"><div role="alert" class="error"><h1>Something went wrong</h1><p>${esc(path)} failed to load (500).</p></div></main>`
    : `<main id="main"><p>Loading…</p></main><script>${APP_JS}</script>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Coder</title><style>${STYLE}</style></head><body><header><nav>${links}</nav><span id="whoami"></span></header>${body}</body></html>`;
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { "Content-Type": "text/html; charset=utf-8", "Content-Length": Buffer.byteLength(html), "Cache-Control": "no-cache" });
  res.end(html);
}

/** The module: the pages (not rate-limited, like coderd's site handler) plus the REST routes they need. */
export const dashboardPagesModule: SimulatorModule = {
  name: "dashboard-pages",
  setup(ctx) {
    registerPageApiRoutes(ctx);
    ctx.addRequestRoute({
      name: "/ (dashboard pages)",
      apiLimited: false,
      match: (req: IncomingMessage, url: URL) => ((req.method === "GET" || req.method === "HEAD") && PAGE_PATHS.some((re) => re.test(url.pathname)) ? {} : null),
      handle(_req, res, _params, c) {
        const path = new URL(_req.url ?? "/", "http://pages.invalid").pathname;
        // The real dashboard sends / to the workspaces list.
        if (path === "/") {
          res.writeHead(307, { Location: "/workspaces" }).end();
          return;
        }
        const failed = isFailingPage(pageKnobs(c.state).failingPages, path);
        sendHtml(res, failed ? 500 : 200, renderPage(path, failed));
      },
    });
  },
};
