// `scaletest run` settings: one flag per SCALETEST_* row of the runner table, flags over env over (simulator)
// defaults, problems naming the flag; and the commands that refuse to run without a deployment.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../../src/cli.ts";
import { addThresholdFlags, register, runEnv, settingFlagName, settingFlagValues, SETTING_FLAGS, validateRunEnv } from "../../../src/cli/run.ts";
import { RUNNER_SETTINGS } from "../../../src/run/config.ts";
import { ConfigError } from "../../../src/errors.ts";
import { SIMULATOR_RUN_DEFAULTS } from "../../../src/run/cli-run.ts";
import { runThresholds } from "../../../src/run/watch.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cli-run-unit-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function parse(args: string[]) {
  const program = new Command("scaletest").exitOverride();
  register(program);
  const cmd = program.commands.find((c) => c.name() === "run")!;
  cmd.exitOverride().action(() => {});
  program.parse(["run", ...args], { from: "user" });
  return cmd;
}

const globals = (url?: string) => ({ url, token: url ? "t0ken-value" : undefined, configDir: dir, stateDir: join(dir, "state"), verbose: false });

describe("scaletest run flags", () => {
  it("derives one flag per non-secret SCALETEST_* setting from its env var, all distinct", () => {
    expect(settingFlagName("SCALETEST_PARAM_NUM_WORKSPACES")).toBe("num-workspaces");
    expect(settingFlagName("SCALETEST_RUN_DIR")).toBe("run-dir");
    const scaletestRows = RUNNER_SETTINGS.filter(([, s]) => s.env.startsWith("SCALETEST_") && !s.secret && s.source !== "local");
    expect(SETTING_FLAGS.map((f) => f.setting.env)).toEqual(scaletestRows.map(([, s]) => s.env));
    expect(new Set(SETTING_FLAGS.map((f) => f.long)).size).toBe(SETTING_FLAGS.length);
    // Secrets never become flags (they would show in `ps`); CODER_URL/TOKEN are the shared --url/--token.
    const cmd = parse([]);
    const longs = cmd.options.map((o) => o.long);
    expect(longs).not.toContain("--grafana-api-token");
    expect(longs).not.toContain("--slack-webhook-url");
    expect(longs).toEqual(expect.arrayContaining(["--url", "--token", "--dry-run", "--load-scenario-ssh-traffic-duration"]));
  });

  it("turns flags into env values: bools, comma-separated scenario lists, and remembers which flag set what", () => {
    const { values, flagOf } = settingFlagValues(parse(["--dry-run", "--greedy-agent=false", "--load-scenarios", "SSH Traffic, App Traffic", "--num-workspaces", "3"]));
    expect(values).toEqual({
      SCALETEST_PARAM_DRY_RUN: "true",
      SCALETEST_PARAM_GREEDY_AGENT: "false",
      SCALETEST_PARAM_LOAD_SCENARIOS: '["SSH Traffic","App Traffic"]',
      SCALETEST_PARAM_NUM_WORKSPACES: "3",
    });
    expect(flagOf.get("SCALETEST_PARAM_NUM_WORKSPACES")).toBe("--num-workspaces");
    expect(settingFlagValues(parse(["--load-scenarios", '["Dashboard Traffic"]'])).values.SCALETEST_PARAM_LOAD_SCENARIOS).toBe('["Dashboard Traffic"]');
  });

  it("layers flags over env vars over the simulator defaults (an empty template parameter stays, for the loader to refuse); runs for real unless told otherwise", () => {
    const env = runEnv(
      { SCALETEST_PARAM_NUM_WORKSPACES: "5", SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "", SCALETEST_PARAM_COMMENT: "from env" },
      { SCALETEST_PARAM_COMMENT: "from flag" },
      globals(),
      true,
    );
    expect(env.SCALETEST_PARAM_NUM_WORKSPACES).toBe("5");
    expect(env.SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION).toBe("");
    expect(runEnv({ SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: undefined, CODER_SESSION_TOKEN: "" }, {}, globals(), true).SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION).toBe(
      SIMULATOR_RUN_DEFAULTS.SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION,
    );
    expect(env.SCALETEST_PARAM_COMMENT).toBe("from flag");
    expect(env.SCALETEST_PARAM_DRY_RUN).toBe("false");
    expect(env.CODER_URL).toBe("");
    expect(env.SCALETEST_STATE_DIR).toBe(join(dir, "state"));
    // Against a deployment the template's defaults stand, and the template's own dry-run variable is honoured.
    const real = runEnv({ SCALETEST_PARAM_DRY_RUN: "true" }, {}, globals("https://coder.example.com"), false);
    expect(real.SCALETEST_PARAM_NUM_WORKSPACES).toBeUndefined();
    expect(real.SCALETEST_PARAM_DRY_RUN).toBe("true");
    expect(real.CODER_URL).toBe("https://coder.example.com");
  });

  it("validates the whole config at once, naming the flag when a flag set the value and the env var otherwise", () => {
    const env = runEnv({ SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_JITTER: "9s" }, { SCALETEST_PARAM_NUM_WORKSPACES: "0" }, globals(), true);
    const err = (() => {
      try {
        validateRunEnv(env, new Map([["SCALETEST_PARAM_NUM_WORKSPACES", "--num-workspaces"]]));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.path)).toEqual(["--num-workspaces (SCALETEST_PARAM_NUM_WORKSPACES)", "SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_JITTER"]);
    expect(() => validateRunEnv({ ...env, SCALETEST_PARAM_NUM_WORKSPACES: "2", SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_JITTER: "1s", CODER_SCALETEST_RESOLVE: "nonsense" }, new Map())).toThrow(/CODER_SCALETEST_RESOLVE/);
    expect(validateRunEnv({ ...env, SCALETEST_PARAM_NUM_WORKSPACES: "2", SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_JITTER: "1s" }, new Map()).numWorkspaces).toBe(2);
  });
});

describe("scaletest run --threshold", () => {
  const thresholdsOf = (args: string[], base: NodeJS.ProcessEnv = {}) => {
    const cmd = parse(args);
    const { values, flagOf } = settingFlagValues(cmd);
    const env = addThresholdFlags(runEnv(base, values, globals(), true), (cmd.getOptionValue("threshold") as string[] | undefined) ?? [], flagOf);
    return { cfg: validateRunEnv(env, flagOf), flagOf };
  };

  it("adds each --threshold to the setting, from --thresholds over $SCALETEST_PARAM_THRESHOLDS", () => {
    const env = { SCALETEST_PARAM_LOAD_SCENARIOS: '["SSH Traffic"]', SCALETEST_PARAM_THRESHOLDS: "error_rate < 5%" };
    const texts = (args: string[]) => runThresholds(thresholdsOf(args, env).cfg).map((t) => t.text);
    expect(texts(["--threshold", "ssh.round_trip.p95 < 200ms", "--threshold", "build.p95 < 2m"])).toEqual(["error_rate < 5%", "ssh.round_trip.p95 < 200ms", "build.p95 < 2m"]);
    expect(texts(["--thresholds", "error_rate < 1%\nbuild.p50 < 1m", "--threshold", "ssh.error_rate < 1%"])).toEqual(["error_rate < 1%", "build.p50 < 1m", "ssh.error_rate < 1%"]);
    expect(texts([])).toEqual(["error_rate < 5%"]);
  });

  it("lists --threshold and the verdict's exit codes in --help", () => {
    let help = "";
    const cmd = parse([]);
    cmd.configureOutput({ writeOut: (t) => (help += t) });
    cmd.outputHelp();
    expect(help).toMatch(/--threshold <expr> +one threshold, repeatable, added to --thresholds/);
    expect(help.replace(/\s+/g, " ")).toContain(
      "Exit codes: 0 the run passed; 1 a phase or the cleanup failed (whatever the verdict); 2 bad settings (nothing was done); 3 a threshold failed, or an abortOnFail threshold stopped the run; 4 generator-limited",
    );
  });

  it("names a bad --threshold by its flag and text, and refuses a second --thresholds", () => {
    const problems = (args: string[], base: NodeJS.ProcessEnv = {}) => {
      try {
        thresholdsOf(args, base);
      } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
      }
      return [];
    };
    const p = problems(["--thresholds", '["error_rate < 1%"]', "--threshold", "web_terminal.round_trip.p59 < 1ms", "--threshold", "round_trip.p95 < fast"], { SCALETEST_PARAM_LOAD_SCENARIOS: '["Web Terminal Traffic"]' });
    expect(p.map((x) => x.path)).toEqual(['--threshold "web_terminal.round_trip.p59 < 1ms" (SCALETEST_PARAM_THRESHOLDS[1])', '--threshold "round_trip.p95 < fast" (SCALETEST_PARAM_THRESHOLDS[2])']);
    expect(p[0]!.message).toMatch(/unknown metric "web_terminal\.round_trip\.p59"; did you mean "web_terminal\.round_trip\.p50"/);
    // An entry of --thresholds itself is named by that flag.
    expect(problems(["--thresholds", '["error_rate < 1%", "eror_rate < 1%"]']).map((x) => x.path)).toEqual(["--thresholds[1] (SCALETEST_PARAM_THRESHOLDS[1])"]);
    expect(problems(["--thresholds", "error_rate < 1%", "--thresholds", "build.p95 < 2m"])).toEqual([
      expect.objectContaining({ path: "--thresholds (SCALETEST_PARAM_THRESHOLDS)", message: expect.stringMatching(/given 2 times.*--threshold/) }),
    ]);
  });
});

