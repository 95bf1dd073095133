// URL builders for coderd's WebSocket endpoints and app URLs.

/** Turns an http(s) URL into the matching ws(s) URL. */
export function wsUrl(httpUrl: URL | string): URL {
  const u = new URL(httpUrl);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  return u;
}

/** Joins an API path onto the deployment URL, keeping any path prefix the deployment URL has. */
export function apiUrl(base: URL | string, path: string): URL {
  const b = new URL(base);
  const prefix = b.pathname.replace(/\/+$/, "");
  return new URL(`${prefix}${path.startsWith("/") ? path : `/${path}`}`, b);
}

/** The reconnecting-PTY (web terminal) WebSocket URL. */
export function ptyUrl(
  base: URL | string,
  agentId: string,
  opts: { reconnect: string; width: number; height: number; command?: string },
): URL {
  const u = wsUrl(apiUrl(base, `/api/v2/workspaceagents/${encodeURIComponent(agentId)}/pty`));
  // Go's url.Values encodes keys in sorted order; keep that for parity in server logs.
  if (opts.command !== undefined) u.searchParams.set("command", opts.command);
  u.searchParams.set("height", String(opts.height));
  u.searchParams.set("reconnect", opts.reconnect);
  u.searchParams.set("width", String(opts.width));
  return u;
}

/** The build-logs WebSocket URL (`?follow`, plus `after=<log id>` when resuming). */
export function buildLogsUrl(base: URL | string, buildId: string, after?: number): URL {
  const u = wsUrl(apiUrl(base, `/api/v2/workspacebuilds/${encodeURIComponent(buildId)}/logs`));
  u.search = after && after > 0 ? `?follow&after=${after}` : "?follow";
  return u;
}

/**
 * What is wrong with a deployment URL, or undefined: it must be an http(s) URL without credentials. The text never
 * repeats the URL's user or password (they are registered as secrets by the caller's redaction anyway).
 */
export function deploymentUrlProblem(text: string): string | undefined {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return text.includes("@") ? "must be an http(s) URL such as https://coder.example.com (got a malformed URL)" : `must be an http(s) URL such as https://coder.example.com, got ${JSON.stringify(text)}`;
  }
  if (u.username || u.password) return `must not carry credentials (user:password@ in ${u.protocol}//***@${u.host}); pass the session token with --token or CODER_SESSION_TOKEN`;
  if (u.protocol !== "http:" && u.protocol !== "https:") return `must be an http or https URL, got "${u.protocol}"`;
  return undefined;
}

/** The user and password of a URL that carries them (to register as secrets before any message is rendered). */
export function urlCredentials(text: string): string[] {
  try {
    const u = new URL(text);
    return [u.username, u.password, decodeURIComponent(u.password)].filter(Boolean);
  } catch {
    return [];
  }
}
