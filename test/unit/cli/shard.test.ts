// The shard flags (--shard-index/--shard-count, JOB_COMPLETION_INDEX, --start-at), the shared start, the `shard`
// label on /metrics and the results line, as the traffic commands read and use them.
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FlagReader, addFlags } from "../../../src/cli/flags.ts";
import { MAX_SHARDS, SHARD_FLAGS, labelShard, printShardResults, readShardFlags, startGate } from "../../../src/cli/shard.ts";
import { readDashboardFlags, register as registerDashboard } from "../../../src/cli/dashboard.ts";
import { readWorkspaceTrafficFlags, register as registerTraffic } from "../../../src/cli/workspace-traffic.ts";
import type { ConfigProblem } from "../../../src/errors.ts";
import { parseShardResultsLog } from "../../../src/harness/shard-results.ts";
import type { Results } from "../../../src/harness/results.ts";
import { renderExposition } from "../../../src/metrics/exposition.ts";
import { RunnerHealth } from "../../../src/metrics/health.ts";
import { createRegistry, JobMetrics, TrafficMetrics } from "../../../src/metrics/registry.ts";
import { holdUntil, parseRfc3339 } from "../../../src/util/start-at.ts";

const NOW = Date.parse("2025-01-02T03:04:05Z");

function read(argv: string[], env: NodeJS.ProcessEnv = {}): { settings: ReturnType<typeof readShardFlags>; problems: ConfigProblem[] } {
  const cmd = addFlags(new Command("x").exitOverride(), SHARD_FLAGS);
  cmd.parse(argv, { from: "user" });
  const problems: ConfigProblem[] = [];
  const settings = readShardFlags(new FlagReader(cmd, [SHARD_FLAGS], env), env, problems, () => NOW);
  return { settings, problems };
}

describe("shard flags", () => {
  it("leave the command unsharded when --shard-count is unset, even inside an Indexed Job", () => {
    expect(read([])).toEqual({ settings: {}, problems: [] });
    expect(read([], { JOB_COMPLETION_INDEX: "2" })).toEqual({ settings: {}, problems: [] });
  });

  it("take the index from --shard-index, else from JOB_COMPLETION_INDEX", () => {
    expect(read(["--shard-index", "1", "--shard-count", "3"]).settings.shard).toEqual({ index: 1, count: 3 });
    expect(read(["--shard-count", "3"], { JOB_COMPLETION_INDEX: "2" }).settings.shard).toEqual({ index: 2, count: 3 });
    expect(read(["--shard-index", "0", "--shard-count", "3"], { JOB_COMPLETION_INDEX: "2" }).settings.shard).toEqual({ index: 0, count: 3 });
    expect(read([], { CODER_SCALETEST_SHARD_COUNT: "4", JOB_COMPLETION_INDEX: "3" }).settings.shard).toEqual({ index: 3, count: 4 });
    expect(read(["--shard-index", "0", "--shard-count", "1"]).settings.shard).toEqual({ index: 0, count: 1 });
    expect(read(["--shard-index", "999", "--shard-count", String(MAX_SHARDS)]).settings.shard).toEqual({ index: 999, count: 1000 });
  });

  it.each([
    [["--shard-count", "0"], {}, "--shard-count", 'must be an integer from 1 to 1000, got "0"'],
    [["--shard-count", "1001"], {}, "--shard-count", 'must be an integer from 1 to 1000, got "1001"'],
    [["--shard-count", "two"], {}, "--shard-count", 'must be an integer from 1 to 1000, got "two"'],
    [[], { CODER_SCALETEST_SHARD_COUNT: "-1" }, "CODER_SCALETEST_SHARD_COUNT", 'must be an integer from 1 to 1000, got "-1"'],
    [["--shard-index", "3", "--shard-count", "3"], {}, "--shard-index", 'must be an integer from 0 to 2 (--shard-count 3), got "3"'],
    [["--shard-index", "-1", "--shard-count", "3"], {}, "--shard-index", 'must be an integer from 0 to 2 (--shard-count 3), got "-1"'],
    [["--shard-index", "1.5", "--shard-count", "3"], {}, "--shard-index", 'must be an integer from 0 to 2 (--shard-count 3), got "1.5"'],
    [["--shard-count", "3"], { JOB_COMPLETION_INDEX: "7" }, "JOB_COMPLETION_INDEX", 'must be an integer from 0 to 2 (--shard-count 3), got "7"'],
    [["--shard-count", "3"], {}, "--shard-index", "is required with --shard-count: 0 to 2, or set by a Kubernetes Indexed Job as JOB_COMPLETION_INDEX"],
    [["--shard-index", "0"], {}, "--shard-index", "needs --shard-count (the number of shards it is one of)"],
  ] as const)("refuse %j %j naming %s", (argv, env, path, message) => {
    const r = read([...argv], { ...env });
    expect(r.problems).toEqual([{ path, message }]);
    expect(r.settings.shard).toBeUndefined();
  });

  it("take the staged run's --run-id and --scenario (or SCALETEST_RUN_ID / SCALETEST_SCENARIO) only when sharded", () => {
    expect(read(["--shard-count", "2", "--shard-index", "1", "--run-id", "r1", "--scenario", "SSH Traffic"]).settings.labels).toEqual({ run_id: "r1", scenario: "SSH Traffic" });
    expect(read(["--shard-count", "2"], { JOB_COMPLETION_INDEX: "0", SCALETEST_RUN_ID: "r2" }).settings.labels).toEqual({ run_id: "r2" });
    expect(read([], { SCALETEST_RUN_ID: "r3" }).settings).toEqual({});
    expect(read([], { SCALETEST_RUN_ID: "r3" }).problems).toEqual([]);
    expect(read(["--run-id", "r4"]).problems).toEqual([{ path: "--run-id", message: "needs --shard-count (only a shard's series carry it)" }]);
    expect(read(["--scenario", "SSH Traffic"]).problems).toEqual([{ path: "--scenario", message: "needs --shard-count (only a shard's series carry it)" }]);
    expect(read(["--shard-count", "2", "--shard-index", "0", "--scenario", "x".repeat(129)]).problems).toEqual([{ path: "--scenario", message: "must be at most 128 characters, got 129" }]);
  });

  it("read --start-at as RFC 3339 and refuse anything else, naming the flag", () => {
    expect(read(["--start-at", "2025-01-02T03:05:00Z"]).settings.startAtMs).toBe(Date.parse("2025-01-02T03:05:00Z"));
    expect(read([], { CODER_SCALETEST_START_AT: "2025-01-02T05:05:00.5+02:00" }).settings.startAtMs).toBe(Date.parse("2025-01-02T03:05:00.500Z"));
    const bad = read(["--start-at", "tomorrow"]);
    expect(bad.problems).toEqual([{ path: "--start-at", message: 'must be an RFC 3339 time such as 2024-09-18T11:47:53Z or 2024-09-18T13:47:53+02:00, got "tomorrow"' }]);
    expect(read([], { CODER_SCALETEST_START_AT: "2025-02-30T00:00:00Z" }).problems[0]!.path).toBe("CODER_SCALETEST_START_AT");
    expect(read(["--start-at", "2025-01-04T03:04:05Z"]).problems).toEqual([
      { path: "--start-at", message: "must be at most 24h0m0s from now, got 2025-01-04T03:04:05Z (48h0m0s ahead)" },
    ]);
    // A start in the past is accepted here; the command warns and starts at once.
    expect(read(["--start-at", "2020-01-01T00:00:00Z"]).problems).toEqual([]);
  });
});

