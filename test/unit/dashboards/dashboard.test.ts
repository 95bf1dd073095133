// The generated dashboard: committed JSON is fresh, panels use the datasource variable, queries name known metrics.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { annotationTags } from "../../../src/grafana/annotations.ts";
import * as names from "../../../src/metrics/names.ts";
import { EXTERNAL_PANELS } from "../../../dashboards/src/external.ts";
import { DASHBOARD_JSON_PATH, DASHBOARD_UID, buildDashboard, renderDashboardJson } from "../../../dashboards/src/index.ts";
import { type PromTarget, DEFAULT_BUILTINS, allPanels, baseMetricName, interpolate, metricNames, panelQueries } from "../../../dashboards/src/verify.ts";

const model = buildDashboard();
const panels = allPanels(model);

function stringsOf(group: object): string[] {
  return Object.values(group).filter((v): v is string => typeof v === "string");
}
/** Every metric name the project declares, produced here or by an exporter. */
const KNOWN = new Set(
  [names.TRAFFIC, names.DASHBOARD, names.RUNNER, names.CODERD, names.GO_RUNTIME, names.CADVISOR, names.KUBE_STATE, names.POSTGRES_EXPORTER].flatMap(stringsOf),
);
/** Names nothing in this project produces: exporters next to Coder, and coderd's Go runtime. */
const EXPORTER = new Set([names.GO_RUNTIME, names.CADVISOR, names.KUBE_STATE, names.POSTGRES_EXPORTER].flatMap(stringsOf));

describe("generated dashboard JSON", () => {
  it("matches the committed dashboards/scaletest.json (run `npm run dashboards` when this fails)", () => {
    expect(readFileSync(DASHBOARD_JSON_PATH, "utf8")).toBe(renderDashboardJson());
  });

  it("is byte-for-byte the same on every build, with sorted keys and a trailing newline", () => {
    const text = renderDashboardJson();
    expect(renderDashboardJson()).toBe(text);
    expect(text.endsWith("}\n")).toBe(true);
    const topKeys = Object.keys(JSON.parse(text));
    expect(topKeys).toEqual([...topKeys].sort());
  });

  it("keeps the uid the runner template's Grafana app links to", () => {
    expect(DASHBOARD_UID).toBe("scaletest-runner");
    expect(model.uid).toBe("scaletest-runner");
  });
});

describe("dashboard structure", () => {
  it("has the eight rows in order, the last one collapsed with its panels inside", () => {
    const rows = (model.panels ?? []).filter((p) => p.type === "row") as dashboard.RowPanel[];
    expect(rows.map((r) => r.title)).toEqual(["Run overview", "Traffic", "Workspaces", "coderd", "Database", "Provisioners", "Runner health", "Runner shards"]);
    expect(rows.map((r) => r.collapsed ?? false)).toEqual([false, false, false, false, false, false, false, true]);
    expect(rows.at(-1)!.panels!.map((p) => p.title)).toEqual(["Traffic bytes/s per shard", "Event-loop lag per shard", "Open connections per shard"]);
    // Every panel has an id, a collapsed row's too, in layout order.
    expect(panels.map((p) => p.id)).toEqual([...panels.map((p) => p.id)].sort((a, b) => a! - b!));
  });

  it("gives every panel and every query the datasource variable", () => {
    expect(panels.length).toBeGreaterThan(30);
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: "${datasource}" });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of (panel.targets ?? []) as PromTarget[]) expect(target.datasource, `${panel.title} ${target.refId}`).toEqual(panel.datasource);
    }
  });

  it("gives panels unique titles, unique ids and unique refIds per panel", () => {
    const titles = panels.map((p) => p.title);
    expect(new Set(titles).size).toBe(titles.length);
    const ids = [...(model.panels ?? []), ...panels].map((p) => p.id);
    expect(ids.every((id) => typeof id === "number")).toBe(true);
    expect(new Set(ids).size).toBe(new Set([...(model.panels ?? []), ...panels]).size);
    for (const panel of panels) {
      const refs = ((panel.targets ?? []) as PromTarget[]).map((t) => t.refId);
      expect(new Set(refs).size, panel.title).toBe(refs.length);
    }
  });

  it("offers the datasource, namespace, pod and run variables", () => {
    expect((model.templating?.list ?? []).map((v) => v.name)).toEqual(["datasource", "namespace", "pod", "run"]);
  });

  it("uses only declared variables and Grafana built-ins in queries", () => {
    const values: Record<string, string> = { ...DEFAULT_BUILTINS };
    for (const v of model.templating?.list ?? []) values[v.name] = "x";
    for (const query of panelQueries(model)) expect(() => interpolate(query.expr, values), query.panel).not.toThrow();
  });
});

