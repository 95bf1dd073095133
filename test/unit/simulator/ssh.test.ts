// The sim-ssh bridge and the built-in agent SSH server: exact dd echo, exit statuses, HUP, external targets, coderd's checks.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type AddressInfo, type Server } from "node:net";
import ssh2 from "ssh2";
import type { ClientChannel } from "ssh2";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket, createWebSocketStream } from "ws";
import { SshEndpoint } from "../../../src/simulator/ssh.ts";
import { SIGNAL_EXIT_STATUS, generateHostKey, parseCommand } from "../../../src/simulator/ssh-server.ts";
import { ALICE, ALICE_AGENT, BOB, OFFLINE_AGENT, fakeHost, openRecording, serveEndpoints, upgradeRefusal } from "../../helpers/traffic-host.ts";

describe("parseCommand", () => {
  it("models the traffic dd commands, echo, and missing commands", () => {
    expect(parseCommand("dd if=/dev/stdin of=/dev/stdout bs=1024 status=none")).toEqual({ kind: "echo" });
    expect(parseCommand("dd if=/dev/stdin of=/dev/null bs=1024 status=none")).toEqual({ kind: "discard" });
    expect(parseCommand("echo hello world")).toEqual({ kind: "print", text: "hello world\n" });
    expect(parseCommand("")).toEqual({ kind: "echo" });
    expect(parseCommand("vim x")).toEqual({ kind: "missing", name: "vim" });
  });
});

/** An ssh2 client over a WebSocket to the sim-ssh route ("none" auth, no host key check, as the Go runner). */
async function sshOver(url: string, token: string): Promise<InstanceType<typeof ssh2.Client>> {
  const ws = new WebSocket(url, { perMessageDeflate: false, headers: { "Coder-Session-Token": token } });
  // Wrap before "open": the server's SSH ident can arrive with the 101 and is emitted before an awaited open resumes.
  const sock = createWebSocketStream(ws);
  sock.on("error", () => {});
  await once(ws, "open");
  const client = new ssh2.Client();
  client.on("error", () => {});
  const ready = once(client, "ready");
  client.connect({ sock, username: "coder" });
  await ready;
  return client;
}

type Outcome = { ch: ClientChannel; stdout: () => Buffer; done: Promise<{ code: number | null; signal?: string; stderr: string }> };

/** Runs `command`; listeners attach inside the callback, since a short command's exit arrives with the exec reply. */
function exec(client: InstanceType<typeof ssh2.Client>, command: string): Promise<Outcome> {
  return new Promise((resolve, reject) => client.exec(command, (err, ch) => (err ? reject(err) : resolve(outcome(ch)))));
}

/** Collects stdout/stderr and the exit status or signal of a channel. */
function outcome(ch: ClientChannel): Outcome {
  const out: Buffer[] = [];
  let stderr = "";
  let exit: { code: number | null; signal?: string } = { code: null };
  ch.on("data", (d: Buffer) => out.push(d));
  ch.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  ch.on("exit", (code: number | null, signal?: string) => (exit = { code, signal }));
  return { ch, stdout: () => Buffer.concat(out), done: once(ch, "close").then(() => ({ ...exit, stderr })) };
}

describe("generateHostKey", () => {
  it("draws again when ssh2's generator gives a key its own parser rejects (about 1 in 300 ed25519 keys)", () => {
    // Find such a key from the real generator (the chance of none in 20000 draws is below 1e-28).
    let bad: string | undefined;
    for (let i = 0; i < 20_000 && !bad; i++) {
      const key = ssh2.utils.generateKeyPairSync("ed25519").private;
      if (ssh2.utils.parseKey(key) instanceof Error) bad = key;
    }
    expect(bad, "a key ssh2 cannot parse").toBeDefined();
    const keys = [bad!, bad!];
    let drawn = 0;
    const key = generateHostKey(() => (drawn++, keys.shift() ?? ssh2.utils.generateKeyPairSync("ed25519").private));
    expect(drawn).toBe(3);
    expect(ssh2.utils.parseKey(key)).not.toBeInstanceOf(Error);
    expect(() => generateHostKey(() => bad!)).toThrow(/16 generated keys in a row could not be parsed/);
  });
});

