// What the web-terminal and app connections share: dialing a WebSocket without compression, and how it ends.
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import WebSocket from "ws";
import { overridingConnector, type ResolveEntry } from "./resolve.ts";
import { ConnReadError, ConnWriteError, type Conn } from "./conn.ts";
import { setLongTimeout, sleep } from "../util/abort.ts";
import { backoff, connectionErrorCode, isTransientConnectionError, type OnRetry } from "../coder/retry.ts";

/** How to reach a WebSocket endpoint. */
export interface WsDialOptions {
  /** Extra request headers (session token, rate-limit bypass). */
  headers?: Record<string, string>;
  /** DNS overrides (`--resolve`); real deployments need none. */
  resolve?: readonly ResolveEntry[];
  /** Handshake deadline in milliseconds (default 30000). */
  handshakeTimeoutMs?: number;
  /** Called with each new socket before it opens: a message sent right with the upgrade would otherwise be missed. */
  onSocket?: (ws: WebSocket) => void;
  /** Extra dials after a 5xx or a broken connection (default 3); backoff from `retryBaseMs` (default 500). */
  retries?: number;
  retryBaseMs?: number;
  /** Called before each retry (the retries counter). */
  onRetry?: OnRetry;
  signal?: AbortSignal;
}

const SEND_OPTS = { binary: true } as const;
const NOTHING = Buffer.alloc(0);

/** The socket under an open WebSocket (ws keeps it in `_socket`; its `bufferedAmount` reads the same field). */
function socketOf(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

/** An upgrade the server refused with an HTTP answer. */
export class WsDialError extends Error {
  override name = "WsDialError";
  constructor(
    message: string,
    readonly status: number,
    /** Retry-After in milliseconds, when the server sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * Opens a WebSocket (compression off). A 429 is retried (at most 5 times, Retry-After honoured, else 1, 2, 4…
 * seconds): coderd limits upgrades per client IP and path, and every subdomain-app dial shares the path `/`.
 * A 5xx or a broken connection (refused, reset, handshake timeout) is retried `retries` times with jittered backoff.
 */
export async function dialWebSocket(url: string, opts: WsDialOptions = {}): Promise<WebSocket> {
  let tries429 = 0;
  let transient = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await dialOnce(url, opts);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const status = err instanceof WsDialError ? err.status : 0;
      let delayMs: number;
      if (status === 429) {
        // Counted whether or not the server said how long to wait: a Retry-After never makes the retries unbounded.
        if (tries429 >= 5) throw err;
        delayMs = Math.min(30_000, (err as WsDialError).retryAfterMs ?? 1000 * 2 ** tries429);
        tries429++;
      } else if ((status >= 500 && status <= 599) || (status === 0 && isTransientConnectionError(err))) {
        if (transient >= (opts.retries ?? 3)) throw err;
        delayMs = backoff(opts.retryBaseMs ?? 500, 10_000, transient++);
      } else throw err;
      opts.onRetry?.({ kind: "websocket", reason: status ? String(status) : connectionErrorCode(err) || "connection", attempt: attempt + 1 });
      await sleep(delayMs, opts.signal);
    }
  }
}

function dialOnce(url: string, opts: WsDialOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    opts.signal?.throwIfAborted();
    const secure = url.startsWith("wss:") || url.startsWith("https:");
    // The handshake deadline is our own timer, not ws's `handshakeTimeout`: that one is a socket timeout, and the
    // socket keeps it after the upgrade, so every read and write of the whole run would refresh a dead timer.
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      headers: opts.headers,
      followRedirects: false,
      ...(opts.resolve?.length ? { createConnection: overridingConnector(opts.resolve, secure) as never } : {}),
    });
    opts.onSocket?.(ws);
    const onAbort = () => {
      ws.terminate();
      reject(opts.signal!.reason);
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setLongTimeout(() => {
      done();
      reject(new Error("websocket dial: Opening handshake has timed out"));
      ws.terminate();
    }, opts.handshakeTimeoutMs ?? 30_000);
    const done = () => {
      timer.clear();
      opts.signal?.removeEventListener("abort", onAbort);
    };
    ws.once("open", () => {
      done();
      // The dial's own handlers would otherwise stay on the socket (with what they hold) for the whole run.
      ws.off("unexpected-response", onUnexpected).off("error", onError);
      resolve(ws);
    });
    const onUnexpected = (_req: unknown, res: IncomingMessage) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        if (body.length < 512) body += d;
      });
      // A refusal whose body is cut off is still a refusal (and its socket error must be heard).
      res.on("error", () => res.emit("end"));
      res.on("end", () => {
        done();
        ws.terminate();
        const retryAfter = Number(res.headers["retry-after"]);
        reject(
          new WsDialError(
            `websocket dial: unexpected status ${res.statusCode}${body ? `: ${body.slice(0, 512).trim()}` : ""}`,
            res.statusCode ?? 0,
            Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
          ),
        );
      });
    };
    const onError = (err: Error) => {
      done();
      reject(new Error(`websocket dial: ${err.message}`, { cause: err }));
    };
    ws.once("unexpected-response", onUnexpected);
    // `on`, not `once`: a socket may report more than one error (reset during the upgrade, then the close), and
    // an unheard `error` would end the process. Once open, errors are WsConn's to hear.
    ws.on("error", onError);
  });
}