describe("metric names in queries", () => {
  it("are all declared in src/metrics/names.ts", () => {
    const exprs = [
      ...panelQueries(model).map((q) => ({ where: `${q.panel} [${q.refId}]`, expr: q.expr })),
      ...(model.templating?.list ?? []).filter((v) => v.type === "query" && typeof v.query === "string").map((v) => ({ where: `variable ${v.name}`, expr: v.query as string })),
    ];
    const unknown = exprs.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((n) => !KNOWN.has(baseMetricName(n, KNOWN)))
        .map((n) => `${where}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });

  it("read metrics nothing here produces exactly in the panels external.ts lists", () => {
    const byPanel = new Map<string, boolean>();
    for (const q of panelQueries(model)) {
      const readsExporter = metricNames(q.expr).some((n) => EXPORTER.has(baseMetricName(n, KNOWN)));
      byPanel.set(q.panel, (byPanel.get(q.panel) ?? false) || readsExporter);
    }
    const readingExporters = [...byPanel].filter(([, reads]) => reads).map(([title]) => title).sort();
    expect(readingExporters).toEqual(Object.keys(EXTERNAL_PANELS).sort());
  });

  it("covers every runner, traffic and dashboard metric the runner exports", () => {
    const used = new Set(panelQueries(model).flatMap((q) => metricNames(q.expr).map((n) => baseMetricName(n, KNOWN))));
    const runnerNames = [names.TRAFFIC, names.DASHBOARD, names.RUNNER].flatMap(stringsOf);
    expect(runnerNames.filter((n) => !used.has(n))).toEqual([]);
  });
});

describe("sharded runs", () => {
  /** Each panel's row title, in layout order. */
  const rowOf = new Map<string, string>();
  let row = "";
  for (const p of model.panels ?? []) {
    if (p.type === "row") {
      row = (p as dashboard.RowPanel).title ?? "";
      for (const nested of (p as dashboard.RowPanel).panels ?? []) rowOf.set(nested.title ?? "", row);
    } else rowOf.set((p as dashboard.Panel).title ?? "", row);
  }
  const RUNNER_METRICS = new Set([names.TRAFFIC, names.DASHBOARD, names.RUNNER].flatMap(stringsOf));
  const readsRunner = (expr: string) => metricNames(expr).some((n) => RUNNER_METRICS.has(baseMetricName(n, KNOWN)));

  it("sum across shards in every panel outside the per-process rows: each runner query aggregates, and never by shard", () => {
    const outside = panelQueries(model).filter((q) => readsRunner(q.expr) && !["Runner health", "Runner shards"].includes(rowOf.get(q.panel)!));
    expect(outside.length).toBeGreaterThan(10);
    for (const q of outside) {
      expect(q.expr, `${q.panel} [${q.refId}]`).toMatch(/^(sum|max|histogram_quantile\(\S+, sum) by \(/);
      expect(q.expr, `${q.panel} [${q.refId}]`).not.toMatch(new RegExp(`\\b${names.LABELS.shard}\\b`));
    }
  });

  it("break bytes/s and event-loop lag down by shard in the Runner shards row", () => {
    const byShard = panelQueries(model).filter((q) => rowOf.get(q.panel) === "Runner shards");
    const shard = names.LABELS.shard;
    const groupsByShard = (metric: string) =>
      byShard.some((q) => metricNames(q.expr).some((n) => baseMetricName(n, KNOWN) === metric) && new RegExp(`by \\((le, )?${shard}\\)`).test(q.expr));
    expect(groupsByShard(names.TRAFFIC.bytesWritten)).toBe(true);
    expect(groupsByShard(names.TRAFFIC.bytesRead)).toBe(true);
    expect(groupsByShard(names.RUNNER.eventLoopLag)).toBe(true);
    expect(groupsByShard(names.RUNNER.skippedTicks)).toBe(false);
  });
});

describe("annotations", () => {
  type TagTarget = { type?: string; tags: string[]; matchAny: boolean };
  const tagQueries = (model.annotations?.list ?? []).filter((a) => (a.target as unknown as TagTarget | undefined)?.type === "tags");
  const queryTags = (name: string) => (tagQueries.find((a) => a.name === name)?.target as unknown as TagTarget).tags;
  // Grafana's tag query with matchAny false shows an annotation that carries every queried tag.
  const shows = (query: string[], posted: string[]) => query.every((t) => posted.includes(t));
  const runTag = ["scaletest-2026-01-01T00-00-00Z"];
  const posted = {
    status: annotationTags("status", runTag),
    phase: annotationTags("phase", runTag),
    phaseWait: annotationTags("phase", runTag, true),
    failedStatus: [...annotationTags("status", runTag), names.ANNOTATION_TAGS.error],
    failedPhase: [...annotationTags("phase", runTag), names.ANNOTATION_TAGS.error],
  };

  it("read Grafana's built-in annotations by tag, requiring every tag", () => {
    expect(tagQueries.map((a) => a.name)).toEqual(["Scaletest status", "Scaletest phase", "Scaletest phase (wait)", "Scaletest error"]);
    for (const a of tagQueries) {
      expect(a.datasource).toEqual({ type: "grafana", uid: "-- Grafana --" });
      expect((a.target as unknown as TagTarget).matchAny).toBe(false);
      expect(a.enable).toBe(true);
    }
  });

  it("show exactly the annotations the runner's annotator posts for each kind", () => {
    expect(shows(queryTags("Scaletest status"), posted.status)).toBe(true);
    expect(shows(queryTags("Scaletest status"), posted.phase)).toBe(false);
    expect(shows(queryTags("Scaletest phase"), posted.phase)).toBe(true);
    expect(shows(queryTags("Scaletest phase"), posted.status)).toBe(false);
    expect(shows(queryTags("Scaletest phase"), posted.phaseWait)).toBe(false);
    expect(shows(queryTags("Scaletest phase (wait)"), posted.phaseWait)).toBe(true);
    expect(shows(queryTags("Scaletest phase (wait)"), posted.phase)).toBe(false);
    expect(shows(queryTags("Scaletest error"), posted.failedStatus)).toBe(true);
    expect(shows(queryTags("Scaletest error"), posted.failedPhase)).toBe(true);
    expect(shows(queryTags("Scaletest error"), posted.status)).toBe(false);
  });
});

describe("metricNames", () => {
  it("finds metrics and skips functions, labels, grouping clauses, strings and variables", () => {
    const expr = 'histogram_quantile(0.95, sum by (le, path) (rate(a_seconds_bucket{pod=~"$pod", path=~"/api/.*"}[$__rate_interval]))) and on (job, instance) group by (job, instance) (b_total)';
    expect(metricNames(expr).sort()).toEqual(["a_seconds_bucket", "b_total"]);
  });

  it("reads label_values variable queries", () => {
    expect(metricNames('label_values(up_gauge{namespace=~"$namespace"}, pod)')).toEqual(["up_gauge"]);
    expect(metricNames("label_values(run_id)")).toEqual([]);
  });

  it("maps histogram series back to their metric only when the metric is known", () => {
    const known = new Set(["x_seconds"]);
    expect(baseMetricName("x_seconds_bucket", known)).toBe("x_seconds");
    expect(baseMetricName("y_count", known)).toBe("y_count");
  });
});

describe("interpolate", () => {
  it("replaces $x, ${x} and [[x]] and names unresolved variables", () => {
    expect(interpolate('a{p=~"$pod", n=~"${ns}", r="[[run]]"}[$__rate_interval]', { pod: "p1", ns: "n1", run: "r1", __rate_interval: "15s" })).toBe(
      'a{p=~"p1", n=~"n1", r="r1"}[15s]',
    );
    expect(() => interpolate("a{x=~\"$nope\"}", {})).toThrow(/\$nope/);
  });
});
