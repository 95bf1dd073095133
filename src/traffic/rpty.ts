// Web-terminal traffic: the reconnecting-PTY WebSocket, `{"data":"…"}\n` frames in, raw terminal bytes out.
import { randomUUID } from "node:crypto";
import { ptyUrl } from "../coder/urls.ts";
import type WebSocket from "ws";
import { stampMarker, type Payload } from "./payload.ts";
import { dialWebSocket, waitFor, WsConn, type WsDialOptions } from "./ws-conn.ts";
import { ConnReadError } from "./conn.ts";

/** Where the JSON-framed data starts in each frame: after `{"data":"`. */
const DATA_OFFSET = Buffer.byteLength('{"data":"');
const CTRL_C = Buffer.from('{"data":"\\u0003"}\n');

/** The command upstream runs in the terminal: dd reads the input and discards it; the terminal's echo comes back. */
export function rptyCommand(bytesPerTick: number): string {
  return `dd if=/dev/stdin of=/dev/null bs=${bytesPerTick} status=none`;
}

const framesCache = new WeakMap<Payload, Buffer[]>();

/** The payload as PTY input frames, one per ≤1024-byte chunk, built once per payload and shared. */
export function ptyFrames(payload: Payload): Buffer[] {
  let frames = framesCache.get(payload);
  if (!frames) {
    frames = payload.chunks.map((c) => Buffer.from(`${JSON.stringify({ data: c.toString("latin1") })}\n`, "latin1"));
    framesCache.set(payload, frames);
  }
  return frames;
}

/** Options for opening a web-terminal connection. */
export interface RptyOptions extends WsDialOptions {
  /** Deployment URL (http or https). */
  url: string | URL;
  agentId: string;
  payload: Payload;
}

/** Opens the reconnecting-PTY connection that runs upstream's dd sink. */
export async function openRpty(opts: RptyOptions): Promise<RptyConn> {
  // As upstream: width 80, height 25, a fresh reconnect id so every job gets its own session.
  const command = rptyCommand(opts.payload.bytes.length);
  const url = ptyUrl(opts.url, opts.agentId, { reconnect: randomUUID(), width: 80, height: 25, command });
  const ws = await dialWebSocket(url.toString(), opts);
  return new RptyConn(ws, opts.payload);
}

/** A web-terminal connection. The frames are shared between connections: `ws` copies each frame while masking it. */
export class RptyConn extends WsConn {
  private readonly frames: Buffer[];

  constructor(
    ws: WebSocket,
    private readonly payload: Payload,
  ) {
    super(ws, payload.bytes.length);
    this.frames = ptyFrames(payload);
  }

  protected sendTick(seq: number): void {
    const frames = this.frames;
    // Marker digits need no escaping, so they sit right after `{"data":"` in the first frame.
    stampMarker(frames[0]!, DATA_OFFSET, seq, this.payload.markerLen);
    for (let i = 0; i < frames.length; i++) this.sendMessage(frames[i]!, i === frames.length - 1);
  }

  /** Upstream's close: stop writing, send Ctrl+C, wait (bounded) for the server to end the session, then close. */
  async close(timeoutMs: number): Promise<void> {
    if (this.closing) return waitFor(this.ended, timeoutMs).then(() => {});
    this.closing = true;
    if (this.ws.readyState === 1) this.ws.send(CTRL_C, { binary: true });
    const ended = await waitFor(this.ended, timeoutMs);
    await this.closeSocket(Math.min(timeoutMs, 5_000));
    if (!ended) throw new ConnReadError("timeout waiting for read to finish");
  }
}

