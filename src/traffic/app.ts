// Workspace-app traffic: a WebSocket to the app URL as coderd builds it, raw binary chunks of at most 1024 bytes.
import type WebSocket from "ws";
import { apiUrl, wsUrl } from "../coder/urls.ts";
import { stampMarker, type Payload } from "./payload.ts";
import { dialWebSocket, WsConn, type WsDialOptions } from "./ws-conn.ts";

/** The app fields the URL depends on (a subset of codersdk.WorkspaceApp). */
export interface AppRef {
  slug: string;
  subdomain: boolean;
  subdomain_name?: string;
}

/**
 * The app's URL as upstream builds it: a subdomain app is the wildcard app host with its `*` replaced by
 * `subdomain_name` (path `/`); a path app is `/@owner/workspace.agent/apps/slug/` (with the trailing `/`
 * coderd would redirect to, because `ws` follows no redirects).
 */
export function appUrl(base: string | URL, appHost: string, app: AppRef, owner: string, workspace: string, agent: string): string {
  const b = new URL(base);
  if (app.subdomain) {
    if (!appHost) throw new Error(`app "${app.slug}" is a subdomain app but no app host is configured`);
    if (!app.subdomain_name) throw new Error(`app "${app.slug}" has no subdomain name`);
    return `${b.protocol}//${appHost.replace("*", app.subdomain_name)}/`;
  }
  return apiUrl(b, `/@${owner}/${workspace}.${agent}/apps/${app.slug}/`).toString();
}

/** Options for opening an app connection. */
export interface AppOptions extends WsDialOptions {
  /** The app URL (http/https or ws/wss); see `appUrl`. */
  url: string;
  payload: Payload;
}

/** Opens the app's WebSocket. */
export async function openApp(opts: AppOptions): Promise<AppConn> {
  const ws = await dialWebSocket(wsUrl(opts.url).toString(), opts);
  return new AppConn(ws, opts.payload);
}

/** An app connection (wsec echoes, wsra streams random bytes, wsdi discards). The payload buffer is shared: `ws` copies on send. */
export class AppConn extends WsConn {
  constructor(
    ws: WebSocket,
    private readonly payload: Payload,
  ) {
    super(ws, payload.bytes.length);
  }

  protected sendTick(seq: number): void {
    const p = this.payload;
    stampMarker(p.bytes, 0, seq, p.markerLen);
    for (const c of p.chunks) this.sendMessage(c);
  }

  /** Upstream's close: no handshake with the app, just a normal closure. */
  close(timeoutMs: number): Promise<void> {
    return this.closeSocket(timeoutMs);
  }
}
