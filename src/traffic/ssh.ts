// SSH traffic: ssh2 over the stdio of a `coder ssh --stdio owner/workspace.agent` child, running dd as an echo.
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { Duplex } from "node:stream";
import type { Client, ClientChannel } from "ssh2";
import { backoff, type OnRetry } from "../coder/retry.ts";
import { redact } from "../errors.ts";
import { sleep } from "../util/abort.ts";
import { childEnv } from "../util/child-env.ts";
import { ConnReadError, ConnWriteError, type Conn } from "./conn.ts";
import { stampMarker, type Payload } from "./payload.ts";
import { waitFor } from "./ws-conn.ts";

/** The command upstream runs over SSH: dd copies stdin to stdout, so the echo equals the input. */
export function sshCommand(bytesPerTick: number): string {
  return `dd if=/dev/stdin of=/dev/stdout bs=${bytesPerTick} status=none`;
}

/** Options for opening an SSH traffic connection. */
export interface SshOptions {
  /** The `coder` binary (from --coder-binary, CODER_BINARY or PATH). */
  coderBinary: string;
  /** `owner/workspace.agent`. */
  target: string;
  /** Deployment URL and session token for the child (passed in its environment, never logged). */
  coderUrl: string;
  token: string;
  /** CODER_HEADER / CODER_HEADER_COMMAND for the child, so it sends the client's extra headers too. */
  headerEnv?: Readonly<Record<string, string>>;
  payload: Payload;
  /** SSH user name; Coder's agent ignores it (default "coder"). */
  username?: string;
  /** A private key tried after "none" auth (needed by a real sshd; Coder's agent accepts "none"). */
  sshIdentityFile?: string;
  /** Handshake deadline in milliseconds (default 30000). */
  readyTimeoutMs?: number;
  /** Extra starts after a tunnel that ends before the SSH session is up (default 2); backoff from `retryBaseMs` (default 500). */
  retries?: number;
  retryBaseMs?: number;
  /** Called before each retry (the retries counter). */
  onRetry?: OnRetry;
  signal?: AbortSignal;
}