describe("sim-ssh endpoint", () => {
  let host: ReturnType<typeof fakeHost>;
  let srv: Awaited<ReturnType<typeof serveEndpoints>>;
  let ssh: SshEndpoint;
  let clients: InstanceType<typeof ssh2.Client>[];
  const url = (agent = ALICE_AGENT.id) => `${srv.url.replace("http", "ws")}/api/v2/workspaceagents/${agent}/sim-ssh`;

  beforeEach(async () => {
    clients = [];
    host = fakeHost();
    srv = await serveEndpoints(host, (sockets) => [(ssh = new SshEndpoint(host, sockets))]);
  });
  afterEach(async () => {
    for (const c of clients) c.end();
    await srv.close();
  });
  const connect = async (token = ALICE.token) => {
    const c = await sshOver(url(), token);
    clients.push(c);
    return c;
  };

  it("runs `dd of=/dev/stdout` as an exact echo and exits 0 at end of input", async () => {
    const client = await connect();
    const o = await exec(client, "dd if=/dev/stdin of=/dev/stdout bs=1024 status=none");
    const ch = o.ch;
    const payload = randomBytes(300 * 1024);
    for (let i = 0; i < payload.length; i += 1024) ch.write(payload.subarray(i, i + 1024));
    ch.end();
    const r = await o.done;
    expect(r.code).toBe(0);
    expect(o.stdout().equals(payload)).toBe(true);
    expect(host.counters.connections.ssh).toBe(1);
    expect(host.counters.bytesIn.ssh).toBeGreaterThan(payload.length);
  });

  it("ends a session on HUP with the agent's signal exit status 255", async () => {
    const client = await connect();
    const o = await exec(client, "dd if=/dev/stdin of=/dev/stdout bs=1024 status=none");
    const ch = o.ch;
    ch.write("ping");
    await new Promise<void>((resolve) => ch.once("data", () => resolve()));
    ch.signal("HUP");
    const r = await o.done;
    expect(r.code).toBe(SIGNAL_EXIT_STATUS);
    expect(host.counters.sessions.ssh).toBe(0);
  });

  it("prints for `echo`, reports 127 for unknown commands, discards for `dd of=/dev/null`", async () => {
    const client = await connect();
    const echo = await exec(client, "echo hi there");
    expect(await echo.done).toMatchObject({ code: 0 });
    expect(echo.stdout().toString()).toBe("hi there\n");
    const missing = await exec(client, "htop");
    expect(await missing.done).toEqual({ code: 127, signal: undefined, stderr: "sh: 1: htop: not found\n" });
    const sink = await exec(client, "dd if=/dev/stdin of=/dev/null bs=1024 status=none");
    sink.ch.end(Buffer.alloc(10_000, 1));
    expect((await sink.done).code).toBe(0);
    expect(sink.stdout().length).toBe(0);
  });

  it("relays raw bytes to an external target set for the agent", async () => {
    const echo: Server = createServer((s) => s.pipe(s));
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    try {
      ssh.setTarget(ALICE_AGENT.id, { host: "127.0.0.1", port: (echo.address() as AddressInfo).port });
      const c = await openRecording(url(), { headers: { "Coder-Session-Token": ALICE.token } });
      const bytes = randomBytes(70_000);
      c.ws.send(bytes.subarray(0, 30_000));
      c.ws.send(bytes.subarray(30_000));
      expect((await c.until((b) => b.length >= bytes.length)).equals(bytes)).toBe(true);
      c.ws.close();
      await c.closed;
      ssh.setTarget(ALICE_AGENT.id, undefined);
      expect(ssh.targetFor(ALICE_AGENT.id)).toBeUndefined();
      ssh.setTarget("*", { host: "127.0.0.1", port: 1 });
      const refused = await openRecording(url(), { headers: { "Coder-Session-Token": ALICE.token } });
      const closed = await refused.closed;
      expect(closed.code).toBe(1011);
      expect(closed.reason).toMatch(/^dial: /);
    } finally {
      echo.close();
    }
  });

  it("answers 404 to strangers and 502 for an offline agent; text frames close with 1003", async () => {
    expect((await upgradeRefusal(url(), { headers: { "Coder-Session-Token": BOB.token } })).status).toBe(404);
    expect((await upgradeRefusal(url())).status).toBe(404);
    expect((await upgradeRefusal(url(OFFLINE_AGENT.id), { headers: { "Coder-Session-Token": ALICE.token } })).status).toBe(502);
    const c = await openRecording(url(), { headers: { "Coder-Session-Token": ALICE.token } });
    c.ws.send("SSH-2.0-text");
    expect((await c.closed).code).toBe(1003);
  });
});
