// Web-terminal traffic: the reconnecting-PTY WebSocket, `{"data":"…"}\n` frames in, raw terminal bytes out.
import { randomUUID } from "node:crypto";
import { ptyUrl } from "../coder/urls.ts";
import type WebSocket from "ws";
import { stampMarker, type Payload } from "./payload.ts";
import { dialWebSocket, waitFor, WsConn, type WsDialOptions } from "./ws-conn.ts";
import { ConnReadError } from "./conn.ts";
import { timeoutSignal } from "../util/abort.ts";

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
    for (const f of frames) this.sendMessage(f);
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


/** Options for running one command in a fresh web-terminal session (create-workspaces --run-command). */
export interface RptyCommandOptions extends WsDialOptions {
  /** Deployment URL (http or https). */
  url: string | URL;
  agentId: string;
  command: string;
  /** Reading stops after this long (milliseconds); 0 means no limit. */
  timeoutMs: number;
  /** Each output line, split on \n with a trailing \r removed. */
  onLine?: (line: string) => void;
}

/**
 * Opens a session for `command` (width 80, height 24, a fresh reconnect id), sends no input and reads the output
 * until the server ends the stream with 1000 or the timeout hits (then `timedOut` is true). Another close status or
 * a socket error throws; an aborted `signal` throws its reason.
 */
export async function runRptyCommand(opts: RptyCommandOptions): Promise<{ timedOut: boolean }> {
  const deadline = opts.timeoutMs > 0 ? timeoutSignal(opts.timeoutMs) : undefined;
  const signal = deadline && opts.signal ? AbortSignal.any([opts.signal, deadline]) : (deadline ?? opts.signal);
  const timedOut = () => deadline?.aborted === true && !opts.signal?.aborted;
  const url = ptyUrl(opts.url, opts.agentId, { reconnect: randomUUID(), width: 80, height: 24, command: opts.command });
  const decoder = new TextDecoder();
  let partial = "";
  const line = (p: string) => opts.onLine?.(p.endsWith("\r") ? p.slice(0, -1) : p);
  const emit = (text: string) => {
    const parts = (partial + text).split("\n");
    partial = parts.pop()!;
    for (const p of parts) line(p);
  };
  let ws: WebSocket;
  try {
    // The reader is attached before the socket opens: an `echo` can print in the same packet as the upgrade answer.
    const onSocket = (s: WebSocket) => s.on("message", (data: Buffer) => emit(decoder.decode(data, { stream: true })));
    ws = await dialWebSocket(url.toString(), { ...opts, signal, onSocket });
  } catch (err) {
    if (timedOut()) return { timedOut: true };
    throw err;
  }
  return new Promise((resolve, reject) => {
    let failure: Error | undefined;
    const onAbort = () => {
      ws.terminate();
      if (timedOut()) resolve({ timedOut: true });
      else reject(opts.signal?.reason);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    ws.on("error", (err) => {
      failure ??= new ConnReadError(err.message, { cause: err });
    });
    ws.on("close", (code, reason) => {
      signal?.removeEventListener("abort", onAbort);
      if (signal?.aborted) return; // settled by onAbort
      if (failure) return reject(failure);
      if (code !== 1000) return reject(new ConnReadError(`websocket closed with status ${code}${reason.length ? ` (${reason.toString()})` : ""}`));
      // As a line scanner at EOF: a last line without a newline still counts.
      const rest = partial + decoder.decode();
      if (rest !== "") line(rest);
      resolve({ timedOut: false });
    });
  });
}