/** A start that failed; `transient` when another try may work (the tunnel ended early, not a missing binary). */
class SshStartError extends Error {
  override name = "SshStartError";
  constructor(
    message: string,
    readonly transient: boolean,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Spawns the tunnel, completes the SSH handshake and starts dd (no PTY). A tunnel that ends before the session is
 * up (agent not connected yet, a coderd hiccup) is started again, `retries` times, before the job fails.
 */
export async function openSsh(opts: SshOptions): Promise<SshConn> {
  const retries = opts.retries ?? 2;
  for (let attempt = 0; ; attempt++) {
    try {
      return await openSshOnce(opts);
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (!(err instanceof SshStartError) || !err.transient || attempt >= retries) {
        const why = err instanceof Error ? err.message : String(err);
        throw new Error(`connect to workspace via ssh: ${redact(why)}${attempt > 0 ? ` (after ${attempt + 1} attempts)` : ""}`, { cause: err });
      }
      opts.onRetry?.({ kind: "ssh", reason: err.reason, attempt: attempt + 1 });
      await sleep(backoff(opts.retryBaseMs ?? 500, 10_000, attempt), opts.signal);
    }
  }
}

async function openSshOnce(opts: SshOptions): Promise<SshConn> {
  opts.signal?.throwIfAborted();
  const privateKey = opts.sshIdentityFile ? await readFile(opts.sshIdentityFile) : undefined;
  // Loaded on the first SSH connection: its crypto brings a 16 MiB WebAssembly heap that web-terminal and app
  // runs (and every worker thread) would otherwise carry.
  const ssh2 = await import("ssh2");
  // An allow-listed environment: the child gets the deployment and its credentials, never the runner's other secrets.
  const child = spawn(opts.coderBinary, ["ssh", "--stdio", opts.target], {
    stdio: ["pipe", "pipe", "pipe"],
    env: childEnv({ ...opts.headerEnv, CODER_URL: opts.coderUrl, CODER_SESSION_TOKEN: opts.token }),
  });
  // Every stream and emitter of the child and the client has a lasting error listener: ssh2 and the pipes may
  // report one failure several times (a tunnel dying before the handshake), and an unheard `error` ends the process.
  const noop = () => {};
  child.stdin!.on("error", noop);
  child.stdout!.on("error", noop);
  child.stderr!.on("error", noop);
  child.on("error", noop);
  const stderr = tailCollector(child);
  const client: Client = new ssh2.Client();
  client.on("error", noop);
  const kill = () => {
    client.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  };
  const onAbort = () => kill();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const sock = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
    sock.on("error", noop); // ssh2 reports connection failures itself; a destroyed pipe must not crash the process
    await new Promise<void>((resolve, reject) => {
      child.on("error", (err) => {
        const missing = (err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "EACCES";
        reject(new SshStartError(`start ${opts.coderBinary}: ${err.message}`, !missing, (err as NodeJS.ErrnoException).code ?? "spawn", { cause: err }));
      });
      child.on("exit", (code, sig) => reject(new SshStartError(`coder ssh --stdio exited (${sig ?? code}) before the SSH handshake${stderr.text()}`, true, "exit")));
      client.on("ready", () => resolve());
      // A broken pipe or a closed connection usually means the tunnel is exiting: its exit (status and stderr) is the
      // better reason, so it gets up to 2 s to arrive (the exit listener above rejects first when it does).
      const soon = (e: SshStartError) => (child.exitCode === null && child.signalCode === null ? setTimeout(() => reject(e), 2_000).unref() : reject(e));
      client.on("error", (err) => soon(new SshStartError(`${err.message}${stderr.text()}`, true, (err as NodeJS.ErrnoException).code ?? "handshake", { cause: err })));
      client.on("close", () => soon(new SshStartError(`ssh connection closed before the handshake${stderr.text()}`, true, "closed")));
      client.connect({
        sock,
        username: opts.username ?? "coder",
        privateKey,
        readyTimeout: opts.readyTimeoutMs ?? 30_000,
        hostVerifier: () => true, // the tunnel is already authenticated by coderd
      });
    });
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      // A tunnel that dies between the handshake and the exec reply must not leave this waiting.
      const onClose = () => reject(new SshStartError(`ssh connection closed before the session started${stderr.text()}`, true, "closed"));
      client.once("close", onClose);
      client.exec(sshCommand(opts.payload.bytes.length), { pty: false }, (err, ch) => {
        client.off("close", onClose);
        if (err) reject(new SshStartError(err.message, true, "exec", { cause: err }));
        else resolve(ch);
      });
    });
    opts.signal?.throwIfAborted();
    return new SshConn(child, client, channel, opts.payload, stderr);
  } catch (err) {
    kill();
    if (err instanceof SshStartError || opts.signal?.aborted) throw err;
    throw new SshStartError(err instanceof Error ? err.message : String(err), false, "error", { cause: err });
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

/** An SSH connection. Each owns its payload copy: ssh2 may hold a written buffer until the channel window opens. */
export class SshConn implements Conn {
  private closing = false;
  private readonly buf: Buffer;
  private readonly markerLen: number;
  private receiver: ((chunk: Buffer) => void) | undefined;
  /** One entry per write not yet flushed, in order (a late target can write again before the last callback ran). */
  private readonly flushes: (((err?: Error | null) => void) | undefined)[] = [];
  private failWrite: (err: Error) => void = () => {};
  readonly ended: Promise<void>;
  readonly tickBytes: number;

  constructor(
    private readonly child: ChildProcess,
    private readonly client: Client,
    private readonly channel: ClientChannel,
    payload: Payload,
    stderr: { text(): string },
  ) {
    this.buf = Buffer.from(payload.bytes);
    this.markerLen = payload.markerLen;
    this.tickBytes = payload.bytes.length;
    this.ended = new Promise<void>((resolve, reject) => {
      let failure: Error | undefined;
      let exitOk = false;
      channel.on("data", (d: Buffer) => this.receiver?.(d));
      channel.on("error", (err: Error) => {
        failure ??= new ConnReadError(err.message, { cause: err });
      });
      channel.stderr.on("data", () => {}); // dd prints nothing with status=none; drain anyway
      channel.on("exit", (code: number | null, signalName?: string) => {
        // Killed by a signal (255 or a signal name) is how upstream's HUP close ends: fine.
        if (code === 0 || code === 255 || (code === null && signalName)) exitOk = true;
        else failure ??= new ConnReadError(`ssh session exited with status ${code}`);
      });
      channel.on("close", () => {
        this.closing = true;
        if (failure) reject(failure);
        else if (exitOk || this.closeRequested) resolve();
        else reject(new ConnReadError(`ssh session closed without an exit status${stderr.text()}`));
      });
      client.on("error", (err) => {
        failure ??= new ConnReadError(err.message, { cause: err });
      });
      client.on("close", () => {
        if (!this.closing) {
          failure ??= new ConnReadError(`ssh connection closed unexpectedly${stderr.text()}`);
          this.closing = true;
          reject(failure);
        }
      });
      this.failWrite = (err) => {
        failure ??= new ConnWriteError(err.message, { cause: err });
        client.destroy();
      };
    });
    this.ended.catch(() => {});
  }

  private closeRequested = false;

  /** The tunnel child's process id (for memory accounting). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  // Anything still queued, including the chunk ssh2 is sending, means the previous tick is not out yet.
  get busy(): boolean {
    return this.channel.writableLength > 0;
  }

  get open(): boolean {
    return !this.closing && this.channel.writable;
  }

  onData(fn: (chunk: Buffer) => void): void {
    this.receiver = fn;
  }

  private readonly onSent = (err?: Error | null): void => {
    if (err) this.failWrite(err);
    this.flushes.shift()?.(err);
  };

  write(seq: number, flushed?: (err?: Error | null) => void): void {
    if (!this.open) return;
    stampMarker(this.buf, 0, seq, this.markerLen);
    this.flushes.push(flushed);
    this.channel.write(this.buf, this.onSent);
  }

  /** Upstream's close: close stdin (dd exits), send HUP, wait (bounded) for the session, then close client and tunnel. */
  async close(timeoutMs: number): Promise<void> {
    const first = !this.closeRequested;
    this.closeRequested = true;
    this.closing = true;
    if (first && this.channel.writable) {
      this.channel.end();
      try {
        this.channel.signal("HUP");
      } catch {
        // The channel may already be gone; the wait below tells.
      }
    }
    const done = await waitFor(this.ended, timeoutMs);
    this.client.end();
    const exited = this.child.exitCode !== null || this.child.signalCode !== null;
    if (!exited) {
      const exit = new Promise<void>((r) => this.child.once("exit", () => r()));
      this.child.stdin?.end();
      await waitFor(exit, 5_000, () => this.child.kill("SIGKILL"));
    }
    if (!done) throw new ConnReadError("timeout waiting for ssh session to close");
  }
}

/** Keeps the last 2 KiB of the child's stderr (redacted) for error messages. */
function tailCollector(child: ChildProcess): { text(): string } {
  let tail = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    tail = (tail + d).slice(-2048);
  });
  return { text: () => (tail.trim() ? `: ${redact(tail.trim())}` : "") };
}
