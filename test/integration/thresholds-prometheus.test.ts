// coderd-side thresholds evaluated by a real Prometheus that scraped the simulator while it served slow requests, 5xx and pending builds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoderClient } from "../../src/coder/client.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { evaluateThresholds, verdictOf } from "../../src/verdict/evaluate.ts";
import { coderdValues, prometheusTarget, promInstant, type CoderdValues } from "../../src/verdict/prometheus.ts";
import { parseThreshold } from "../../src/verdict/threshold.ts";
import { startPrometheus, type PrometheusServer } from "../helpers/prometheus.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRun } from "../../src/report/run-data.ts";
import { buildScaleTestRow } from "../../src/report/scale-row.ts";
import { writeRunFixture } from "../helpers/run-fixture.ts";

const ME = 'route="/api/v2/users/{user}"';

describe("coderd thresholds against a real Prometheus scraping the simulator", () => {
  let sim: Simulator;
  let prom: PrometheusServer;
  let window: { start: number; end: number };
  let measured: CoderdValues;
  const evaluate = (texts: string[]) => {
    const ts = texts.map(parseThreshold);
    return verdictOf(ts, evaluateThresholds(ts, measured.values));
  };

  beforeAll(async () => {
    // Builds stay pending for 4 s, so two of them are a queue Prometheus sees on several scrapes.
    sim = await startSimulator({ port: 0, knobs: { pendingMs: 4000, runningMs: 100, jitterMs: 0, agentConnectDelayMs: 50 } });
    // Prometheus' rate() cannot see a counter's first increment: each series the window measures exists before it.
    expect((await fetch(`${sim.url}/api/v2/buildinfo`)).status).toBe(200);
    sim.setKnobs({ http5xxRate: 1 });
    expect((await fetch(`${sim.url}/api/v2/buildinfo`)).status).toBe(500);
    sim.setKnobs({ http5xxRate: 0 });
    prom = await startPrometheus({ scrapeIntervalSeconds: 1, targets: [{ job: "coderd", url: `${sim.url}/metrics` }] });
    await prom.waitForScrapes(2);
    window = { start: Date.now(), end: 0 };
    const client = new CoderClient({ url: sim.url, token: sim.sessionToken, bypassRateLimit: true });
    // Ten slow reads of the caller (each at least 150 ms), then five injected 500s on build info.
    sim.setKnobs({ slowResponseMs: 150 });
    for (let i = 0; i < 10; i++) await client.me();
    sim.setKnobs({ slowResponseMs: 0, http5xxRate: 1 });
    for (let i = 0; i < 5; i++) expect((await fetch(`${sim.url}/api/v2/buildinfo`)).status).toBe(500);
    sim.setKnobs({ http5xxRate: 0 });
    for (let i = 0; i < 15; i++) expect((await fetch(`${sim.url}/api/v2/buildinfo`)).status).toBe(200);
    for (const name of ["scaletest-queue-0", "scaletest-queue-1"]) await client.createWorkspace("me", { template_id: sim.template.id, name });
    await prom.waitForScrapeAfter(Date.now() + 1000);
    window.end = Date.now();
    measured = await coderdValues(
      [
        `coderd.api_latency.p95{${ME}} < 1s`,
        'coderd.api_latency.p50{route="/api/v2/buildinfo"} < 1s',
        "coderd.api_5xx_rate < 1%",
        'coderd.api_5xx_rate{route="/api/v2/buildinfo"} < 1%',
        "coderd.provisioner_queue < 5",
        "coderd.cpu < 64",
        "coderd.memory < 64GiB",
        "coderd.db_query.p95 < 10s",
        'coderd.db_query.p95{query="NoSuchQuery"} < 10s',
      ].map(parseThreshold),
      { prometheus: prometheusTarget(prom.url), ...window },
    );
  }, 60_000);

  afterAll(async () => {
    await prom?.close();
    await sim?.close();
  });

  it("measures what the simulator served: slow reads, the 5xx share, the pending queue, CPU and memory", () => {
    expect(measured.errors).toEqual([]);
    const v = Object.fromEntries(measured.values);
    // histogram_quantile interpolates inside coderd's 100-500 ms bucket.
    expect(v[`coderd.api_latency.p95{${ME}}`]).toBeGreaterThan(100);
    expect(v[`coderd.api_latency.p95{${ME}}`]).toBeLessThanOrEqual(500);
    expect(v['coderd.api_latency.p50{route="/api/v2/buildinfo"}']).toBeLessThan(100);
    // 5 of the 20 build-info requests were 500s; the whole API saw more requests (the reads, the creates).
    expect(v['coderd.api_5xx_rate{route="/api/v2/buildinfo"}']).toBeCloseTo(0.25, 1);
    expect(v["coderd.api_5xx_rate"]).toBeGreaterThan(0.05);
    expect(v["coderd.api_5xx_rate"]).toBeLessThan(0.25);
    expect(v["coderd.provisioner_queue"]).toBe(2);
    expect(v["coderd.memory"]).toBeGreaterThan(10 * 1024 * 1024);
    expect(v["coderd.cpu"]).toBeGreaterThanOrEqual(0);
    expect(v["coderd.db_query.p95"]).toBeGreaterThan(0);
    // A label value nothing carries is no data, not zero.
    expect(v['coderd.db_query.p95{query="NoSuchQuery"}']).toBeUndefined();
  });

  it("passes a passing set", () => {
    const v = evaluate([`coderd.api_latency.p95{${ME}} < 1s`, 'coderd.api_5xx_rate{route="/api/v2/buildinfo"} < 30%', "coderd.provisioner_queue <= 2", "coderd.memory < 64GiB"]);
    expect(v.thresholds.map((r) => r.status)).toEqual(["pass", "pass", "pass", "pass"]);
    expect(v.status).toBe("pass");
  });

  it("fails a failing set with the observed values", () => {
    const v = evaluate([`coderd.api_latency.p95{${ME}} < 100ms`, "coderd.api_5xx_rate < 1%", "coderd.provisioner_queue < 2", 'coderd.db_query.p95{query="NoSuchQuery"} < 1s']);
    expect(v.thresholds.map((r) => r.status)).toEqual(["fail", "fail", "fail", "no_data"]);
    expect(v.status).toBe("fail");
    expect(v.thresholds[2]!.observedText).toBe("2");
  });

  it("counts no 5xx in a window before any was served", async () => {
    const before = await coderdValues([parseThreshold("coderd.api_5xx_rate < 1%")], { prometheus: prometheusTarget(prom.url), start: window.start - 3000, end: window.start });
    expect(before.values.get("coderd.api_5xx_rate") ?? 0).toBe(0);
  });

  it("fills the Recent scale tests row's replicas, CPU and RAM from coderd's metrics, and its version from build info", async () => {
    const dir = await mkdtemp(join(tmpdir(), "row-prom-"));
    try {
      const data = loadRun(await writeRunFixture(join(dir, "run")));
      const row = await buildScaleTestRow(data, { prometheus: prometheusTarget(prom.url), window, client: new CoderClient({ url: sim.url }) });
      // No kube-state-metrics here: CPU and RAM are what the one coderd process used.
      expect(row.replicas).toBe("1");
      expect(row.coderCpu).toMatch(/^\d+\.\d\d cores used \(busiest replica, average\)$/);
      expect(row.coderRam).toMatch(/^\d+\.\d MiB used \(busiest replica, peak\)$/);
      expect(row.coderVersion).toBe("v2.16.0+sim");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reports a query Prometheus rejects as an error, not a value", async () => {
    await expect(promInstant(prometheusTarget(prom.url), "sum(", Date.now())).rejects.toThrow(/prometheus query failed \(HTTP 400\)/);
  });
});
