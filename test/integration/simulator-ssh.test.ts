// SSH through the `coder` shim: ssh2 over `coder ssh --stdio` to the simulator's built-in agent server and to a real OpenSSH sshd.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { Duplex } from "node:stream";
import ssh2 from "ssh2";
import type { ClientChannel, ConnectConfig } from "ssh2";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { coderShimPath } from "../../src/simulator/coder-shim/index.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { setSshTarget } from "../../src/simulator/ssh.ts";
import { simApi, until } from "../helpers/sim-api.ts";
import { memberWithWorkspace } from "../helpers/traffic-host.ts";
import { startSshd, type Sshd } from "../helpers/sshd.ts";

const DD_ECHO = "dd if=/dev/stdin of=/dev/stdout bs=1024 status=none";

let sim: Simulator;
let sshd: Sshd;
let member: { username: string; token: string; workspace: string; workspaceId: string };
const children: ChildProcess[] = [];

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});
beforeEach(async () => {
  sim = await startSimulator({ knobs: { pendingMs: 5, runningMs: 10, agentConnectDelayMs: 5 } });
  const m = await memberWithWorkspace(sim, "scaletest-ssh-0");
  member = { username: m.user.username, token: m.token, workspace: m.workspaceName, workspaceId: m.workspaceId };
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill();
  await sim.close();
});

