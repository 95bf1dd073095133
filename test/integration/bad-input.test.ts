// The bad-input table: every invalid flag of every subcommand and every invalid runner setting exits 2 before the
// first mutating request reaches the simulator, naming the flag or env var and what is allowed, and printing no
// token or URL password. Flag cases run the CLI in this process; cases that reach the network (or need a real
// process exit code) run it as a child. Runner settings go both through the template's scripts (their config
// loader and prepare) and through `scaletest run`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.ts";
import { CoderClient } from "../../src/coder/client.ts";
import { prepare, withConfig } from "../../src/run/lifecycle.ts";
import { coderShimPath } from "../../src/simulator/coder-shim/index.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";

const REPO = resolve(import.meta.dirname, "../..");
const URL_PASSWORD = "Pa55-in-the-URL";
/** A rich parameter file that does not parse (written in beforeAll). */
const PARAMS_FILE = join(tmpdir(), `bad-input-params-${process.pid}.yaml`);

let sim: Simulator;
let dir: string;
let memberToken: string;
let closedPortUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bad-input-"));
  sim = await startSimulator({ port: 0 });
  const admin = new CoderClient({ url: sim.url, token: sim.sessionToken });
  await admin.createUser({ username: "member", email: "member@example.com", name: "", password: "Str0ng-Password-123", login_type: "", organization_ids: [sim.organization.id] });
  memberToken = (await admin.login({ email: "member@example.com", password: "Str0ng-Password-123" })).session_token;
  // A port that was just free: nothing listens there.
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  closedPortUrl = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  await new Promise((r) => srv.close(r));
  writeFileSync(PARAMS_FILE, "cpu: [unterminated\n");
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(PARAMS_FILE, { force: true });
});

type Env = Record<string, string | undefined>;

/** Where a case runs: the CLI in this process, the CLI as a child process, or a runner script's config path. */
type Via = "cli" | "child" | "script" | "script-child";

interface Case {
  name: string;
  via: Via;
  /** `scaletest` argv, or for scripts the script name and its args. */
  args: string[];
  env?: () => Env;
  /** Must be in stderr: the flag or env var, and what is allowed. */
  expect: RegExp;
}

/** The CLI's environment: the simulator, a state dir, an empty config dir. */
const cliEnv = (): Env => ({ CODER_URL: sim.url, CODER_SESSION_TOKEN: sim.sessionToken, SCALETEST_STATE_DIR: join(dir, "state"), CODER_CONFIG_DIR: join(dir, "nocfg") });

let runSeq = 0;
/** The runner workspace's environment: what main.tf sets, pointed at the simulator, runs for real. */
const runnerEnv = (): Env => ({
  ...cliEnv(),
  CODER_USER: "admin",
  CODER_WORKSPACE: "runner",
  SCALETEST_RUN_ID: `bad-input-${++runSeq}`,
  SCALETEST_RUN_DIR: join(dir, "runs", String(runSeq)),
  SCALETEST_PARAM_DRY_RUN: "false",
  SCALETEST_PARAM_NUM_WORKSPACES: "2",
  SCALETEST_PARAM_LOAD_SCENARIOS: '["Web Terminal Traffic"]',
  SCALETEST_TRAFFIC_METRICS_PORT: "0",
  SCALETEST_DASHBOARD_METRICS_PORT: "0",
  SCALETEST_RUNNER_METRICS_PORT: "0",
});

