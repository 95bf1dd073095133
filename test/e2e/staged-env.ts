// Shared setup of the staged e2e tests: a simulator, a fake Grafana, a run directory, and the scripts run as processes.
import { execa, type ResultPromise } from "execa";
import { existsSync, mkdtempSync, readFileSync, rmSync, watch } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CoderClient } from "../../src/coder/client.ts";
import { readPhaseEvents, type PhaseEvent } from "../../src/state/phase.ts";
import { readStatus } from "../../src/state/status.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { Children } from "../helpers/children.ts";
import { startFakeGrafana, type FakeGrafana } from "../helpers/grafana.ts";

const REPO = resolve(import.meta.dirname, "../..");

export interface StagedEnv {
  sim: Simulator;
  grafana: FakeGrafana;
  dir: string;
  stateDir: string;
  env: Record<string, string>;
  /** Runs scripts/<name>.ts to completion. */
  script(name: string, args?: string[], extraEnv?: Record<string, string>): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Starts scripts/<name>.ts and returns the running process. */
  spawn(name: string, args?: string[], extraEnv?: Record<string, string>): ResultPromise;
  phases(): PhaseEvent[];
  phaseLines(): string[];
  status(): string;
  /** Resolves once the phase file has a line matching `pred` (watching the state directory; no sleeps). */
  phaseEvent(pred: (e: PhaseEvent) => boolean, timeoutMs?: number): Promise<PhaseEvent>;
  /** Scaletest workspaces and users that exist on the simulator now. */
  leftovers(): Promise<{ workspaces: number; users: number }>;
  mutatingRequests(): string[];
  /** Stops every script process still running (SIGTERM, then SIGKILL), then the simulator and Grafana; removes the directory. */
  close(): Promise<void>;
}

/** Env for a short staged run: tiny durations, ports 0, Grafana at the fake, the simulator's app host resolved to loopback. */
export function stagedEnvVars(sim: Simulator, grafana: FakeGrafana, dir: string, params: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? "",
    HOME: dir,
    CODER_URL: sim.url,
    CODER_SESSION_TOKEN: sim.sessionToken,
    CODER_USER: "admin",
    CODER_WORKSPACE: "runner",
    // The simulator's `coder ssh --stdio` stand-in, for SSH Traffic.
    CODER_BINARY: join(REPO, "src/simulator/coder-shim/coder"),
    CODER_SCALETEST_RESOLVE: `*.apps.localhost:${sim.port}:127.0.0.1`,
    SCALETEST_RUN_ID: "scaletest-e2e",
    SCALETEST_RUN_DIR: join(dir, "run"),
    SCALETEST_RUN_START_TIME: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    SCALETEST_STATE_DIR: join(dir, "ledger"),
    SCALETEST_TRAFFIC_METRICS_PORT: "0",
    SCALETEST_DASHBOARD_METRICS_PORT: "0",
    SCALETEST_RUNNER_METRICS_PORT: "0",
    SCALETEST_PARAM_GRAFANA_URL: grafana.url,
    GRAFANA_API_TOKEN: grafana.token,
    SCALETEST_PARAM_DRY_RUN: "0",
    SCALETEST_PARAM_NUM_WORKSPACES: "2",
    SCALETEST_PARAM_METRICS_LINGER: "0s",
    SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "300ms",
    SCALETEST_PARAM_LOAD_SCENARIOS: '["Web Terminal Traffic"]',
    SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_DURATION: "1s",
    SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_DURATION: "1s",
    SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_DURATION: "1s",
    SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_DURATION: "2s",
    SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_INTERVAL: "1s",
    SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_JITTER: "0s",
    SCALETEST_PARAM_LOAD_SCENARIO_CONCURRENCY_STAGGER_DELAY: "0s",
    ...params,
  };
  // A param given as undefined is unset (an empty value is a value, which the runner refuses for a template parameter).
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Options of stagedEnv: a simulator shared with other runs (then close() leaves it running). */
export interface StagedEnvOptions {
  sim?: Simulator;
}

/** A simulator, a fake Grafana and a run directory, with the scripts run as processes. */
export async function stagedEnv(params: Record<string, string | undefined> = {}, opts: StagedEnvOptions = {}): Promise<StagedEnv> {
  const sim = opts.sim ?? (await startSimulator({}));
  const grafana = await startFakeGrafana();
  const dir = mkdtempSync(join(tmpdir(), "staged-e2e-"));
  const env = stagedEnvVars(sim, grafana, dir, params);
  const stateDir = join(env.SCALETEST_RUN_DIR!, "state");
  // scripts/metadata.js is plain JavaScript and runs without tsx, as the agent runs it; the others are TypeScript.
  const scriptArgs = (name: string) => (existsSync(join(REPO, "scripts", `${name}.js`)) ? [join(REPO, "scripts", `${name}.js`)] : ["--import", "tsx", join(REPO, "scripts", `${name}.ts`)]);
  // Every script process, so close() can stop one a failed wait left running (a 10-minute run, say).
  const children = new Children();
  const spawn = (name: string, args: string[] = [], extraEnv: Record<string, string> = {}) =>
    children.track(
      execa("node", [...scriptArgs(name), ...args], {
        cwd: REPO,
        env: { ...env, ...extraEnv },
        extendEnv: false,
        reject: false,
        stdin: "ignore",
      }),
    );
  const admin = new CoderClient({ url: sim.url, token: sim.sessionToken });
  return {
    sim,
    grafana,
    dir,
    stateDir,
    env,
    spawn,
    async script(name, args, extraEnv) {
      const r = await spawn(name, args, extraEnv);
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    phases: () => readPhaseEvents(stateDir),
    phaseLines: () => readPhaseEvents(stateDir).map((e) => `${e.kind}:${e.n}: ${e.name}`),
    status: () => readStatus(stateDir),
    phaseEvent(pred, timeoutMs = 60_000) {
      return new Promise((resolvePromise, reject) => {
        const check = () => readPhaseEvents(stateDir).find(pred);
        const hit = existsSync(stateDir) ? check() : undefined;
        if (hit) return resolvePromise(hit);
        // Watch the run directory (the state dir may not exist yet); every change re-reads the phase file.
        const watcher = watch(env.SCALETEST_RUN_DIR!, { recursive: true }, () => {
          const e = check();
          if (e) done(e);
        });
        const timer = setTimeout(() => {
          watcher.close();
          reject(new Error(`no matching phase event within ${timeoutMs}ms; phase file: ${readPhaseEvents(stateDir).map((x) => `${x.kind}:${x.name}`).join(" | ")}`));
        }, timeoutMs);
        const done = (e: PhaseEvent) => {
          clearTimeout(timer);
          watcher.close();
          resolvePromise(e);
        };
      });
    },
    async leftovers() {
      const workspaces = (await admin.allWorkspaces('name:"scaletest-"')).filter((w) => w.name.startsWith("scaletest-"));
      const users = (await admin.allUsers("scaletest-")).filter((u) => u.username.startsWith("scaletest-"));
      return { workspaces: workspaces.length, users: users.length };
    },
    mutatingRequests: () => sim.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD").map((r) => `${r.method} ${r.path}`),
    async close() {
      await children.stopAll();
      if (!opts.sim) await sim.close();
      await grafana.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Parses a results JSON file (upstream harness shape). */
export function readResults(path: string): { total_runs: number; total_pass: number; total_fail: number; elapsed: string; elapsed_ms: number; runs: Record<string, { full_id: string; error: string }> } {
  return JSON.parse(readFileSync(path, "utf8"));
}
