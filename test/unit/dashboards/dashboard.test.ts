// The generated dashboard: committed JSON is fresh, panels use the datasource variable, queries name known metrics.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { annotationTags } from "../../../src/grafana/annotations.ts";
import * as names from "../../../src/metrics/names.ts";
import { EXTERNAL_PANELS } from "../../../dashboards/src/external.ts";
import { DASHBOARD_JSON_PATH, DASHBOARD_UID, buildDashboard, renderDashboardJson } from "../../../dashboards/src/index.ts";
import { type PromTarget, DEFAULT_BUILTINS, baseMetricName, interpolate, metricNames, panelQueries } from "../../../dashboards/src/verify.ts";

const model = buildDashboard();
const panels = (model.panels ?? []).filter((p) => p.type !== "row") as dashboard.Panel[];

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
  it("has the seven rows in order", () => {
    const rows = (model.panels ?? []).filter((p) => p.type === "row").map((p) => (p as dashboard.RowPanel).title);
    expect(rows).toEqual(["Run overview", "Traffic", "Workspaces", "coderd", "Database", "Provisioners", "Runner health"]);
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
    const ids = (model.panels ?? []).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
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
