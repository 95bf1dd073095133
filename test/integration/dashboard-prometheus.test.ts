// Every dashboard query, evaluated by a real Prometheus that scraped the simulator and the runner during a short staged run of all four scenarios.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoderClient } from "../../src/coder/client.ts";
import { RUNNER, TRAFFIC } from "../../src/metrics/names.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { DEFAULT_BUILTINS, checkQueries, failures, formatChecks, instantQuery, panelQueries, resolveVariables, type QueryCheck } from "../../dashboards/src/verify.ts";
import { startPrometheus, type PrometheusServer } from "../helpers/prometheus.ts";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { reportRetry } from "../../src/metrics/retry-sink.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadRunnerConfig } from "../../src/run/config.ts";
import { Annotator } from "../../src/grafana/annotations.ts";
import { connectSettings } from "../../src/run/lifecycle.ts";
import type { RunMetrics } from "../../src/metrics/run-metrics.ts";
import { runStaged, type StagedResult } from "../../src/run/staged.ts";
import { DEFAULT_SCENARIOS as SCENARIO_NAMES } from "../../src/scenarios/index.ts";

// Labels a Kubernetes PodMonitor would attach; the dashboard's namespace/pod variables must resolve to them.
const CODERD_LABELS = { namespace: "coder", pod: "coder-6d9f7c5b8-x2x4q" };
const RUNNER_LABELS = { namespace: "coder-workspaces", pod: "coder-scaletest-runner-admin-runner" };

const REPO = resolve(import.meta.dirname, "../..");
/** Grafana's $__rate_interval for this scrape interval and a run this short: the window spans the whole run. */
const RATE_INTERVAL = "40s";

