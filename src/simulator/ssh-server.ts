// The built-in agent SSH server: ssh2 with "none" auth (as Coder agents accept) running the traffic `dd` commands in-process.
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import ssh2 from "ssh2";
import type { ServerChannel, Session } from "ssh2";

const { Server, utils } = ssh2;

/**
 * A host key ssh2 can read back. About 1 in 300 ed25519 keys from ssh2's own generator fails its own parser
 * ("Malformed OpenSSH private key"), which threw from `new Server` and ended a run's SSH phase: draw again.
 */
export function generateHostKey(generate: () => string = () => utils.generateKeyPairSync("ed25519").private): string {
  for (let i = 0; i < 16; i++) {
    const key = generate();
    if (!(utils.parseKey(key) instanceof Error)) return key;
  }
  throw new Error("ssh host key: 16 generated keys in a row could not be parsed");
}

// One host key per process: generating ed25519 keys is cheap, but there is no reason to do it per agent.
let hostKey: string | undefined;
function getHostKey(): string {
  hostKey ??= generateHostKey();
  return hostKey;
}

/** Exit status the Coder agent reports for a process killed by a signal. */
export const SIGNAL_EXIT_STATUS = 255;

/** What a session's command does with stdin. */
type CommandKind = { kind: "echo" } | { kind: "discard" } | { kind: "print"; text: string } | { kind: "missing"; name: string };

/**
 * The commands we model: `dd ... of=/dev/stdout` copies stdin to stdout exactly, `dd` with any other
 * output (the PTY traffic's `of=/dev/null`) discards stdin, `echo X` prints X; anything else is not found.
 * An empty command (a shell request) behaves like `cat`.
 */
export function parseCommand(command: string): CommandKind {
  const cmd = command.trim();
  if (cmd === "" || cmd === "cat") return { kind: "echo" };
  const words = cmd.split(/\s+/);
  if (words[0] === "dd") {
    const of = words.find((w) => w.startsWith("of="))?.slice(3);
    return of === undefined || of === "/dev/stdout" ? { kind: "echo" } : { kind: "discard" };
  }
  if (words[0] === "echo") return { kind: "print", text: `${cmd.slice(4).trim()}\n` };
  return { kind: "missing", name: words[0]! };
}

/** Byte counters the server bumps (the simulator's metrics adapter). */
export interface SshServerMetrics {
  session(delta: number): void;
}

/**
 * An in-process agent SSH server. `accept(stream)` serves one SSH connection over any duplex stream
 * (the sim-ssh WebSocket). Emits "session-ended" with the exit status or signal.
 */
export class AgentSshServer extends EventEmitter {
  private readonly server: InstanceType<typeof Server>;

  constructor(private readonly metrics: SshServerMetrics = { session: () => {} }) {
    super();
    this.server = new Server({ hostKeys: [getHostKey()], ident: "Go" }, (client) => {
      client.on("authentication", (ctx) => ctx.accept());
      client.on("session", (acceptSession) => this.serveSession(acceptSession()));
      client.on("error", () => {});
    });
    this.server.on("error", () => {});
  }

  /** Serves one SSH connection over `stream`. */
  accept(stream: Duplex): void {
    this.server.injectSocket(stream as unknown as import("node:net").Socket);
  }

  private serveSession(session: Session): void {
    let channel: ServerChannel | undefined;
    let finished = false;
    const finish = (status: number | string) => {
      if (finished) return;
      finished = true;
      this.metrics.session(-1);
      const ch = channel;
      const report = () => {
        if (ch) {
          if (typeof status === "number") ch.exit(status);
          else ch.exit(status, false, "");
          ch.end();
        }
        this.emit("session-ended", status);
      };
      // Writes are serialized: an empty write's callback runs once the output before it left the channel
      // window, so the exit status never overtakes echoed bytes.
      if (ch?.writable && status === 0) ch.write(Buffer.alloc(0), report);
      else report();
    };
    this.metrics.session(1);
    session.on("pty", (accept) => accept?.());
    session.on("env", (accept) => accept?.());
    session.on("window-change", (accept) => accept?.());
    // The agent runs commands in a process group; HUP kills it and the agent reports status 255.
    session.on("signal", (accept, _reject, info) => {
      accept?.();
      if (info.name === "HUP" || info.name === "INT" || info.name === "TERM" || info.name === "KILL") finish(SIGNAL_EXIT_STATUS);
    });
    const start = (ch: ServerChannel, command: string) => {
      channel = ch;
      const cmd = parseCommand(command);
      ch.on("error", () => {});
      ch.on("close", () => finish(SIGNAL_EXIT_STATUS));
      switch (cmd.kind) {
        case "echo":
          // pipe() gives exact bytes with backpressure in both directions.
          ch.pipe(ch, { end: false });
          ch.on("end", () => finish(0));
          break;
        case "discard":
          ch.on("data", () => {});
          ch.on("end", () => finish(0));
          break;
        case "print":
          ch.write(cmd.text);
          finish(0);
          break;
        case "missing":
          ch.stderr.write(`sh: 1: ${cmd.name}: not found\n`);
          finish(127);
          break;
      }
    };
    session.on("exec", (accept, _reject, info) => {
      const ch = accept?.();
      if (ch) start(ch, info.command);
    });
    session.on("shell", (accept) => {
      const ch = accept?.();
      if (ch) start(ch, "");
    });
    session.on("close", () => {
      if (!finished) {
        finished = true;
        this.metrics.session(-1);
      }
    });
  }

  close(): void {
    this.server.close();
  }
}