describe("commands that need existing scaletest resources, without a deployment", () => {
  async function run(args: string[]) {
    const saved = { ...process.env };
    delete process.env.CODER_URL;
    delete process.env.CODER_SESSION_TOKEN;
    Object.assign(process.env, { CODER_CONFIG_DIR: join(dir, "nocfg"), SCALETEST_CHROMIUM_PATH: "/bin/true", SCALETEST_STATE_DIR: join(dir, "state") });
    let stderr = "";
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
    try {
      return { code: await main(args), stderr };
    } finally {
      process.stderr.write = write;
      process.exitCode = undefined;
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  }

  it("workspace-traffic and dashboard refuse (exit 2) and point at `scaletest run`", async () => {
    for (const args of [["workspace-traffic"], ["dashboard", "--scaletest-prometheus-address", "127.0.0.1:0"]]) {
      const r = await run(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/validate --url: You are not logged in: .*the built-in simulator starts empty.*`scaletest run`/);
      expect(r.stderr).not.toContain("using the built-in Coder simulator");
      expect(r.stderr).not.toContain("Waiting");
    }
  });

  it("cleanup says there is nothing to clean up", async () => {
    const r = await run(["cleanup"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/validate --url: You are not logged in: .*without a deployment there is nothing to clean up/);
  });
});
