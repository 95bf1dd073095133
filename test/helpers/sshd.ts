// Starts a real OpenSSH sshd on 127.0.0.1 with throwaway keys, for tests that need a genuine SSH peer.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile, mkdir, chmod } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Where Debian's openssh-server puts sshd; scripts/install-deps.sh installs it. */
export const SSHD_BINARY = "/usr/sbin/sshd";

/** The login account used when tests run as root. */
export const ROOT_FALLBACK_USER = "scaletest-sshd";

/** Creates the fallback login account if missing. Its password field is "*" (no password, not locked: without PAM sshd rejects "!" accounts). */
async function ensureLoginUser(name: string): Promise<void> {
  try {
    await run("id", ["-u", name]);
  } catch {
    try {
      await run("useradd", ["--system", "--shell", "/bin/sh", "--home-dir", "/nonexistent", "--no-create-home", "--password", "*", name]);
    } catch (err) {
      // Another test file created it between our `id` and `useradd` (exit 9, "already exists"), with the same settings.
      if (!isAlreadyExists(err)) throw err;
    }
    return;
  }
  await run("usermod", ["--password", "*", name]);
}

/** useradd's "username already in use" failure. */
function isAlreadyExists(err: unknown): boolean {
  const e = err as { code?: unknown; stderr?: unknown };
  return e.code === 9 || /already exists/.test(String(e.stderr ?? ""));
}

/** A running sshd and what an ssh2 client needs to log in to it. */
export interface Sshd {
  host: string;
  port: number;
  /** OpenSSH-format ed25519 private key listed in the server's authorized_keys. */
  privateKey: Buffer;
  /** The account to log in as (see SshdOptions.username). */
  username: string;
  /** Stops sshd and removes its temp directory; safe to call twice. */
  stop(): Promise<void>;
}

/** Options for startSshd. */
export interface SshdOptions {
  /** Path of the sshd binary (default SSHD_BINARY). */
  binary?: string;
  /**
   * Account to log in as. Default: the current user, or when running as root the system account
   * `scaletest-sshd` (created if missing): OpenSSH skips post-auth privilege separation for root
   * logins and then refuses SSH "signal" requests, so HUP would never reach the command.
   */
  username?: string;
  /** How long to wait for "Server listening" (milliseconds, default 10000). */
  readyTimeoutMs?: number;
  signal?: AbortSignal;
}

/** A free loopback TCP port. sshd cannot listen on port 0 and report it, so we pick one first. */
async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts sshd in the foreground (-D -e) with a temp config; resolves once it logs "Server listening". SSHD_DEBUG=1 shows its debug log. */
export async function startSshd(opts: SshdOptions = {}): Promise<Sshd> {
  const binary = opts.binary ?? SSHD_BINARY;
  const isRoot = process.getuid?.() === 0;
  const username = opts.username ?? (isRoot ? ROOT_FALLBACK_USER : userInfo().username);
  if (isRoot && opts.username === undefined) await ensureLoginUser(username);
  const dir = await mkdtemp(join(tmpdir(), "sshd-"));
  // sshd reads authorized_keys as the login user, so the directory must be traversable by it.
  await chmod(dir, 0o755);
  // sshd refuses to start without its privilege-separation directory when run as root.
  if (isRoot) await mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const hostKey = join(dir, "host_ed25519");
  const clientKey = join(dir, "client_ed25519");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sim-host", "-f", hostKey]);
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sim-client", "-f", clientKey]);
  const authorizedKeys = join(dir, "authorized_keys");
  await writeFile(authorizedKeys, await readFile(`${clientKey}.pub`), { mode: 0o644 });
  let stopped = false;
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child?.once("exit", () => resolve()));
      child.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };

  // A port may be taken between freePort() and sshd's bind; retry a few times.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const config = join(dir, "sshd_config");
    await writeFile(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "StrictModes no",
        "UsePAM no",
        "PermitRootLogin yes",
        "AllowTcpForwarding no",
        "X11Forwarding no",
        "PrintMotd no",
        process.env.SSHD_DEBUG ? "LogLevel DEBUG1" : "LogLevel INFO",
        "",
      ].join("\n"),
    );
    child = spawn(binary, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    const proc = child;
    const ready = await new Promise<{ ok: true } | { ok: false; log: string }>((resolve) => {
      let log = "";
      const timer = setTimeout(() => finish({ ok: false, log: `${log}\n(timed out waiting for "Server listening")` }), opts.readyTimeoutMs ?? 10_000);
      const onAbort = () => finish({ ok: false, log: "aborted" });
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      function finish(r: { ok: true } | { ok: false; log: string }) {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        proc.stderr?.off("data", onData);
        proc.off("exit", onExit);
        resolve(r);
      }
      function onData(chunk: Buffer) {
        log += chunk.toString("utf8");
        if (log.includes("Server listening")) finish({ ok: true });
      }
      function onExit(code: number | null) {
        finish({ ok: false, log: `${log}\n(sshd exited with ${code})` });
      }
      proc.stderr?.on("data", onData);
      proc.once("exit", onExit);
    });
    if (ready.ok) {
      // Keep draining stderr so sshd never blocks on a full pipe.
      if (process.env.SSHD_DEBUG) proc.stderr?.pipe(process.stderr); else proc.stderr?.resume();
      return { host: "127.0.0.1", port, privateKey: await readFile(clientKey), username, stop };
    }
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
      proc.kill("SIGTERM");
      await exited;
    }
    if (opts.signal?.aborted || !/Address already in use|Bind to port/i.test(ready.log) || attempt === 2) {
      await stop();
      throw new Error(`start sshd: ${ready.log.trim()}`);
    }
  }
  await stop();
  throw new Error("start sshd: no free port");
}