describe("parseRfc3339", () => {
  it.each([
    ["2024-09-18T11:47:53Z", Date.UTC(2024, 8, 18, 11, 47, 53)],
    ["2024-09-18t11:47:53z", Date.UTC(2024, 8, 18, 11, 47, 53)],
    ["2024-09-18T11:47:53.123456789Z", Date.UTC(2024, 8, 18, 11, 47, 53, 123)],
    ["2024-09-18T13:47:53+02:00", Date.UTC(2024, 8, 18, 11, 47, 53)],
    ["2024-09-18T06:17:53-05:30", Date.UTC(2024, 8, 18, 11, 47, 53)],
    ["2024-02-29T00:00:00Z", Date.UTC(2024, 1, 29)],
  ])("%s", (text, ms) => expect(parseRfc3339(text)).toBe(ms));

  it.each(["", "2024-09-18", "2024-09-18 11:47:53Z", "2024-09-18T11:47:53", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-09-18T24:00:00Z", "2024-09-18T11:60:00Z", "2024-09-18T11:47:60Z", "2024-09-18T11:47:53+24:00", "1726660073"])(
    "refuses %j",
    (text) => expect(parseRfc3339(text)).toBeUndefined(),
  );
});

describe("the shared start", () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date", "performance"], now: NOW }));
  afterEach(() => void vi.useRealTimers());

  it("holds until the time, and an abort ends the hold", async () => {
    const ctl = new AbortController();
    let held = false;
    const hold = holdUntil(NOW + 60_000, ctl.signal).then((ms) => ((held = true), ms));
    await vi.advanceTimersByTimeAsync(59_000);
    expect(held).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await hold).toBe(60_000);

    const stopped = holdUntil(Date.now() + 60_000, ctl.signal);
    ctl.abort(new Error("SIGTERM"));
    await expect(stopped).rejects.toMatchObject({ name: "AbortError" });
  });

  it("logs the wait, and starts at once with a warning when the time has passed", async () => {
    const log: string[] = [];
    let started = false;
    const gate = startGate({ startAtMs: NOW + 5_000 }, (l) => log.push(l))!(new AbortController().signal).then(() => (started = true));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(started).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await gate;
    expect(log).toEqual(["Waiting 5s for the shared start at 2025-01-02T03:04:10.000Z..."]);

    const late: string[] = [];
    await startGate({ startAtMs: Date.now() - 90_000 }, (l) => late.push(l))!(new AbortController().signal);
    expect(late).toEqual(["WARN: --start-at 2025-01-02T03:02:40.000Z passed 1m30s ago; starting now"]);
    expect(startGate({}, (l) => late.push(l))).toBeUndefined();
  });
});