/**
 * A Conn over an open WebSocket. Subclasses decide the framing (`sendTick`) and the graceful close.
 * A close with status 1000 is a clean end; any other close, a text message or a send failure is an error.
 */
export abstract class WsConn implements Conn {
  protected closing = false;
  private receiver: ((chunk: Buffer) => void) | undefined;
  readonly ended: Promise<void>;

  constructor(
    protected readonly ws: WebSocket,
    readonly tickBytes: number,
  ) {
    this.ended = new Promise<void>((resolve, reject) => {
      let failure: Error | undefined;
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        if (!isBinary) {
          failure ??= new ConnReadError("unexpected text message");
          ws.close(1003);
          return;
        }
        this.receiver?.(data);
      });
      ws.on("error", (err) => {
        failure ??= new ConnReadError(err.message, { cause: err });
      });
      ws.on("close", (code, reason) => {
        this.closing = true;
        if (failure) reject(failure);
        // Once we asked to close, however the peer ends it is fine (upstream's app close has no handshake at all).
        else if (code === 1000 || this.closeRequested) resolve();
        else reject(new ConnReadError(`websocket closed with status ${code}${reason.length ? ` (${reason.toString()})` : ""}`));
      });
      this.failWrite = (err: Error) => {
        if (this.closeRequested) return; // our own cut-off after a close timeout
        failure ??= new ConnWriteError(err.message, { cause: err });
        ws.terminate();
      };
    });
    this.ended.catch(() => {});
  }

  private closeRequested = false;
  private failWrite: (err: Error) => void = () => {};

  get busy(): boolean {
    return this.ws.bufferedAmount > 0;
  }

  get open(): boolean {
    return !this.closing && this.ws.readyState === WebSocket.OPEN;
  }

  onData(fn: (chunk: Buffer) => void): void {
    this.receiver = fn;
  }

  write(seq: number, flushed?: (err?: Error | null) => void): void {
    if (!this.open) return;
    this.sendTick(seq);
    // With compression off, ws writes each frame straight to the socket. Usually the kernel takes the whole tick
    // at once: then it is flushed now, with no write callback (a callback per send costs a WriteWrap and a
    // next-tick call per tick, ~3% of the runner's CPU at 1000 connections). Otherwise an empty write queued
    // behind the frames reports when they reached the OS, in order, or how they failed.
    // (Where writes complete later, as they can over TLS, every tick takes the empty write: correct, no saving.)
    const socket = socketOf(this.ws);
    const failed = socket.errored ?? (socket.destroyed ? new Error("socket destroyed before the tick was written") : null);
    if (failed) {
      this.failWrite(failed);
      flushed?.(failed);
    } else if (this.ws.bufferedAmount === 0) flushed?.(null);
    else socket.write(NOTHING, (err?: Error | null) => {
      if (err) this.failWrite(err);
      flushed?.(err);
    });
  }

  /** Sends one tick's messages through `sendMessage`. */
  protected abstract sendTick(seq: number): void;

  /** Sends one binary message (no callback: `write` learns from the socket when the tick is flushed). */
  protected sendMessage(data: Buffer): void {
    this.ws.send(data, SEND_OPTS);
  }

  /** Closes with 1000 and waits (bounded) for the close handshake; a peer that never answers is cut off. */
  protected async closeSocket(timeoutMs: number): Promise<void> {
    this.closing = true;
    this.closeRequested = true;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
    await waitFor(this.ended, timeoutMs, () => this.ws.terminate());
  }

  abstract close(timeoutMs: number): Promise<void>;
}

/**
 * Waits for `p` to settle (ignoring its outcome) for at most `ms`; runs `onTimeout` and returns false when it did not.
 * One promise and one timer, no race: every job runs this two or three times at once when a phase ends.
 */
export function waitFor(p: Promise<unknown>, ms: number, onTimeout?: () => void): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setLongTimeout(() => {
      resolve(false);
      onTimeout?.();
    }, ms);
    const settled = () => {
      timer.clear();
      resolve(true);
    };
    p.then(settled, settled);
  });
}
