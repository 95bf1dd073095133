// create-workspaces --run-command against the simulator: the command's output judged as upstream (expect-output,
// run-timeout, expect-timeout), output copied to the job log, and the command skipped without agents.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli.ts";
import { CoderClient } from "../../src/coder/client.ts";
import { runPhase } from "../../src/harness/harness.ts";
import { createWorkspacesHarness } from "../../src/scenarios/create-workspaces/runner.ts";
import { defaultCreateWorkspacesConfig, type CreateWorkspacesConfig } from "../../src/scenarios/create-workspaces/config.ts";
import { prepareCreateWorkspaces } from "../../src/scenarios/create-workspaces/parameters.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const never = () => new AbortController().signal;

/** Runs one job with `over`, returns its result and the PTY upgrades the simulator saw. */
async function runOne(over: Partial<CreateWorkspacesConfig>) {
  sim ??= await startSimulator({ port: 0, knobs: { pendingMs: 10, runningMs: 20, agentConnectDelayMs: 10 } });
  const cfg: CreateWorkspacesConfig = {
    ...defaultCreateWorkspacesConfig(),
    template: sim.template.name,
    buildPollMs: 10,
    agentPollMs: 10,
    strategy: { concurrency: 0, timeoutMs: 30_000, jobTimeoutMs: 20_000 },
    ...over,
  };
  const client = new CoderClient({ url: sim.url, token: sim.sessionToken, bypassRateLimit: true });
  const prepared = await prepareCreateWorkspaces(client, await client.me(), cfg);
  const mark = sim.requests.length;
  const { harness } = createWorkspacesHarness({ admin: client, prepared, cfg });
  await runPhase(harness, "run", never(), cfg.strategy.timeoutMs);
  const result = harness.results().runs["workspacebuild/0"]!;
  const ptys = sim.requests.slice(mark).filter((r) => r.path.endsWith("/pty"));
  await runPhase(harness, "cleanup", never(), 30_000);
  return { result, outcomes: harness.outcomes(), ptys };
}

describe("create-workspaces --run-command", () => {
  it("passes when a line contains --run-expect-output, and --run-log-output copies the lines into the job log", async () => {
    const { result, ptys } = await runOne({ runCommand: "echo hello-from-pty", runExpectOutput: "from-pty", runLogOutput: true });
    expect(result.error).toBe("<nil>");
    expect(result.logs).toContain("\n\thello-from-pty\n");
    expect(ptys.map((r) => r.status)).toEqual([101]);
  });

  it("without --run-log-output the output stays out of the log", async () => {
    const { result } = await runOne({ runCommand: "echo quiet-line", runExpectOutput: "quiet" });
    expect(result.error).toBe("<nil>");
    expect(result.logs).not.toContain("quiet-line\n");
  });

  it("fails with upstream's message when no line contains --run-expect-output", async () => {
    const { result, outcomes } = await runOne({ runCommand: "echo something-else", runExpectOutput: "needle" });
    expect(outcomes.failed).toBe(1);
    expect(result.error).toContain('expected string "needle" not found in output');
  });

  it("a command that never exits fails at --run-timeout, and passes with --run-expect-timeout", async () => {
    const failed = await runOne({ runCommand: "sleep infinity", runTimeoutMs: 300 });
    expect(failed.outcomes.failed).toBe(1);
    expect(failed.result.error).toContain("copy context: context deadline exceeded");
    const passed = await runOne({ runCommand: "sleep infinity", runTimeoutMs: 300, runExpectTimeout: true });
    expect(passed.result.error).toBe("<nil>");
  });

  it("--run-expect-timeout fails when the command exits", async () => {
    const { result } = await runOne({ runCommand: "echo done", runTimeoutMs: 2_000, runExpectTimeout: true });
    expect(result.error).toContain("expected timeout, but the command exited successfully");
  });

  it("--no-wait-for-agents skips the command", async () => {
    const { result, ptys } = await runOne({ runCommand: "echo x", runExpectOutput: "never-printed", noWaitForAgents: true });
    expect(result.error).toBe("<nil>");
    expect(ptys).toEqual([]);
  });
});

describe("scaletest create-workspaces --run-* flags", () => {
  it("reach the job: the env var and flags run the command, and its failure lands in the JSON results (exit 1)", async () => {
    sim ??= await startSimulator({ port: 0, knobs: { pendingMs: 10, runningMs: 20, agentConnectDelayMs: 10 } });
    const dir = mkdtempSync(join(tmpdir(), "cw-run-cli-"));
    const saved = { ...process.env };
    const write = process.stderr.write.bind(process.stderr);
    let stderr = "";
    Object.assign(process.env, {
      CODER_URL: sim.url,
      CODER_SESSION_TOKEN: sim.sessionToken,
      SCALETEST_STATE_DIR: join(dir, "state"),
      CODER_CONFIG_DIR: join(dir, "nocfg"),
      CODER_SCALETEST_RUN_COMMAND: "echo via-env",
    });
    process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
    try {
      const out = join(dir, "out.json");
      const args = ["create-workspaces", "-t", sim.template.name, "--count", "2", "--concurrency", "2", "--run-expect-output", "absent", "--run-log-output", "--run-timeout", "2s"];
      const code = await main([...args, "--output", `json:${out}`]);
      expect(code, stderr).toBe(1);
      const runs = Object.values((JSON.parse(readFileSync(out, "utf8")) as { runs: Record<string, { error: string; logs: string }> }).runs);
      expect(runs).toHaveLength(2);
      for (const r of runs) {
        expect(r.error).toContain('expected string "absent" not found in output');
        expect(r.logs).toContain("\tvia-env\n");
      }
    } finally {
      process.stderr.write = write;
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
