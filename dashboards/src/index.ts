// Builds the scaletest-runner Grafana dashboard; run directly, it writes dashboards/scaletest.json.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { ANNOTATION_TAGS, CODERD, GRAFANA_DASHBOARD, LABELS } from "../../src/metrics/names.ts";
import { GRAFANA_ANNOTATIONS, PROMETHEUS } from "./common.ts";
import * as coderd from "./rows/coderd.ts";
import * as database from "./rows/database.ts";
import * as provisioners from "./rows/provisioners.ts";
import * as runOverview from "./rows/run-overview.ts";
import * as runnerHealth from "./rows/runner-health.ts";
import * as runnerShards from "./rows/runner-shards.ts";
import * as traffic from "./rows/traffic.ts";
import * as workspaces from "./rows/workspaces.ts";

/** The dashboard's uid (the title gives the slug); both are pinned in GRAFANA_DASHBOARD. */
export const DASHBOARD_UID = GRAFANA_DASHBOARD.uid;

/** Where `npm run dashboards` writes the generated JSON. */
export const DASHBOARD_JSON_PATH = fileURLToPath(new URL("../scaletest.json", import.meta.url));

type Tagged = readonly string[];

function tagAnnotation(name: string, kinds: readonly string[], color: string) {
  const tags: Tagged = [...ANNOTATION_TAGS.base, ...kinds];
  return new dashboard.AnnotationQueryBuilder()
    .name(name)
    .datasource(GRAFANA_ANNOTATIONS)
    .enable(true)
    .hide(false)
    .iconColor(color)
    .target(new dashboard.AnnotationTargetBuilder().type("tags").tags([...tags]).matchAny(false).limit(100) as never);
}