/** Runs `fn` with `env` over process.env and stderr captured. */
async function inProcess(env: Env, fn: () => Promise<number>): Promise<{ exitCode: number; stderr: string }> {
  const saved = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  let stderr = "";
  const write = process.stderr.write.bind(process.stderr);
  const writeOut = process.stdout.write.bind(process.stdout);
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stdout.write;
  try {
    return { exitCode: await fn(), stderr };
  } finally {
    process.stderr.write = write;
    process.stdout.write = writeOut;
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

async function child(cmd: string[], env: Env): Promise<{ exitCode: number; stderr: string }> {
  const full = Object.fromEntries(Object.entries({ PATH: process.env.PATH, HOME: dir, ...env }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const res = await execa("node", cmd, { cwd: REPO, reject: false, env: full, extendEnv: false, stdin: "ignore" });
  return { exitCode: res.exitCode ?? -1, stderr: `${res.stderr}\n${res.stdout}` };
}

async function runCase(c: Case): Promise<{ exitCode: number; stderr: string }> {
  switch (c.via) {
    case "cli":
      return inProcess({ ...cliEnv(), ...c.env?.() }, () => main(c.args));
    case "child":
      return child(["bin/scaletest.js", ...c.args], { ...cliEnv(), ...c.env?.() });
    case "script": {
      // The template's prepare script: the env parsed once (withConfig), then prepare (token, templates, cleanup).
      const env = { ...runnerEnv(), ...c.env?.() };
      const lines: string[] = [];
      const exitCode = await withConfig(env, (cfg) => prepare(cfg, { log: (l) => lines.push(l), signal: new AbortController().signal }), (l) => lines.push(l));
      return { exitCode, stderr: lines.join("\n") };
    }
    case "script-child":
      return child(["--import", "tsx", join("scripts", `${c.args[0]}.ts`), ...c.args.slice(1)], { ...runnerEnv(), ...c.env?.() });
  }
}

const CW = ["create-workspaces", "-t", "kubernetes-minimal"];
const WT = ["workspace-traffic", "--scaletest-prometheus-address", "127.0.0.1:0"];
const DB = ["dashboard", "--scaletest-prometheus-address", "127.0.0.1:0"];
const DURATION_RANGE = /must be a duration from 0 to 2562047h47m16\.854775807s/;
const cli = (name: string, args: string[], expect: RegExp, env?: () => Env): Case => ({ name, via: "cli", args, expect, env });
const viaChild = (name: string, args: string[], expect: RegExp, env?: () => Env): Case => ({ name, via: "child", args, expect, env });
const commander = (name: string, args: string[], expect: RegExp): Case => cli(name, args, new RegExp(`${expect.source}[\\s\\S]*run "scaletest ${args[0]} --help" for every flag`));
const withRange = (field: string, range: RegExp) => new RegExp(`${field.replace(/[-/\\^$*+?.()|[\]{}]/g, "\\$&")}: ${range.source}`);

const CREATE_WORKSPACES: Case[] = [
  cli("a negative count", [...CW, "--count", "-1"], /--count: is required and must be an integer greater than 0, got -1/),
  cli("a non-numeric count", [...CW, "--count", "ten"], /--count: must be an integer, got "ten"/),
  cli("a bad count from the env var", CW, /--count: is required and must be an integer greater than 0, got 0/, () => ({ CODER_SCALETEST_COUNT: "0" })),
  cli("a count past the name's digits", [...CW, "--count", "10000000000001"], /--count: must be at most 10000000000000/),
  cli("a missing template", ["create-workspaces", "--count", "2"], /--template: is required \(a template name or UUID\)/),
  viaChild("an unknown template", ["create-workspaces", "-t", "no-such-template", "--count", "2"], /--template: could not find template "no-such-template" in any organization/),
  cli("a malformed --parameter", [...CW, "--parameter", "cpu"], /--parameter: must be name=value, got "cpu"/),
  viaChild("an unknown parameter", [...CW, "--parameter", "nope=1"], /--parameter: parameter "nope" not found in the template \(it has: /),
  cli("a bad job timeout", [...CW, "--job-timeout", "soon"], withRange("--job-timeout", DURATION_RANGE)),
  cli("a duration past Go's maximum", [...CW, "--timeout", "2562048h"], withRange("--timeout", DURATION_RANGE)),
  cli("a negative timeout", [...CW, "--timeout", "-5m"], withRange("--timeout", DURATION_RANGE)),
  cli("a request deadline below its range", [...CW, "--request-timeout", "500ms"], /--request-timeout: must be 0 \(no deadline\) or from 1s to 1h/),
  cli("a request deadline above its range", [...CW, "--request-timeout", "2h"], /--request-timeout: must be 0 \(no deadline\) or from 1s to 1h/),
  cli("a request deadline from the env var", CW, /CODER_SCALETEST_REQUEST_TIMEOUT: must be 0 \(no deadline\) or from 1s to 1h|--request-timeout: must be 0 \(no deadline\) or from 1s to 1h/, () => ({ CODER_SCALETEST_REQUEST_TIMEOUT: "90m" })),
  cli("a header without =", [...CW, "--header", "X-Auth"], /--header: entry 1 must be key=value/),
  cli("a header without = from the env var", CW, /--header: entry 2 must be key=value|CODER_HEADER: entry 2 must be key=value/, () => ({ CODER_HEADER: "A=1,B" })),
  cli("a failing header command", CW, /--header-command: exited with status 3/, () => ({ CODER_HEADER_COMMAND: "echo X-Secret=zzz-not-printed; exit 3" })),
  cli("a bad --run-timeout", [...CW, "--run-command", "echo x", "--run-timeout", "5 seconds"], withRange("--run-timeout", DURATION_RANGE)),
  cli("a bad run timeout from the env var", CW, withRange("CODER_SCALETEST_RUN_TIMEOUT", DURATION_RANGE), () => ({ CODER_SCALETEST_RUN_TIMEOUT: "-1s" })),
  cli("--run-expect-timeout without a run timeout", [...CW, "--run-command", "sleep 9", "--run-expect-timeout", "--run-timeout", "0"], /--run-timeout: must be greater than 0 with --run-expect-timeout/),
  cli("an invalid output format", [...CW, "--output", "yaml"], /--output: invalid output format "yaml" in "yaml"; allowed: text, json/),
  cli("two stdout outputs", [...CW, "--output", "text,json"], /--output: multiple output flags specified for stdout/),
  cli("an output in a missing directory", [...CW, "--output", "json:/nonexistent-dir/r.json"], /--output: directory "\/nonexistent-dir" does not exist/),
  cli("a negative --retry", [...CW, "--retry", "-1"], /--retry: must be an integer >= 0, got -1/),
  cli("a non-numeric --retry", [...CW, "--retry", "x"], /--retry: must be an integer, got "x"/),
  cli("a negative concurrency", [...CW, "--concurrency", "-1"], /--concurrency: must be an integer >= 0 \(0 = unlimited\), got -1/),
  cli("a fractional concurrency", [...CW, "--concurrency", "1.5"], /--concurrency: must be an integer, got "1.5"/),
  cli("a negative cleanup concurrency", [...CW, "--cleanup-concurrency", "-3"], /--cleanup-concurrency: must be an integer >= 0 \(0 = unlimited\), got -3/),
  cli("a negative cleanup timeout", [...CW, "--cleanup-timeout", "-1s"], withRange("--cleanup-timeout", DURATION_RANGE)),
  cli("a cleanup job timeout of forever", [...CW, "--cleanup-job-timeout", "forever"], withRange("--cleanup-job-timeout", DURATION_RANGE)),
  cli("a non-boolean --no-cleanup from the env var", CW, /CODER_SCALETEST_NO_CLEANUP: must be true or false, got "maybe"/, () => ({ CODER_SCALETEST_NO_CLEANUP: "maybe" })),
  cli("a non-boolean --verbose from the env var", CW, /CODER_VERBOSE: must be true or false, got "yes"/, () => ({ CODER_VERBOSE: "yes" })),
  cli("a missing rich parameter file", [...CW, "--rich-parameter-file", "/nonexistent/params.yaml"], /--rich-parameter-file: \/nonexistent\/params.yaml: ENOENT/),
  cli("a malformed rich parameter file", [...CW, "--rich-parameter-file", PARAMS_FILE], /--rich-parameter-file: .*line 1: unterminated list/),
  commander("an unknown flag", ["create-workspaces", "--bogus"], /unknown option '--bogus'/),
  commander("a flag without its value", ["create-workspaces", "--count"], /option '-c, --count <n>' argument missing/),
  commander("an extra argument", ["create-workspaces", "extra"], /too many arguments for 'create-workspaces'\. Expected 0 arguments but got 1/),
  cli("an empty --url", [...CW, "--url", ""], /--url: must be the deployment's http\(s\) URL, got "" from --url; leave it unset/),
  cli("an empty CODER_URL", CW, /--url: must be the deployment's http\(s\) URL, got "" from CODER_URL; leave it unset/, () => ({ CODER_URL: "" })),
  cli("a URL with credentials", [...CW, "--url", `http://user:${URL_PASSWORD}@127.0.0.1:1`], /--url: must not carry credentials \(user:password@ in http:\/\/\*\*\*@127\.0\.0\.1:1\); pass the session token with --token/),
  cli("a URL with credentials from CODER_URL", CW, /--url: must not carry credentials/, () => ({ CODER_URL: `https://admin:${URL_PASSWORD}@coder.example.com` })),
  cli("a non-http URL", [...CW, "--url", "ftp://coder.example.com"], /--url: must be an http or https URL, got "ftp:"/),
  cli("a URL that is not one", [...CW, "--url", "coder dot example"], /--url: must be an http\(s\) URL such as https:\/\/coder.example.com, got "coder dot example"/),
  viaChild("an unreachable URL", CW, /--url: cannot reach http:\/\/127\.0\.0\.1:\d+/, () => ({ CODER_URL: closedPortUrl })),
  viaChild("a bad token", CW, /--token: the session token was rejected \(401/, () => ({ CODER_SESSION_TOKEN: "AAAAAAAAAA-BBBBBBBBBBBBBBBBBBBBBB" })),
  viaChild("a non-owner", CW, /--token: user "member": Not logged in as a site owner/, () => ({ CODER_SESSION_TOKEN: memberToken })),
  viaChild("an unusable state dir", CW, /--state-dir: cannot open the run ledger in \/proc\/version\/state/, () => ({ SCALETEST_STATE_DIR: "/proc/version/state" })),
];

const CLEANUP: Case[] = [
  cli("a negative cleanup concurrency", ["cleanup", "--cleanup-concurrency", "-2"], /--cleanup-concurrency: must be an integer >= 0 \(0 = unlimited\), got -2/),
  cli("a bad cleanup timeout", ["cleanup", "--cleanup-timeout", "soon"], withRange("--cleanup-timeout", DURATION_RANGE)),
  cli("a negative cleanup job timeout", ["cleanup", "--cleanup-job-timeout", "-5m"], withRange("--cleanup-job-timeout", DURATION_RANGE)),
  cli("a bad cleanup concurrency from the env var", ["cleanup"], /CODER_SCALETEST_CLEANUP_CONCURRENCY: must be an integer, got "many"/, () => ({ CODER_SCALETEST_CLEANUP_CONCURRENCY: "many" })),
  cli("a non-boolean --include-others-workspaces from the env var", ["cleanup"], /CODER_SCALETEST_CLEANUP_INCLUDE_OTHERS_WORKSPACES: must be true or false, got "all"/, () => ({ CODER_SCALETEST_CLEANUP_INCLUDE_OTHERS_WORKSPACES: "all" })),
  cli("an empty CODER_URL", ["cleanup"], /--url: must be the deployment's http\(s\) URL, got "" from CODER_URL/, () => ({ CODER_URL: "" })),
  cli("no URL at all", ["cleanup"], /--url: You are not logged in: set --url or CODER_URL .*nothing to clean up/, () => ({ CODER_URL: undefined })),
  cli("a URL with credentials", ["cleanup", "--url", `http://admin:${URL_PASSWORD}@127.0.0.1:1`], /--url: must not carry credentials/),
  cli("a request deadline out of range", ["cleanup", "--request-timeout", "0.5s"], /--request-timeout: must be 0 \(no deadline\) or from 1s to 1h/),
  viaChild("an unknown --template", ["cleanup", "--template", "no-such-template"], /--template: could not find template "no-such-template" in any organization/),
  viaChild("a non-owner", ["cleanup"], /--token: user "member": Not logged in as a site owner/, () => ({ CODER_SESSION_TOKEN: memberToken })),
  commander("an unknown flag", ["cleanup", "--bogus"], /unknown option '--bogus'/),
  commander("a flag without its value", ["cleanup", "--cleanup-concurrency"], /option '--cleanup-concurrency <n>' argument missing/),
];

const WORKSPACE_TRAFFIC: Case[] = [
  cli("a negative target start", [...WT, "--target-workspaces", "-1:3"], /--target-workspaces: invalid target workspaces "-1:3": start must be 0 or more \(START:END with 0 <= START < END\)/),
  cli("an empty target range", [...WT, "--target-workspaces", "3:3"], /--target-workspaces: invalid target workspaces "3:3": start and end cannot be equal/),
  cli("a reversed target range", [...WT, "--target-workspaces", "5:2"], /--target-workspaces: invalid target workspaces "5:2": end cannot be less than start/),
  cli("a target range that is not one", [...WT, "--target-workspaces", "abc"], /--target-workspaces: invalid target workspaces "abc"/),
  cli("a target range from the env var", WT, /--target-workspaces: invalid target workspaces "-2:1": start must be 0 or more/, () => ({ CODER_SCALETEST_TARGET_WORKSPACES: "-2:1" })),
  cli("zero bytes per tick", [...WT, "--bytes-per-tick", "0"], /--bytes-per-tick: must be an integer from 1 to 33554432, got 0/),
  cli("too many bytes per tick", [...WT, "--bytes-per-tick", "99999999999"], /--bytes-per-tick: must be an integer from 1 to 33554432, got 99999999999/),
  cli("a zero tick interval", [...WT, "--tick-interval", "0s"], /--tick-interval: must be a duration from 1ms to 1m0s, got 0s/),
  cli("a nanosecond tick interval", [...WT, "--tick-interval", "1ns"], /--tick-interval: must be a duration from 1ms to 1m0s, got 1ns/),
  cli("a tick interval above a minute", [...WT, "--tick-interval", "2m"], /--tick-interval: must be a duration from 1ms to 1m0s, got 2m0s/),
  cli("a tick interval that is not a duration", [...WT, "--tick-interval", "fast"], withRange("--tick-interval", DURATION_RANGE)),
  cli("a zero traffic duration", [...WT, "--timeout", "0"], /--timeout: must be greater than zero \(it is also the traffic duration\)/),
  cli("--ssh together with --app", [...WT, "--ssh", "--app", "wsec", "--coder-binary", coderShimPath()], /--ssh: must be false when app is used/),
  cli("an app that is not a slug", [...WT, "--app", "Bad Slug"], /--app: must be an app slug \(lowercase letters, digits, dashes\), got "Bad Slug"/),
  cli("SSH without a coder binary", [...WT, "--ssh"], /--coder-binary: SSH mode needs the coder CLI: set --coder-binary or CODER_BINARY, or put coder on PATH/, () => ({ PATH: "/nonexistent" })),
  cli("a malformed --resolve", [...WT, "--resolve", "nonsense"], /--resolve: /),
  cli("a bad Prometheus address", ["workspace-traffic", "--scaletest-prometheus-address", "nonsense"], /--scaletest-prometheus-address: /),
  cli("a negative Prometheus wait", [...WT, "--scaletest-prometheus-wait", "-1s"], withRange("--scaletest-prometheus-wait", DURATION_RANGE)),
  cli("a non-numeric concurrency", [...WT, "--concurrency", "x"], /--concurrency: must be an integer, got "x"/),
  cli("a non-boolean SSH switch from the env var", WT, /CODER_SCALETEST_WORKSPACE_TRAFFIC_SSH: must be true or false, got "perhaps"/, () => ({ CODER_SCALETEST_WORKSPACE_TRAFFIC_SSH: "perhaps" })),
  cli("a job timeout in years", [...WT, "--job-timeout", "1y"], withRange("--job-timeout", DURATION_RANGE)),
  cli("an invalid output format", [...WT, "--output", "xml"], /--output: invalid output format "xml"/),
  cli("a shard count of zero", [...WT, "--shard-count", "0", "--shard-index", "0"], /--shard-count: must be an integer from 1 to 1000, got "0"/),
  cli("a shard count past 1000", [...WT, "--shard-count", "1001", "--shard-index", "0"], /--shard-count: must be an integer from 1 to 1000, got "1001"/),
  cli("a shard index past the count", [...WT, "--shard-count", "3", "--shard-index", "3"], /--shard-index: must be an integer from 0 to 2 \(--shard-count 3\), got "3"/),
  cli("a shard index without a count", [...WT, "--shard-index", "1"], /--shard-index: needs --shard-count/),
  cli("a shard count without an index", [...WT, "--shard-count", "3"], /--shard-index: is required with --shard-count: 0 to 2, or set by a Kubernetes Indexed Job as JOB_COMPLETION_INDEX/, () => ({ JOB_COMPLETION_INDEX: undefined })),
  cli("a completion index past the shard count", [...WT, "--shard-count", "2"], /JOB_COMPLETION_INDEX: must be an integer from 0 to 1 \(--shard-count 2\), got "5"/, () => ({ JOB_COMPLETION_INDEX: "5" })),
  cli("a start time that is not RFC 3339", [...WT, "--start-at", "12:00"], /--start-at: must be an RFC 3339 time such as 2024-09-18T11:47:53Z/),
  cli("a start time from the env var that does not exist", WT, /CODER_SCALETEST_START_AT: must be an RFC 3339 time/, () => ({ CODER_SCALETEST_START_AT: "2025-02-30T10:00:00Z" })),
  cli("a start time days ahead", [...WT, "--start-at", "2999-01-01T00:00:00Z"], /--start-at: must be at most 24h0m0s from now, got 2999-01-01T00:00:00Z/),
  cli("no URL at all", WT, /--url: You are not logged in: .*the built-in simulator starts empty/, () => ({ CODER_URL: undefined })),
  cli("an empty --url", [...WT, "--url", ""], /--url: must be the deployment's http\(s\) URL, got "" from --url/),
  commander("an unknown flag", ["workspace-traffic", "--bogus"], /unknown option '--bogus'/),
];

const DASHBOARD: Case[] = [
  cli("a negative target start", [...DB, "--target-users", "-1:3"], /--target-users: invalid target users "-1:3": start must be 0 or more/),
  cli("a reversed target range", [...DB, "--target-users", "4:2"], /--target-users: invalid target users "4:2": end cannot be less than start/),
  cli("a zero interval", [...DB, "--interval", "0s"], /--interval: must be greater than zero/),
  cli("a jitter not below the interval", [...DB, "--interval", "10s", "--jitter", "20s"], /--jitter: must be at least 0 and less than --interval/),
  cli("a non-boolean --headless", [...DB, "--headless", "maybe"], /--headless: must be true or false, got "maybe"/),
  cli("a non-numeric seed", [...DB, "--rand-seed", "x"], /--rand-seed: must be an integer, got "x"/),
  cli("a negative concurrency", [...DB, "--concurrency", "-1"], /--concurrency: must be an integer >= 0 \(0 = unlimited\), got -1/),
  cli("a bad Prometheus address", ["dashboard", "--scaletest-prometheus-address", "::nonsense::"], /--scaletest-prometheus-address: /),
  cli("a bad interval from the env var", DB, withRange("CODER_SCALETEST_DASHBOARD_INTERVAL", DURATION_RANGE), () => ({ CODER_SCALETEST_DASHBOARD_INTERVAL: "often" })),
  cli("a shard count past 1000", [...DB, "--shard-count", "5000", "--shard-index", "0"], /--shard-count: must be an integer from 1 to 1000, got "5000"/),
  cli("a shard index past the count", [...DB, "--shard-count", "2", "--shard-index", "2"], /--shard-index: must be an integer from 0 to 1 \(--shard-count 2\), got "2"/),
  cli("a start time that is not RFC 3339", [...DB, "--start-at", "tomorrow"], /--start-at: must be an RFC 3339 time/),
  cli("no URL at all", DB, /--url: You are not logged in/, () => ({ CODER_URL: undefined })),
  commander("an unknown flag", ["dashboard", "--bogus"], /unknown option '--bogus'/),
];

const RUN_FLAGS: Case[] = [
  cli("zero workspaces", ["run", "--num-workspaces", "0"], /--num-workspaces \(SCALETEST_PARAM_NUM_WORKSPACES\): must be an integer from 1 to 2000/),
  cli("too many workspaces", ["run", "--num-workspaces", "2001"], /--num-workspaces \(SCALETEST_PARAM_NUM_WORKSPACES\): must be an integer from 1 to 2000/),
  cli("an empty workspace count", ["run", "--num-workspaces", ""], /--num-workspaces \(SCALETEST_PARAM_NUM_WORKSPACES\): must be an integer from 1 to 2000 .*got "" \(empty; unset it to use the default "100"\)/),
  cli("an empty scenario list", ["run", "--load-scenarios", "[]"], /--load-scenarios \(SCALETEST_PARAM_LOAD_SCENARIOS\): must be a JSON array of at least 1 of "SSH Traffic"/),
  cli("an unknown scenario", ["run", "--load-scenarios", "Bogus Traffic"], /--load-scenarios \(SCALETEST_PARAM_LOAD_SCENARIOS\): unknown entry "Bogus Traffic".*allowed entries are "SSH Traffic"/),
  cli("a scenario listed twice", ["run", "--load-scenarios", '["SSH Traffic","SSH Traffic"]'], /--load-scenarios \(SCALETEST_PARAM_LOAD_SCENARIOS\): entry "SSH Traffic" is listed twice/),
  cli("an unknown cleanup strategy", ["run", "--cleanup-strategy", "sometimes"], /--cleanup-strategy \(SCALETEST_PARAM_CLEANUP_STRATEGY\): must be one of "always", "on_stop", "on_success", "on_error"/),
  cli("an unknown workspace template", ["run", "--template", "kubernetes-huge"], /--template \(SCALETEST_PARAM_TEMPLATE\): must be one of "kubernetes-minimal"/),
  cli("zero create concurrency", ["run", "--create-concurrency", "0"], /--create-concurrency \(SCALETEST_PARAM_CREATE_CONCURRENCY\): must be an integer from 1 to 100/),
  cli("a cleanup timeout below a minute", ["run", "--cleanup-timeout", "30s"], /--cleanup-timeout \(SCALETEST_PARAM_CLEANUP_TIMEOUT\): must be a duration from 1m0s to 10h0m0s/),
  cli("a baseline above an hour", ["run", "--load-scenario-baseline-duration", "2h"], /--load-scenario-baseline-duration \(SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION\): must be a duration from 0s to 1h0m0s/),
  cli("a greedy agent on the workspace template", ["run", "--greedy-agent", "--greedy-agent-template", "kubernetes-minimal"], /SCALETEST_PARAM_GREEDY_AGENT_TEMPLATE\)?: must differ from SCALETEST_PARAM_TEMPLATE/),
  cli("App Traffic on a template without the apps", ["run", "--load-scenarios", "App Traffic", "--template", "kubernetes-small"], /SCALETEST_PARAM_TEMPLATE\)?: must be "kubernetes-minimal" when "App Traffic" is selected/),
  cli("a mistyped --threshold", ["run", "--threshold", "error_rate < 1%", "--threshold", "web_terminal.round_trip.p59 < 1ms"], /--threshold "web_terminal\.round_trip\.p59 < 1ms" \(SCALETEST_PARAM_THRESHOLDS\[1\]\): unknown metric "web_terminal\.round_trip\.p59"; did you mean/),
  cli("a --threshold on a scenario not run", ["run", "--load-scenarios", "Web Terminal Traffic", "--threshold", "ssh.round_trip.p95 < 200ms"], /--threshold "ssh\.round_trip\.p95 < 200ms" \(SCALETEST_PARAM_THRESHOLDS\[1\]\): ssh\.round_trip\.p95 is measured by "SSH Traffic", which is not among the load scenarios/, () => ({ SCALETEST_PARAM_THRESHOLDS: "error_rate < 1%" })),
  cli("a repeated --thresholds", ["run", "--thresholds", "error_rate < 1%", "--thresholds", "web_terminal.round_trip.p59 < 1ms"], /--thresholds \(SCALETEST_PARAM_THRESHOLDS\): given 2 times; .*--threshold/),
  cli("a non-boolean dry-run", ["run", "--dry-run", "maybe"], /--dry-run \(SCALETEST_PARAM_DRY_RUN\): must be true or false/),
  cli("a namespace that is not a DNS label", ["run", "--namespace", "Bad_NS"], /--namespace \(SCALETEST_PARAM_NAMESPACE\): must be a Kubernetes namespace name \(DNS label\), at most 63 characters/),
  cli("a Grafana URL that is not one", ["run", "--grafana-url", "notaurl"], /--grafana-url \(SCALETEST_PARAM_GRAFANA_URL\): must be an http\(s\) URL or empty/),
  cli("zero runner CPUs", ["run", "--runner-cpu", "0"], /--runner-cpu \(SCALETEST_PARAM_RUNNER_CPU\): must be an integer from 1 to 64/),
  cli("concurrent percentages past 100", ["run", "--load-scenarios", "SSH Traffic,Web Terminal Traffic", "--load-scenario-run-concurrently", "--load-scenario-ssh-traffic-percentage", "60", "--load-scenario-web-terminal-traffic-percentage", "60"], /percentage.*100/i),
  cli("shards carrying more than one runner process sustains", ["run", "--runner-shards", "2", "--num-workspaces", "2000", "--load-scenarios", "Web Terminal Traffic", "--load-scenario-web-terminal-traffic-bytes-per-tick", "4096"], /--runner-shards \(SCALETEST_PARAM_RUNNER_SHARDS\): 2 shards leave "Web Terminal Traffic" 1000 connections and 39\.1 MiB\/s written per shard; one runner process sustains 1000 connections and 9\.8 MiB\/s .*use at least 8/),
  cli("a runner shard count past 100", ["run", "--runner-shards", "101"], /--runner-shards \(SCALETEST_PARAM_RUNNER_SHARDS\): must be an integer from 1 to 100/),
  cli("a metrics linger above ten minutes", ["run", "--metrics-linger", "11m"], /--metrics-linger \(SCALETEST_PARAM_METRICS_LINGER\): must be a duration from 0s to 10m0s/),
  cli("a percentage above 100", ["run", "--load-scenario-app-traffic-percentage", "200"], /--load-scenario-app-traffic-percentage \(SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_PERCENTAGE\): must be an integer from 1 to 100/),
  cli("an empty --url", ["run", "--url", ""], /--url: must be the deployment's http\(s\) URL, got "" from --url/),
  cli("an empty CODER_URL", ["run"], /--url: must be the deployment's http\(s\) URL, got "" from CODER_URL/, () => ({ CODER_URL: "" })),
  cli("a URL with credentials", ["run", "--url", `http://admin:${URL_PASSWORD}@127.0.0.1:1`], /--url: must not carry credentials/),
  commander("an unknown flag", ["run", "--bogus"], /unknown option '--bogus'/),
  viaChild("an unknown flag, as a real process", ["run", "--bogus"], /unknown option '--bogus'/),
  viaChild("an unknown subcommand, as a real process", ["nosuchcmd"], /unknown command 'nosuchcmd'/),
];

/** Runner settings: each one both through the template's scripts and through `scaletest run`, with the same env. */
const RUNNER_SETTINGS: Array<{ name: string; env: () => Env; expect: RegExp; cliExpect?: RegExp }> = [
  { name: "an empty workspace count", env: () => ({ SCALETEST_PARAM_NUM_WORKSPACES: "" }), expect: /SCALETEST_PARAM_NUM_WORKSPACES: must be an integer from 1 to 2000 \(template parameter "Number of workspaces to create"\), got "" \(empty; unset it to use the default "100"\)/ },
  { name: "an empty scenario list", env: () => ({ SCALETEST_PARAM_LOAD_SCENARIOS: "[]" }), expect: /SCALETEST_PARAM_LOAD_SCENARIOS: must be a JSON array of at least 1 of "SSH Traffic".*got \[\]/ },
  { name: "an empty scenario parameter", env: () => ({ SCALETEST_PARAM_LOAD_SCENARIOS: "" }), expect: /SCALETEST_PARAM_LOAD_SCENARIOS: must be a JSON array of at least 1 of .*got "" \(empty/ },
  { name: "a non-numeric workspace count", env: () => ({ SCALETEST_PARAM_NUM_WORKSPACES: "abc" }), expect: /SCALETEST_PARAM_NUM_WORKSPACES: must be an integer from 1 to 2000 .*got "abc"/ },
  { name: "an empty cleanup strategy", env: () => ({ SCALETEST_PARAM_CLEANUP_STRATEGY: "" }), expect: /SCALETEST_PARAM_CLEANUP_STRATEGY: must be one of "always", "on_stop", "on_success", "on_error" .*got "" \(empty/ },
  { name: "an empty baseline duration", env: () => ({ SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "" }), expect: /SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: must be a duration from 0s to 1h0m0s, or a number of minutes .*got "" \(empty/ },
  { name: "an empty create concurrency", env: () => ({ SCALETEST_PARAM_CREATE_CONCURRENCY: "" }), expect: /SCALETEST_PARAM_CREATE_CONCURRENCY: must be an integer from 1 to 100 .*got "" \(empty/ },
  { name: "an empty namespace", env: () => ({ SCALETEST_PARAM_NAMESPACE: "" }), expect: /SCALETEST_PARAM_NAMESPACE: must be a Kubernetes namespace name \(DNS label\), at most 63 characters .*got "" \(empty/ },
  { name: "a non-boolean dry-run", env: () => ({ SCALETEST_PARAM_DRY_RUN: "maybe" }), expect: /SCALETEST_PARAM_DRY_RUN: must be true or false .*got "maybe"/ },
  { name: "an unknown workspace template", env: () => ({ SCALETEST_PARAM_TEMPLATE: "nope" }), expect: /SCALETEST_PARAM_TEMPLATE: must be one of "kubernetes-minimal".*got "nope"/ },
  { name: "a cleanup timeout of zero", env: () => ({ SCALETEST_PARAM_CLEANUP_TIMEOUT: "0" }), expect: /SCALETEST_PARAM_CLEANUP_TIMEOUT: must be a duration from 1m0s to 10h0m0s, or a number of minutes/ },
  { name: "a percentage above 100", env: () => ({ SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE: "101" }), expect: /SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE: must be an integer from 1 to 100 .*got 101/ },
  { name: "a run id with spaces", env: () => ({ SCALETEST_RUN_ID: "bad id!" }), expect: /SCALETEST_RUN_ID: must be letters, digits, '\.', '_' or '-' or empty, at most 128 characters, got "bad id!"/ },
  { name: "a metrics port past 65535", env: () => ({ SCALETEST_TRAFFIC_METRICS_PORT: "70000" }), expect: /SCALETEST_TRAFFIC_METRICS_PORT: must be an integer from 0 to 65535/ },
  { name: "a request deadline above an hour", env: () => ({ CODER_SCALETEST_REQUEST_TIMEOUT: "2h" }), expect: /CODER_SCALETEST_REQUEST_TIMEOUT: must be a duration from 0s to 1h0m0s|request-timeout: must be 0 \(no deadline\) or from 1s to 1h/ },
  { name: "a header without =", env: () => ({ CODER_HEADER: "noequals" }), expect: /(CODER_HEADER|--header): entry 1 must be key=value/ },
  { name: "a malformed resolve entry", env: () => ({ CODER_SCALETEST_RESOLVE: "bad" }), expect: /CODER_SCALETEST_RESOLVE: must be comma-separated host:port:address entries/ },
  { name: "a Grafana URL that is not one", env: () => ({ SCALETEST_PARAM_GRAFANA_URL: "notaurl" }), expect: /SCALETEST_PARAM_GRAFANA_URL: must be an http\(s\) URL or empty/ },
  { name: "a Slack webhook that is not a URL (never echoed)", env: () => ({ SLACK_WEBHOOK_URL: "hooks.example/T0/secret-hook-path" }), expect: /SLACK_WEBHOOK_URL: must be an http\(s\) URL or empty, at most 2048 characters, got \[REDACTED\]/ },
  { name: "an unknown scenario", env: () => ({ SCALETEST_PARAM_LOAD_SCENARIOS: '["Nope"]' }), expect: /SCALETEST_PARAM_LOAD_SCENARIOS: unknown entry "Nope".*allowed entries are/ },
  { name: "a greedy agent on the workspace template", env: () => ({ SCALETEST_PARAM_GREEDY_AGENT: "true", SCALETEST_PARAM_GREEDY_AGENT_TEMPLATE: "kubernetes-minimal" }), expect: /SCALETEST_PARAM_GREEDY_AGENT_TEMPLATE: must differ from SCALETEST_PARAM_TEMPLATE/ },
  { name: "zero runner memory", env: () => ({ SCALETEST_PARAM_RUNNER_MEMORY: "0" }), expect: /SCALETEST_PARAM_RUNNER_MEMORY: must be an integer from 1 to 256/ },
  { name: "a tick interval of zero", env: () => ({ SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_TICK_INTERVAL: "0s" }), expect: /SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_TICK_INTERVAL: must be a duration from 1ms to 1m0s/ },
  { name: "shards each carrying more than the bench figure", env: () => ({ SCALETEST_PARAM_RUNNER_SHARDS: "2", SCALETEST_PARAM_NUM_WORKSPACES: "2000", SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_TICK_INTERVAL: "25ms" }), expect: /SCALETEST_PARAM_RUNNER_SHARDS: 2 shards leave "Web Terminal Traffic" 1000 connections and 39\.1 MiB\/s written per shard; one runner process sustains 1000 connections and 9\.8 MiB\/s \(npm run bench, 1 worker thread\); use at least 8 \(template parameter "Runner shards"\)/ },
  { name: "an unknown app mode", env: () => ({ SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_MODE: "wsxx" }), expect: /SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_MODE: must be one of "wsec", "wsra", "wsdi"/ },
  {
    name: "a deployment URL with credentials",
    env: () => ({ CODER_URL: `http://admin:${URL_PASSWORD}@127.0.0.1:1` }),
    expect: /CODER_URL: must not carry credentials \(user:password@ in http:\/\/\*\*\*@127\.0\.0\.1:1\)/,
    cliExpect: /--url: must not carry credentials/,
  },
  { name: "a deployment URL that is not http", env: () => ({ CODER_URL: "ftp://coder.example.com" }), expect: /CODER_URL: must be an http or https URL, got "ftp:"/, cliExpect: /--url: must be an http or https URL, got "ftp:"/ },
  { name: "an empty deployment URL", env: () => ({ CODER_URL: "" }), expect: /CODER_URL: must be set to the Coder deployment URL/, cliExpect: /--url: must be the deployment's http\(s\) URL, got "" from CODER_URL/ },
  { name: "an empty session token", env: () => ({ CODER_SESSION_TOKEN: "" }), expect: /CODER_SESSION_TOKEN: must be set \(a site owner's session or API token\)/, cliExpect: /--token: no session token: set --token or CODER_SESSION_TOKEN/ },
];

const RUNNER: Case[] = RUNNER_SETTINGS.flatMap((s) => [
  { name: `${s.name} (template scripts)`, via: "script" as const, args: [], env: s.env, expect: s.expect },
  { name: `${s.name} (scaletest run)`, via: "cli" as const, args: ["run"], env: () => ({ ...runnerEnv(), ...s.env() }), expect: s.cliExpect ?? s.expect },
]);

/** The scripts as the agent runs them, for their real exit codes. */
const SCRIPTS: Case[] = [
  { name: "run.ts with an empty scenario list", via: "script-child", args: ["run"], env: () => ({ SCALETEST_PARAM_LOAD_SCENARIOS: "[]" }), expect: /SCALETEST_PARAM_LOAD_SCENARIOS: must be a JSON array of at least 1 of/ },
  { name: "prepare.ts with an empty workspace count", via: "script-child", args: ["prepare"], env: () => ({ SCALETEST_PARAM_NUM_WORKSPACES: "" }), expect: /SCALETEST_PARAM_NUM_WORKSPACES: must be an integer from 1 to 2000 .*got "" \(empty/ },
  { name: "startup.ts with a URL carrying credentials", via: "script-child", args: ["startup"], env: () => ({ CODER_URL: `https://admin:${URL_PASSWORD}@coder.example.com` }), expect: /CODER_URL: must not carry credentials/ },
  { name: "cleanup.ts with an unknown event", via: "script-child", args: ["cleanup", "sometime"], expect: /cleanup: unknown event "sometime"; use one of manual, on_stop, on_success, on_error, prepare/ },
];

const TABLE: Array<[string, Case[]]> = [
  ["create-workspaces", CREATE_WORKSPACES],
  ["cleanup", CLEANUP],
  ["workspace-traffic", WORKSPACE_TRAFFIC],
  ["dashboard", DASHBOARD],
  ["run", RUN_FLAGS],
  ["runner settings", RUNNER],
  ["runner scripts", SCRIPTS],
];

describe("bad input exits 2 before any mutating request, naming the field and what is allowed", () => {
  it("has at least 100 cases", () => {
    expect(TABLE.reduce((n, [, cases]) => n + cases.length, 0)).toBeGreaterThanOrEqual(100);
  });

  for (const [group, cases] of TABLE) {
    describe(group, () => {
      for (const c of cases) {
        it(`rejects ${c.name}`, async () => {
          const mark = sim.requests.length;
          const tokensBefore = sim.state.apiKeys.size;
          const res = await runCase(c);
          expect(res.exitCode, res.stderr).toBe(2);
          expect(res.stderr).toMatch(c.expect);
          for (const secret of [sim.sessionToken, memberToken, URL_PASSWORD, "zzz-not-printed", "secret-hook-path"]) expect(res.stderr).not.toContain(secret);
          expect(sim.requests.slice(mark).filter((r) => r.method !== "GET" && r.method !== "HEAD")).toEqual([]);
          expect(sim.state.apiKeys.size).toBe(tokensBefore);
        });
      }
    });
  }
});