describe("the shard label", () => {
  it("puts shard=\"i\" on every series of the command's registry (traffic, health, jobs), and nothing when unsharded", async () => {
    const page = async (shard?: { index: number; count: number }, labels?: Record<string, string>) => {
      const registry = createRegistry();
      labelShard(registry, { shard, labels });
      const health = new RunnerHealth(registry);
      const traffic = new TrafficMetrics(registry);
      const jobs = new JobMetrics(registry);
      jobs.zero("workspace-traffic");
      traffic.connMetrics({ username: "u", workspace_name: "w", agent_name: "a" }).addWritten(1024);
      health.observeLag(0.001);
      health.connectionOpened("rpty");
      return renderExposition(registry);
    };
    const sharded = await page({ index: 2, count: 3 });
    const samples = sharded.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    expect(samples.length).toBeGreaterThan(50);
    for (const line of samples) expect(line).toMatch(/[{,]shard="2"[,}]/);
    expect(sharded).toContain('coderd_scaletest_bytes_written_total{agent_name="a",username="u",workspace_name="w",shard="2"} 1024');
    expect(sharded).toContain('coderd_scaletest_jobs_total{test="workspace-traffic",outcome="ok",shard="2"} 0');

    const plain = await page();
    expect(plain).not.toContain("shard=");
    expect(plain).toContain('coderd_scaletest_bytes_written_total{agent_name="a",username="u",workspace_name="w"} 1024');
    // The same series, one label apart.
    const rssMasked = (page: string) => page.replace(/(process="runner"\S*) \d+/, "$1 RSS");
    expect(rssMasked(sharded.replace(/,shard="2"|\{shard="2"\}|shard="2",/g, ""))).toBe(rssMasked(plain));

    // A staged run's shard also carries its run_id and scenario, for the dashboard's run and scenario filters.
    const staged = await page({ index: 0, count: 2 }, { run_id: "run-7", scenario: "Web Terminal Traffic" });
    for (const line of staged.split("\n").filter((l) => l !== "" && !l.startsWith("#"))) {
      expect(line).toMatch(/run_id="run-7".*scenario="Web Terminal Traffic".*shard="0"/);
    }
  });
});

describe("the results line", () => {
  const results: Results = { total_runs: 1, total_pass: 1, total_fail: 0, elapsed: "1s", elapsed_ms: 1000, runs: {} };
  const capture = () => {
    let text = "";
    return { stream: { write: (c: string) => ((text += c), true) } as unknown as NodeJS.WritableStream, text: () => text };
  };

  it("is one line a coordinator parses back, only when sharded", () => {
    const out = capture();
    printShardResults({ index: 1, count: 3 }, results, out.stream);
    expect(out.text().split("\n")).toHaveLength(2);
    expect(parseShardResultsLog(`text results\n${out.text()}`)).toEqual({ index: 1, count: 3, results });
    const none = capture();
    printShardResults(undefined, results, none.stream);
    expect(none.text()).toBe("");
  });
});

describe("the traffic commands take the shard flags", () => {
  async function command(register: (p: Command) => void, name: string, argv: string[]): Promise<Command> {
    const program = new Command("scaletest").exitOverride();
    register(program);
    const cmd = program.commands.find((c) => c.name() === name)!;
    cmd.exitOverride().action(() => {});
    await program.parseAsync([name, ...argv], { from: "user" });
    return cmd;
  }

  it("workspace-traffic: read with the rest, refused with the rest (exit 2 before anything runs)", async () => {
    const env = { HOME: "/nonexistent", CODER_URL: "http://127.0.0.1:1", CODER_SESSION_TOKEN: "x" };
    const ok = readWorkspaceTrafficFlags(await command(registerTraffic, "workspace-traffic", ["--shard-count", "3", "--start-at", new Date(Date.now() + 60_000).toISOString()]), { ...env, JOB_COMPLETION_INDEX: "1" });
    expect(ok.shard).toEqual({ index: 1, count: 3 });
    expect(ok.startAtMs! - Date.now()).toBeGreaterThan(50_000);
    const bad = await command(registerTraffic, "workspace-traffic", ["--shard-count", "3", "--shard-index", "3", "--bytes-per-tick", "0"]);
    expect(() => readWorkspaceTrafficFlags(bad, env)).toThrow(/--shard-index: must be an integer from 0 to 2 \(--shard-count 3\), got "3"/);
  });

  it("dashboard: read with the rest, refused with the rest", async () => {
    const env = { HOME: "/nonexistent", CODER_URL: "http://127.0.0.1:1", CODER_SESSION_TOKEN: "x", SCALETEST_CHROMIUM_PATH: "/bin/true" };
    const ok = readDashboardFlags(await command(registerDashboard, "dashboard", ["--shard-index", "0", "--shard-count", "2"]), env);
    expect(ok.shard).toEqual({ index: 0, count: 2 });
    const bad = await command(registerDashboard, "dashboard", ["--shard-count", "2", "--start-at", "noon"]);
    expect(() => readDashboardFlags(bad, env)).toThrow(/--start-at: must be an RFC 3339 time/);
  });
});