/** Spawns the shim as the runner would: `coder ssh --stdio owner/workspace.agent` with CODER_URL and CODER_SESSION_TOKEN. */
function shim(args: string[], env: Record<string, string | undefined> = {}): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(coderShimPath(), args, { env: { PATH: process.env.PATH, HOME: "/nonexistent", CODER_URL: sim.url, CODER_SESSION_TOKEN: sim.sessionToken, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  // "close" waits for stdio to end too, so stderr is complete when it resolves.
  const exited = once(child, "close").then(([code]) => code as number | null);
  return { child, stderr: () => stderr, exited };
}

/** An ssh2 client over the shim's stdio. */
async function sshThroughShim(target: string, auth: Partial<ConnectConfig>): Promise<{ client: InstanceType<typeof ssh2.Client>; proc: ReturnType<typeof shim> }> {
  const proc = shim(["ssh", "--stdio", target]);
  const sock = Duplex.from({ readable: proc.child.stdout!, writable: proc.child.stdin! });
  const client = new ssh2.Client();
  const ready = new Promise<void>((resolve, reject) => {
    client.once("ready", resolve);
    client.once("error", (err) => reject(new Error(`${err.message}; shim stderr: ${proc.stderr()}`)));
  });
  client.connect({ sock, username: "coder", ...auth });
  await ready;
  client.on("error", () => {});
  return { client, proc };
}

function exec(client: InstanceType<typeof ssh2.Client>, command: string): Promise<{ ch: ClientChannel; stdout: () => Buffer; done: Promise<{ code: number | null; signal?: string }> }> {
  return new Promise((resolve, reject) =>
    client.exec(command, (err, ch) => {
      if (err) return reject(err);
      const out: Buffer[] = [];
      let exit: { code: number | null; signal?: string } = { code: null };
      ch.on("data", (d: Buffer) => out.push(d));
      ch.on("exit", (code: number | null, signal?: string) => (exit = { code, signal }));
      resolve({ ch, stdout: () => Buffer.concat(out), done: once(ch, "close").then(() => exit) });
    }),
  );
}

/** Writes `payload` in 1 KiB chunks (as the traffic runner does) and waits for the same bytes back. */
async function echoRoundTrip(ch: ClientChannel, stdout: () => Buffer, payload: Buffer): Promise<void> {
  for (let i = 0; i < payload.length; i += 1024) ch.write(payload.subarray(i, i + 1024));
  await until(() => stdout().length >= payload.length, 20_000);
  expect(stdout().equals(payload)).toBe(true);
}

describe("coder shim + built-in agent SSH server", () => {
  it("echoes dd's stdin exactly, exits 0 at EOF, and the shim exits 0 when the client hangs up", async () => {
    const { client, proc } = await sshThroughShim(`${member.username}/${member.workspace}.m`, {});
    const run = await exec(client, DD_ECHO);
    await echoRoundTrip(run.ch, run.stdout, randomBytes(256 * 1024));
    run.ch.end();
    expect(await run.done).toEqual({ code: 0, signal: undefined });
    client.end();
    expect(await proc.exited).toBe(0);
    expect(proc.stderr()).toBe("");
  });

  it("ends the dd session on HUP with exit status 255", async () => {
    const { client, proc } = await sshThroughShim(`${member.username}/${member.workspace}`, {});
    const run = await exec(client, DD_ECHO);
    await echoRoundTrip(run.ch, run.stdout, Buffer.from("hello\n"));
    run.ch.signal("HUP");
    expect((await run.done).code).toBe(255);
    client.end();
    expect(await proc.exited).toBe(0);
  });

  it("works with the member's own token and the owner defaulting to me", async () => {
    const proc = shim(["ssh", "--stdio", `${member.workspace}.m`], { CODER_SESSION_TOKEN: member.token });
    // Without an SSH client the shim waits for the server's ident; it must be the only thing on stdout.
    const ident = await new Promise<string>((resolve) => proc.child.stdout!.once("data", (d: Buffer) => resolve(d.toString())));
    expect(ident).toMatch(/^SSH-2\.0-Go\r\n/);
    proc.child.stdin!.end();
    expect(await proc.exited).toBe(0);
  });

  it("starts a stopped workspace before connecting, unless autostart is disabled", async () => {
    const call = simApi(sim, member.token);
    expect((await call("POST", `/api/v2/workspaces/${member.workspaceId}/builds`, { transition: "stop" })).status).toBe(201);
    await until(async () => (await call("GET", `/api/v2/workspaces/${member.workspaceId}`)).body.latest_build.job.status === "succeeded");
    const refused = shim(["ssh", "--stdio", "--disable-autostart", `${member.username}/${member.workspace}`]);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toMatch(/is not running and autostart is disabled/);
    const { client, proc } = await sshThroughShim(`${member.username}/${member.workspace}`, {});
    expect(proc.stderr()).toMatch(/starting workspace/);
    const run = await exec(client, "echo up");
    expect(await run.done).toMatchObject({ code: 0 });
    client.end();
  });

  it("fails like the real CLI: errors on stderr, nothing on stdout, exit 1", async () => {
    const cases: Array<{ args: string[]; env?: Record<string, string | undefined>; error: RegExp }> = [
      { args: ["ssh", "--stdio", `${member.username}/nope`], error: /GET http:\/\/127\.0\.0\.1:\d+\/api\/v2\/users\/[^/]+\/workspace\/nope\?include_deleted=false: unexpected status code 404: Resource not found/ },
      { args: ["ssh", "--stdio", `${member.username}/${member.workspace}.x`], error: /agent not found by name "x"/ },
      { args: ["ssh", "--stdio", `${member.username}/${member.workspace}`], env: { CODER_URL: undefined }, error: /You are not logged in/ },
      { args: ["ssh", "--stdio", `${member.username}/${member.workspace}`], env: { CODER_SESSION_TOKEN: "bad" }, error: /unexpected status code 401/ },
      { args: ["ssh", `${member.username}/${member.workspace}`], error: /only "coder ssh --stdio"/ },
      { args: ["ssh", "--stdio"], error: /wanted 1 args but got 0/ },
      { args: ["ssh", "--stdio", "--bogus", "x"], error: /unknown flag: --bogus/ },
    ];
    for (const c of cases) {
      const p = shim(c.args, c.env);
      let stdout = 0;
      p.child.stdout!.on("data", (d: Buffer) => (stdout += d.length));
      p.child.stdin!.end();
      expect(await p.exited, c.args.join(" ")).toBe(1);
      expect(p.stderr()).toMatch(c.error);
      expect(p.stderr()).not.toContain(sim.sessionToken);
      expect(stdout).toBe(0);
    }
  });
});

describe("coder shim + real OpenSSH sshd", () => {
  it("runs dd over sshd with exact echo, and HUP ends it", async () => {
    setSshTarget(sim, "*", { host: sshd.host, port: sshd.port });
    const { client, proc } = await sshThroughShim(`${member.username}/${member.workspace}.m`, { username: sshd.username, privateKey: sshd.privateKey });
    const run = await exec(client, DD_ECHO);
    await echoRoundTrip(run.ch, run.stdout, randomBytes(128 * 1024));
    run.ch.signal("HUP");
    // OpenSSH reports the signal itself; the Coder agent would send exit status 255.
    expect(await run.done).toMatchObject({ code: null, signal: "SIGHUP" });
    client.end();
    expect(await proc.exited).toBe(0);
  });
});