/** Builds the dashboard model (plain JSON-ready object). */
export function buildDashboard(): dashboard.Dashboard {
  const builder = new dashboard.DashboardBuilder("Scaletest Runner")
    .uid(DASHBOARD_UID)
    .description("Staged Coder scale test: the runner's load and results next to coderd, database and provisioner health.")
    .tags(["generated", "coder", "scaletest"])
    .time({ from: "now-1h", to: "now" })
    .refresh("30s")
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    // Variables
    .withVariable(new dashboard.DatasourceVariableBuilder("datasource").label("Prometheus").type("prometheus"))
    .withVariable(
      new dashboard.QueryVariableBuilder("namespace")
        .label("coderd namespace")
        .datasource(PROMETHEUS)
        .query(`label_values(${CODERD.apiConcurrentRequests}, namespace)`)
        .refresh(dashboard.VariableRefresh.OnDashboardLoad)
        .sort(dashboard.VariableSort.AlphabeticalAsc)
        .includeAll(true)
        .allValue(".*"),
    )
    .withVariable(
      new dashboard.QueryVariableBuilder("pod")
        .label("coderd pod")
        .datasource(PROMETHEUS)
        .query(`label_values(${CODERD.apiConcurrentRequests}{namespace=~"$namespace"}, pod)`)
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue(".*"),
    )
    .withVariable(
      new dashboard.QueryVariableBuilder("run")
        .label("Run")
        .description("The runner's run id (newest first); All also matches runners that export no run id.")
        .datasource(PROMETHEUS)
        .query(`label_values(${LABELS.runId})`)
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.AlphabeticalDesc)
        .includeAll(true)
        .allValue(".*"),
    )
    // Annotations posted by the runner (tags scaletest, runner, <kind>)
    .annotation(
      new dashboard.AnnotationQueryBuilder()
        .name("Annotations & Alerts")
        .datasource(GRAFANA_ANNOTATIONS)
        .enable(true)
        .hide(true)
        .builtIn(1)
        .type("dashboard")
        .iconColor("rgba(0, 211, 255, 1)"),
    )
    .annotation(tagAnnotation("Scaletest status", [ANNOTATION_TAGS.status], "blue"))
    .annotation(tagAnnotation("Scaletest phase", [ANNOTATION_TAGS.phase, ANNOTATION_TAGS.phaseDefault], "green"))
    .annotation(tagAnnotation("Scaletest phase (wait)", [ANNOTATION_TAGS.phase, ANNOTATION_TAGS.phaseWait], "purple"))
    .annotation(tagAnnotation("Scaletest error", [ANNOTATION_TAGS.error], "red"))
    // Run overview
    .withRow(new dashboard.RowBuilder("Run overview"))
    .withPanel(runOverview.jobOutcomesStat().height(6).span(6))
    .withPanel(runOverview.phaseTimeline().height(6).span(18))
    .withPanel(runOverview.scenarioProgressTimeseries().height(8).span(12))
    .withPanel(runOverview.jobDurationTimeseries().height(8).span(12))
    // Traffic
    .withRow(new dashboard.RowBuilder("Traffic"))
    .withPanel(traffic.throughputTimeseries().height(8).span(12))
    .withPanel(traffic.roundTripTimeseries().height(8).span(12))
    .withPanel(traffic.ioLatencyTimeseries().height(8).span(12))
    .withPanel(traffic.trafficErrorsTimeseries().height(8).span(12))
    .withPanel(traffic.dashboardActionsTimeseries().height(8).span(12))
    .withPanel(traffic.dashboardErrorsTimeseries().height(8).span(12))
    // Workspaces
    .withRow(new dashboard.RowBuilder("Workspaces"))
    .withPanel(workspaces.buildsTimeseries().height(8).span(8))
    .withPanel(workspaces.buildDurationTimeseries().height(8).span(8))
    .withPanel(workspaces.agentsTimeseries().height(8).span(8))
    // coderd
    .withRow(new dashboard.RowBuilder("coderd"))
    .withPanel(coderd.apiLatencyP95Timeseries().height(9).span(12))
    .withPanel(coderd.apiLatencyP99Timeseries().height(9).span(12))
    .withPanel(coderd.apiRequestsTimeseries().height(8).span(8))
    .withPanel(coderd.apiErrorsTimeseries().height(8).span(8))
    .withPanel(coderd.concurrencyTimeseries().height(8).span(8))
    .withPanel(coderd.cpuTimeseries().height(8).span(8))
    .withPanel(coderd.memoryTimeseries().height(8).span(8))
    .withPanel(coderd.goroutinesTimeseries().height(8).span(8))
    .withPanel(coderd.containerCpuTimeseries().height(8).span(8))
    .withPanel(coderd.containerMemoryTimeseries().height(8).span(8))
    .withPanel(coderd.restartsTimeseries().height(8).span(8))
    // Database
    .withRow(new dashboard.RowBuilder("Database"))
    .withPanel(database.queryLatencyTimeseries().height(9).span(12))
    .withPanel(database.queryRateTimeseries().height(9).span(12))
    .withPanel(database.connectionsTimeseries().height(8).span(8))
    .withPanel(database.transactionsTimeseries().height(8).span(8))
    .withPanel(database.rowsTimeseries().height(8).span(8))
    // Provisioners
    .withRow(new dashboard.RowBuilder("Provisioners"))
    .withPanel(provisioners.jobsRunningTimeseries().height(8).span(6))
    .withPanel(provisioners.daemonsTimeseries().height(8).span(6))
    .withPanel(provisioners.jobDurationTimeseries().height(8).span(6))
    .withPanel(provisioners.podsRunningTimeseries().height(8).span(6))
    // Runner health
    .withRow(new dashboard.RowBuilder("Runner health"))
    .withPanel(runnerHealth.eventLoopLagTimeseries().height(8).span(8))
    .withPanel(runnerHealth.skippedTicksTimeseries().height(8).span(8))
    .withPanel(runnerHealth.openConnectionsTimeseries().height(8).span(8))
    .withPanel(runnerHealth.residentMemoryTimeseries().height(8).span(8))
    .withPanel(runnerHealth.podCpuTimeseries().height(8).span(8))
    .withPanel(runnerHealth.retriesTimeseries().height(8).span(8))
    // Runner shards: collapsed, its panels nested in the row (only sharded runs need it)
    .withRow(
      new dashboard.RowBuilder("Runner shards")
        .collapsed(true)
        .withPanel(runnerShards.shardThroughputTimeseries().height(8).span(8))
        .withPanel(runnerShards.shardEventLoopLagTimeseries().height(8).span(8))
        .withPanel(runnerShards.shardConnectionsTimeseries().height(8).span(8)),
    );

  const model = builder.build();
  // The SDK defaults annotation toggles to Grafana 12's controls menu; keep them visible on the dashboard.
  for (const annotation of model.annotations?.list ?? []) delete annotation.placement;
  // Stable ids in layout order (a collapsed row's panels right after it), so links to a panel (viewPanel=N) survive regeneration.
  let id = 0;
  for (const panel of model.panels ?? []) {
    panel.id = ++id;
    for (const nested of (panel as dashboard.RowPanel).panels ?? []) nested.id = ++id;
  }
  return model;
}

/** JSON with object keys sorted at every level and a trailing newline: diffs stay small and stable. */
export function toStableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}

/** The exact text `npm run dashboards` writes. */
export function renderDashboardJson(): string {
  return toStableJson(buildDashboard());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(DASHBOARD_JSON_PATH, renderDashboardJson());
  console.log(`wrote ${DASHBOARD_JSON_PATH}`);
}
