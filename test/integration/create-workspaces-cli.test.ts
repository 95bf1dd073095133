// `scaletest create-workspaces` / `cleanup` bad input: exit code 2, a message naming the flag or cause, and not one
// mutating request reaches the (in-process) simulator. Cases that reach the network run the CLI as a child process.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.ts";
import { CoderClient } from "../../src/coder/client.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";

let sim: Simulator;
let dir: string;
let memberToken: string;
let closedPortUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cw-cli-"));
  sim = await startSimulator({ port: 0 });
  const admin = new CoderClient({ url: sim.url, token: sim.sessionToken });
  await admin.createUser({ username: "member", email: "member@example.com", name: "", password: "Str0ng-Password-123", login_type: "", organization_ids: [sim.organization.id] });
  memberToken = (await admin.login({ email: "member@example.com", password: "Str0ng-Password-123" })).session_token;
  // A port that was just free: nothing listens there.
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  closedPortUrl = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  await new Promise((r) => srv.close(r));
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

const baseEnv = () => ({ CODER_URL: sim.url, CODER_SESSION_TOKEN: sim.sessionToken, SCALETEST_STATE_DIR: join(dir, "state"), CODER_CONFIG_DIR: join(dir, "nocfg") });

/** The CLI as a child process (cases that reach the network). */
async function cli(args: string[], env: Record<string, string> = {}) {
  const res = await execa("node", ["bin/scaletest.js", ...args], { reject: false, env: { ...baseEnv(), ...env }, extendEnv: false });
  return { exitCode: res.exitCode, stderr: res.stderr, stdout: res.stdout };
}

/** The CLI in this process (flag-parsing cases; much faster than a child). */
async function cliInProcess(args: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, baseEnv(), env);
  let stderr = "";
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  try {
    const exitCode = await main(args);
    return { exitCode, stderr, stdout: "" };
  } finally {
    process.stderr.write = write;
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

const cases: Array<{ name: string; args: string[]; env?: () => Record<string, string>; message: RegExp; child?: boolean }> = [
  { name: "a negative count", args: ["create-workspaces", "-t", "kubernetes-minimal", "--count", "-1"], message: /--count: is required and must be an integer greater than 0, got -1/ },
  { name: "a non-numeric count", args: ["create-workspaces", "-t", "kubernetes-minimal", "--count", "ten"], message: /--count: must be an integer, got "ten"/ },
  { name: "a bad count from the env var", args: ["create-workspaces", "-t", "kubernetes-minimal"], env: () => ({ CODER_SCALETEST_COUNT: "0" }), message: /--count: is required/ },
  { name: "a missing template", args: ["create-workspaces", "--count", "2"], message: /--template: is required/ },
  { name: "an unknown template", args: ["create-workspaces", "-t", "no-such-template", "--count", "2"], message: /--template: could not find template "no-such-template" in any organization/, child: true },
  { name: "a malformed --parameter", args: ["create-workspaces", "-t", "kubernetes-minimal", "--parameter", "cpu"], message: /--parameter: must be name=value, got "cpu"/ },
  { name: "an unknown parameter", args: ["create-workspaces", "-t", "kubernetes-minimal", "--parameter", "nope=1"], message: /--parameter: parameter "nope" not found in the template/, child: true },
  { name: "a bad duration", args: ["create-workspaces", "-t", "kubernetes-minimal", "--job-timeout", "soon"], message: /--job-timeout: must be a duration/ },
  { name: "a duration past Go's maximum", args: ["create-workspaces", "-t", "kubernetes-minimal", "--timeout", "2562048h"], message: /--timeout: must be a duration from 0 to 2562047h47m16.854775807s/ },
  { name: "a request deadline out of range", args: ["create-workspaces", "-t", "kubernetes-minimal", "--request-timeout", "500ms"], message: /--request-timeout: must be 0 \(no deadline\) or from 1s to 1h/ },
  { name: "a header without =", args: ["create-workspaces", "-t", "kubernetes-minimal", "--header", "X-Auth"], message: /--header: entry 1 must be key=value/ },
  { name: "a bad --run-timeout", args: ["create-workspaces", "-t", "kubernetes-minimal", "--run-command", "echo x", "--run-timeout", "5 seconds"], message: /--run-timeout: must be a duration/ },
  { name: "a bad run timeout from the env var", args: ["create-workspaces", "-t", "kubernetes-minimal"], env: () => ({ CODER_SCALETEST_RUN_TIMEOUT: "-1s" }), message: /CODER_SCALETEST_RUN_TIMEOUT: must be a duration from 0 to 2562047h47m16.854775807s/ },
  { name: "--run-expect-timeout without a run timeout", args: ["create-workspaces", "-t", "kubernetes-minimal", "--run-command", "sleep 9", "--run-expect-timeout", "--run-timeout", "0"], message: /--run-timeout: must be greater than 0 with --run-expect-timeout/ },
  { name: "an invalid output format", args: ["create-workspaces", "-t", "kubernetes-minimal", "--output", "yaml"], message: /--output: invalid output format "yaml"/ },
  { name: "two stdout outputs", args: ["create-workspaces", "-t", "kubernetes-minimal", "--output", "text,json"], message: /--output: multiple output flags specified for stdout/ },
  { name: "an unreachable URL", args: ["create-workspaces", "-t", "kubernetes-minimal"], env: () => ({ CODER_URL: closedPortUrl }), message: /--url: cannot reach http:\/\/127\.0\.0\.1:\d+/, child: true },
  { name: "no URL at all", args: ["cleanup"], env: () => ({ CODER_URL: "" }), message: /--url: You are not logged in/ },
  { name: "a bad token", args: ["create-workspaces", "-t", "kubernetes-minimal"], env: () => ({ CODER_SESSION_TOKEN: "AAAAAAAAAA-BBBBBBBBBBBBBBBBBBBBBB" }), message: /--token: the session token was rejected \(401/, child: true },
  { name: "a non-owner", args: ["create-workspaces", "-t", "kubernetes-minimal"], env: () => ({ CODER_SESSION_TOKEN: memberToken }), message: /--token: user "member": Not logged in as a site owner/, child: true },
  { name: "a non-owner running cleanup", args: ["cleanup"], env: () => ({ CODER_SESSION_TOKEN: memberToken }), message: /Not logged in as a site owner/, child: true },
  { name: "an unusable state dir", args: ["create-workspaces", "-t", "kubernetes-minimal"], env: () => ({ SCALETEST_STATE_DIR: "/proc/version/state" }), message: /--state-dir: cannot open the run ledger in \/proc\/version\/state/, child: true },
  { name: "a bad cleanup concurrency", args: ["cleanup", "--cleanup-concurrency", "-2"], message: /--cleanup-concurrency: must be an integer >= 0/ },
];

describe("bad input exits 2 before any mutating request", () => {
  for (const c of cases) {
    it(`rejects ${c.name}`, async () => {
      const mark = sim.requests.length;
      const res = await (c.child ? cli : cliInProcess)(c.args, c.env?.() ?? {});
      expect(res.exitCode, res.stderr).toBe(2);
      expect(res.stderr).toMatch(c.message);
      expect(res.stderr + res.stdout).not.toContain(sim.sessionToken);
      expect(res.stderr + res.stdout).not.toContain(memberToken);
      expect(sim.requests.slice(mark).filter((r) => r.method !== "GET")).toEqual([]);
    });
  }
});
