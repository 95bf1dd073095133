// Annotations from a real staged run (in process, against the simulator): tags, end times, greedy agent, and a Grafana
// that fails never stops the run.
import { loadRunnerConfig } from "../../src/run/config.ts";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { prepare, report, run } from "../../src/run/lifecycle.ts";
import { tokenPath } from "../../src/run/session.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { stagedEnvVars } from "../e2e/staged-env.ts";
import { startFakeGrafana, type FakeGrafana } from "../helpers/grafana.ts";

let sim: Simulator;
let grafana: FakeGrafana;
let dir: string;
let logs: string[];
let out: string;

beforeEach(async () => {
  sim = await startSimulator({});
  grafana = await startFakeGrafana();
  dir = mkdtempSync(join(tmpdir(), "annotations-run-"));
  logs = [];
  out = "";
});
afterEach(async () => {
  await sim.close();
  await grafana.close();
  rmSync(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv =>
  stagedEnvVars(sim, grafana, dir, {
    SCALETEST_RUN_ID: "scaletest-annotations",
    SCALETEST_PARAM_NUM_WORKSPACES: "1",
    SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "0s",
    SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_DURATION: "1500ms",
    ...extra,
  });

const io = () => ({ log: (l: string) => logs.push(l), out: (t: string) => (out += t) });

describe("annotations of a staged run", () => {
  it("marks the greedy agent's traffic inside its scenario, and every span ends", async () => {
    const e = env({ SCALETEST_PARAM_GREEDY_AGENT: "1", SCALETEST_GREEDY_AGENT_BYTES_PER_TICK: "4096", SCALETEST_GREEDY_AGENT_TICK_INTERVAL: "50ms" });
    expect(await prepare(loadRunnerConfig(e), io())).toBe(0);
    expect(statSync(tokenPath(join(dir, "run"))).mode & 0o777).toBe(0o600);
    const code = await run(loadRunnerConfig(e), io());
    expect(code, out + logs.join("\n")).toBe(0);
    expect(grafana.problems()).toEqual([]);
    const all = [...grafana.annotations.values()];
    const greedy = all.find((a) => a.tags.includes("greedy_agent"))!;
    expect(greedy).toMatchObject({ text: "Web Terminal Traffic: Greedy agent traffic", tags: ["scaletest", "runner", "greedy_agent"] });
    const scenario = all.find((a) => a.text === "Load scenario: Web Terminal Traffic")!;
    // A third in, for a third: inside the scenario's span.
    expect(greedy.time).toBeGreaterThanOrEqual(scenario.time + 400);
    expect(greedy.timeEnd!).toBeLessThanOrEqual(scenario.timeEnd!);
    expect(all.map((a) => a.text)).toContain("Creating greedy agent");
    for (const a of all) expect(a.timeEnd, a.text).toBeGreaterThanOrEqual(a.time);
    expect(out).toContain("greedy agent traffic: passed");
  });

  it("puts every verdict line, each threshold with its observed value, on the status annotation and in the Slack report", async () => {
    // A Slack incoming webhook on loopback; its path is the credential.
    const bodies: Array<{ blocks: Array<{ text: { text: string } }> }> = [];
    const slack = createServer((req, res) => {
      let raw = "";
      req.on("data", (c) => (raw += c));
      req.on("end", () => {
        bodies.push(JSON.parse(raw));
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((r) => slack.listen(0, "127.0.0.1", r));
    try {
      const hook = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T0/B0/secret-hook-path`;
      const e = env({ SCALETEST_PARAM_THRESHOLDS: JSON.stringify(["error_rate < 1%", "web_terminal.round_trip.p95 < 10s", "build.p95 < 1ms"]), SLACK_WEBHOOK_URL: hook });
      expect(await prepare(loadRunnerConfig(e), io())).toBe(0);
      expect(await run(loadRunnerConfig(e), io()), out + logs.join("\n")).toBe(3);
      expect(grafana.problems()).toEqual([]);
      const status = [...grafana.annotations.values()].find((a) => a.text.startsWith("Verdict:"));
      expect(status?.text).toMatch(
        /^Verdict: FAIL\nok {3}error_rate < 1%: observed 0\.00%\nok {3}web_terminal\.round_trip\.p95 < 10s: observed [\d.]+(?:µs|ms|s)\nFAIL build\.p95 < 1ms: observed [\d.]+m?s$/,
      );
      expect(status?.tags).toContain("status");
      expect(await report(loadRunnerConfig(e), "failed", io())).toBe(0);
      expect(bodies).toHaveLength(1);
      const verdict = bodies[0]!.blocks[1]!.text.text;
      expect(verdict).toMatch(/^\*Verdict: FAIL\*\n• ok {3}error_rate &lt; 1%: observed 0\.00%\n• ok {3}web_terminal\.round_trip\.p95 &lt; 10s: observed [\d.]+(?:µs|ms|s)\n• FAIL build\.p95 &lt; 1ms: observed [\d.]+m?s$/);
      const said = `${out}\n${logs.join("\n")}\n${JSON.stringify(bodies)}\n${[...grafana.annotations.values()].map((a) => a.text).join("\n")}`;
      for (const secret of ["secret-hook-path", grafana.token, sim.sessionToken]) expect(said).not.toContain(secret);
    } finally {
      await new Promise((r) => slack.close(r));
    }
  });

  it("runs to completion when Grafana answers errors, warning once", async () => {
    grafana.failWith(503);
    const e = env();
    expect(await prepare(loadRunnerConfig(e), io())).toBe(0);
    expect(await run(loadRunnerConfig(e), io())).toBe(0);
    expect(out).toContain("Scaletest scaletest-annotations: Complete");
    expect(out).toMatch(/note: \d+ Grafana annotation request\(s\) failed; the run went on/);
    // One warning per process (prepare, run), never the token.
    expect(logs.filter((l) => l.includes("grafana annotation failed"))).toHaveLength(2);
    expect(logs.join("\n")).not.toContain(grafana.token);
  });

  it("runs to completion when Grafana is down", async () => {
    await grafana.close();
    const e = env();
    expect(await prepare(loadRunnerConfig(e), io())).toBe(0);
    expect(await run(loadRunnerConfig(e), io())).toBe(0);
    expect(out).toContain("Complete");
  });
});