describe("dashboard queries against a real Prometheus", () => {
  let sim: Simulator;
  let prom: PrometheusServer;
  let dir: string;
  let run: StagedResult;
  let variables: Record<string, string>;
  let checks: QueryCheck[];
  let at: number;
  // The committed JSON (what operators import), not a fresh build: a metric renamed in names.ts then shows up
  // here as a panel whose query finds nothing (the staleness unit test keeps the file in step with the code).
  const model = JSON.parse(readFileSync(join(REPO, "dashboards/scaletest.json"), "utf8")) as Parameters<typeof panelQueries>[0];

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, knobs: { pendingMs: 100, runningMs: 300, jitterMs: 0, agentConnectDelayMs: 100 } });
    dir = await mkdtemp(join(tmpdir(), "dashboard-prometheus-"));
    // coderd answers a bad token with 401. One such request before the first scrape creates the series,
    // one during the run moves it: Prometheus' rate() cannot see a counter's first increment.
    const badToken = () =>
      new CoderClient({ url: sim.url, token: "not-a-real-session-token" }).me().then(
        () => new Error("a bad token was accepted"),
        (err: unknown) => err,
      );
    expect(String(await badToken())).toMatch(/401|signed out|session/i);
    prom = await startPrometheus({ scrapeIntervalSeconds: 1, targets: [{ job: "coderd", url: `${sim.url}/metrics`, labels: CODERD_LABELS }] });
    await prom.waitForScrapes(2);

    // A short staged run, exactly as the runner workspace runs it: create → baseline → all four scenarios at once,
    // each on a quarter of the workspaces (Dashboard Traffic: one scaletest user in a real Chromium).
    const env = {
      CODER_URL: sim.url,
      CODER_SESSION_TOKEN: sim.sessionToken,
      // SSH Traffic dials through the simulator's `coder ssh --stdio` stand-in; App Traffic's
      // *.apps.localhost subdomains resolve to the simulator, as the demo and the e2e tests set it.
      CODER_BINARY: join(REPO, "src/simulator/coder-shim/coder"),
      CODER_SCALETEST_RESOLVE: `*.apps.localhost:${sim.port}:127.0.0.1`,
      SCALETEST_RUN_DIR: join(dir, "run"),
      SCALETEST_PARAM_TEMPLATE: sim.template.name,
      SCALETEST_PARAM_NUM_WORKSPACES: "4",
      SCALETEST_PARAM_LOAD_SCENARIOS: JSON.stringify(SCENARIO_NAMES),
      SCALETEST_PARAM_LOAD_SCENARIO_RUN_CONCURRENTLY: "1",
      SCALETEST_PARAM_LOAD_SCENARIO_CONCURRENCY_STAGGER_DELAY: "0s",
      SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "1s",
      ...Object.fromEntries(
        ["SSH", "WEB_TERMINAL", "APP", "DASHBOARD"].flatMap((s) => [
          [`SCALETEST_PARAM_LOAD_SCENARIO_${s}_TRAFFIC_PERCENTAGE`, "25"],
          // Dashboard Traffic's time includes Chromium's start, seconds on a busy machine: long enough for clicks.
          [`SCALETEST_PARAM_LOAD_SCENARIO_${s}_TRAFFIC_DURATION`, s === "DASHBOARD" ? "10s" : "4s"],
        ]),
      ),
      SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_INTERVAL: "1s",
      SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_JITTER: "0s",
      // Long enough for two scrapes after the last scenario, so the final values are stored.
      SCALETEST_PARAM_METRICS_LINGER: "3s",
    };
    const cfg = loadRunnerConfig(env);
    let targetsSet: Promise<void> | undefined;
    let rejected: Promise<unknown> | undefined;
    // A Coder client of this process retries one 503 (from a stand-in answering 503 once): the run's
    // coderd_scaletest_retries_total gets its series, as any retried call of the run would give it.
    let retried: Promise<unknown> | undefined;
    const oneRetry = async () => {
      let answered = 0;
      const flaky = createServer((_req, res) => {
        res.writeHead(answered++ === 0 ? 503 : 200, { "content-type": "application/json" });
        res.end(JSON.stringify({ version: "v2.0.0", external_url: "", dashboard_url: "" }));
      });
      await new Promise<void>((r) => flaky.listen(0, "127.0.0.1", r));
      try {
        const url = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`;
        await new CoderClient({ url, retry: { retries5xx: 1, baseDelayMs: 1 }, onRetry: reportRetry }).buildInfo();
      } finally {
        flaky.close();
      }
    };
    const onMetrics = (m: RunMetrics) => {
      rejected = badToken();
      retried = oneRetry();
      const urls = [m.urls.runner, m.urls.traffic, m.urls.dashboard].filter((u): u is string => u !== undefined);
      expect(urls).toHaveLength(3);
      targetsSet = prom.setTargets([
        { job: "coderd", url: `${sim.url}/metrics`, labels: CODERD_LABELS },
        ...urls.map((url, i) => ({ job: `scaletest-runner-${i}`, url: `${url}/metrics`, labels: RUNNER_LABELS })),
      ]);
    };
    run = await runStaged({
      cfg,
      client: new CoderClient({ url: sim.url, token: sim.sessionToken }),
      signal: new AbortController().signal,
      annotator: new Annotator({ log: () => {} }),
      ledgerDir: join(dir, "ledger"),
      log: () => {},
      metricsPort: () => 0,
      connect: connectSettings(loadRunnerConfig(env)),
      onMetrics,
    });
    await targetsSet;
    await retried;
    expect(String(await rejected)).toMatch(/401|signed out|session/i);
    // The runner's servers are closed now and Prometheus marked their series stale; evaluate at its last good scrape.
    at = await prom.lastGoodScrape(/^scaletest-runner-/);
    variables = await resolveVariables(model, prom.url, { builtins: { ...DEFAULT_BUILTINS, __rate_interval: RATE_INTERVAL } });
    checks = await checkQueries(panelQueries(model), { prometheusUrl: prom.url, variables, time: at });
    console.log(formatChecks(checks));
  }, 120_000);

  afterAll(async () => {
    await prom?.close();
    await sim?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("ran the staged test to completion", () => {
    expect(run.exitCode, JSON.stringify(run.summary.phases)).toBe(0);
  });

  it("resolves the namespace and pod variables to coderd's scrape labels, as Grafana would", () => {
    expect(variables.namespace).toBe(CODERD_LABELS.namespace);
    expect(variables.pod).toBe(CODERD_LABELS.pod.replace(/\./g, "\\."));
    expect(variables.run).toBeDefined();
  });

  it("ran every scenario, each passing", () => {
    const scenarios = run.summary.phases.flatMap((p) => p.scenarios ?? []);
    expect(scenarios.map((s) => [s.name, s.outcome]).sort()).toEqual(SCENARIO_NAMES.map((n) => [n, "passed"]).sort());
  });

  it("gets series for every panel query outside external.ts, and valid PromQL for the external ones", () => {
    expect(checks.length).toBe(panelQueries(model).length);
    expect(failures(checks).map((c) => `${c.panel} [${c.refId}] ${c.status} ${c.error ?? ""}`)).toEqual([]);
  });

  it("splits traffic and jobs by the scenario label the staged run adds", async () => {
    const byScenario = async (expr: string) => {
      const res = await instantQuery(prom.url, `sum by (scenario) (${expr})`, { time: at });
      const rows = (res.data?.result ?? []) as { metric: Record<string, string>; value: [number, string] }[];
      return rows.filter((r) => Number(r.value[1]) > 0).map((r) => r.metric.scenario).sort();
    };
    expect(await byScenario(`rate(${TRAFFIC.bytesWritten}[${RATE_INTERVAL}])`)).toEqual(["App Traffic", "SSH Traffic", "Web Terminal Traffic"]);
    expect(await byScenario(RUNNER.jobs)).toEqual([...SCENARIO_NAMES].sort());
    // Job series start at zero, so even a scenario's first (here: only) job shows in the rate-based duration panel.
    expect(checks.find((c) => c.panel === "Job duration by scenario" && c.refId === "A")?.nonZero).toBe(SCENARIO_NAMES.length);
    const written = checks.find((c) => c.panel === "Traffic bytes/s" && c.refId === "A");
    expect([written?.series, written?.nonZero]).toEqual([3, 3]);
  });

  it("shows real movement: bytes moved, builds counted, API requests served, pages clicked, store queries timed", () => {
    const nonZero = (panel: string) => checks.filter((c) => c.panel === panel).reduce((n, c) => n + c.nonZero, 0);
    expect(nonZero("Dashboard action duration p95")).toBeGreaterThan(0);
    expect(nonZero("DB query latency p95 by query")).toBeGreaterThan(0);
    expect(nonZero("DB queries/s by query")).toBeGreaterThan(0);
    expect(nonZero("Traffic bytes/s")).toBeGreaterThan(0);
    expect(nonZero("Workspace builds")).toBeGreaterThan(0);
    expect(nonZero("API requests/s by status")).toBeGreaterThan(0);
    expect(nonZero("API errors/s")).toBeGreaterThan(0);
    expect(nonZero("Agents connected")).toBeGreaterThan(0);
    expect(nonZero("Round-trip latency")).toBeGreaterThan(0);
    expect(nonZero("Scenario progress")).toBeGreaterThan(0);
  });

  it("reports the panel whose query names a metric nobody exports", async () => {
    const mutated = panelQueries(model).map((q) =>
      q.panel === "Traffic bytes/s" && q.refId === "B" ? { ...q, expr: q.expr.replace(TRAFFIC.bytesRead, "coderd_scaletest_bytes_raed_total") } : q,
    );
    const result = await checkQueries(mutated, { prometheusUrl: prom.url, variables, time: at });
    const before = new Set(failures(checks).map((c) => `${c.panel} [${c.refId}]`));
    const introduced = failures(result).filter((c) => !before.has(`${c.panel} [${c.refId}]`));
    expect(introduced.map((c) => [c.panel, c.refId, c.status])).toEqual([["Traffic bytes/s", "B", "empty"]]);
  });

  it("reports a query Prometheus cannot parse as invalid, external panels included", async () => {
    const external = panelQueries(model).find((q) => q.external);
    expect(external).toBeDefined();
    const broken = [{ ...external!, expr: `${external!.expr})` }];
    const [check] = await checkQueries(broken, { prometheusUrl: prom.url, variables, time: at });
    expect(check?.status).toBe("invalid");
    expect(check?.error).toMatch(/bad_data|parse/);
  });
});
