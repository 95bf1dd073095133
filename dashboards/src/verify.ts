// Evaluates every panel query of the dashboard against a Prometheus, as Grafana would, and reports panel → series.
// Run directly (npm run verify:dashboard -- --prometheus-url URL) it checks a live deployment.
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { ConfigError, getErrorMessage } from "../../src/errors.ts";
import { EXTERNAL_PANELS } from "./external.ts";
import { buildDashboard } from "./index.ts";

/** One PromQL target of one panel. */
export interface PanelQuery {
  /** Panel title (unique in the dashboard). */
  panel: string;
  refId: string;
  /** The expression as stored in the dashboard, variables unresolved. */
  expr: string;
  /** True when the panel reads an exporter absent here (listed in external.ts): only validity is checked. */
  external: boolean;
}

/** What one query returned. `empty` and `invalid` fail the check; `external` never does unless invalid. */
export interface QueryCheck extends PanelQuery {
  /** The expression sent to Prometheus. */
  resolved: string;
  status: "ok" | "empty" | "invalid" | "external";
  /** Series returned by an instant query at evaluation time. */
  series: number;
  /** Series whose value is a finite number other than zero (movement, not just presence). */
  nonZero: number;
  error?: string;
}

/** Grafana's built-in interval variables, with values that suit a ~1 s scrape interval. */
export const DEFAULT_BUILTINS: Readonly<Record<string, string>> = {
  __rate_interval: "15s",
  __interval: "5s",
  __interval_ms: "5000",
  __range: "5m",
  __range_s: "300",
  __range_ms: "300000",
};

/** The fields of a Prometheus target this module reads (the SDK types targets as opaque dataqueries). */
export interface PromTarget {
  refId?: string;
  expr?: string;
  datasource?: unknown;
}

/** Every panel that is not a row, in layout order: a collapsed row keeps its panels inside it. */
export function allPanels(model: dashboard.Dashboard): dashboard.Panel[] {
  return (model.panels ?? []).flatMap((p) => (p.type === "row" ? ((p as dashboard.RowPanel).panels ?? []) : [p as dashboard.Panel]));
}

/** Every PromQL target of every panel (collapsed rows' too), in layout order. */
export function panelQueries(model: dashboard.Dashboard, external: Readonly<Record<string, string>> = EXTERNAL_PANELS): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const panel of allPanels(model)) {
    const title = (panel as dashboard.Panel).title ?? "";
    for (const target of ((panel as dashboard.Panel).targets ?? []) as PromTarget[]) {
      if (typeof target.expr !== "string") continue;
      out.push({ panel: title, refId: String(target.refId ?? ""), expr: target.expr, external: Object.hasOwn(external, title) });
    }
  }
  return out;
}

/** Escapes a label value for use inside a `=~` regex, as Grafana does for single values. */
export function escapeRegex(value: string): string {
  return value.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");
}

/** Replaces `$name`, `${name}` and `[[name]]` with values; throws naming any variable left unresolved. */
export function interpolate(expr: string, values: Readonly<Record<string, string>>): string {
  const missing = new Set<string>();
  const out = expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (match, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c) as string;
    const value = values[name];
    if (value === undefined) {
      missing.add(name);
      return match;
    }
    return value;
  });
  if (missing.size > 0) throw new Error(`unresolved variable(s) ${[...missing].map((n) => `$${n}`).join(", ")} in ${expr}`);
  return out;
}

// PromQL words that look like identifiers but are not metric names.
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "atan2"]);

/**
 * Metric names an expression (or a `label_values(...)` variable query) reads, histogram suffixes
 * kept. A small lexer, enough for the dashboard's own queries: strings, matchers, ranges,
 * grouping clauses and variables are dropped, and identifiers called as functions are skipped.
 */
export function metricNames(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const labelValues = /^\s*label_values\(\s*([^,)]*?)\s*(?:,\s*\w+\s*)?\)\s*$/.exec(s);
  if (labelValues) {
    // label_values(label) has no metric; label_values(metric{…}, label) has one.
    const inner = (labelValues[1] ?? "").replace(/\{[^}]*\}/g, "");
    const hasMetric = /,/.test(s);
    return hasMetric && inner ? [inner] : [];
  }
  s = s
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\$\{?\w+\}?/g, " ");
  const names = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    const rest = s.slice((m.index ?? 0) + word.length);
    if (/^\s*\(/.test(rest) || KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/** The metric a histogram series belongs to (`x_bucket` → `x`) when `x` is known; otherwise the name itself. */
export function baseMetricName(name: string, known: ReadonlySet<string>): string {
  const m = /^(.*)_(bucket|count|sum)$/.exec(name);
  return m && known.has(m[1] as string) ? (m[1] as string) : name;
}

interface PromResponse<T> {
  status: "success" | "error";
  data?: T;
  errorType?: string;
  error?: string;
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function promGet<T>(baseUrl: string, path: string, params: URLSearchParams, signal?: AbortSignal): Promise<PromResponse<T>> {
  const res = await fetch(new URL(`${path}?${params}`, baseUrl), { signal });
  const body = (await res.json().catch(() => undefined)) as PromResponse<T> | undefined;
  if (!body) throw new Error(`prometheus ${path}: HTTP ${res.status} without a JSON body`);
  return body;
}

/** Instant query; resolves with Prometheus' answer (status "error" for invalid PromQL). */
export async function instantQuery(
  baseUrl: string,
  expr: string,
  options: { signal?: AbortSignal; time?: number } = {},
): Promise<PromResponse<{ resultType: string; result: Sample[] | [number, string] }>> {
  const params = new URLSearchParams({ query: expr });
  if (options.time !== undefined) params.set("time", String(options.time / 1000));
  return promGet(baseUrl, "/api/v1/query", params, options.signal);
}

/**
 * Resolves the dashboard's variables as Grafana does on load: `label_values` queries go to
 * Prometheus' label API in order (later ones see earlier values), the first value by the variable's
 * sort wins, and a variable without values falls back to its All value. `overrides` win over both.
 */
export async function resolveVariables(
  model: dashboard.Dashboard,
  baseUrl: string,
  options: { signal?: AbortSignal; overrides?: Readonly<Record<string, string>>; builtins?: Readonly<Record<string, string>> } = {},
): Promise<Record<string, string>> {
  const values: Record<string, string> = { ...(options.builtins ?? DEFAULT_BUILTINS) };
  for (const variable of model.templating?.list ?? []) {
    const name = variable.name;
    const override = options.overrides?.[name];
    if (override !== undefined) {
      values[name] = override;
      continue;
    }
    if (variable.type === "datasource") {
      values[name] = "prometheus";
      continue;
    }
    if (variable.type !== "query" || typeof variable.query !== "string") continue;
    const m = /^\s*label_values\(\s*(?:(.*?)\s*,\s*)?(\w+)\s*\)\s*$/.exec(variable.query);
    if (!m) throw new Error(`variable ${name}: only label_values(...) queries are supported, got ${variable.query}`);
    const params = new URLSearchParams();
    if (m[1]) params.set("match[]", interpolate(m[1], values));
    const res = await promGet<string[]>(baseUrl, `/api/v1/label/${m[2]}/values`, params, options.signal);
    if (res.status !== "success") throw new Error(`variable ${name}: ${res.error ?? "label values query failed"}`);
    const found = (res.data ?? []).filter((v) => v !== "").sort();
    // VariableSort 2 and 4 are descending (alphabetical, numerical).
    if (variable.sort === 2 || variable.sort === 4) found.reverse();
    const first = found[0];
    if (first !== undefined) values[name] = escapeRegex(first);
    else if (variable.includeAll) values[name] = variable.allValue ?? ".*";
    else throw new Error(`variable ${name}: ${variable.query} returned no values and has no All option`);
  }
  return values;
}

/** Evaluates each query (instant, at `time` epoch ms or now) and classifies the answer. Never throws for a bad query. */
export async function checkQueries(
  queries: readonly PanelQuery[],
  options: { prometheusUrl: string; variables: Readonly<Record<string, string>>; signal?: AbortSignal; time?: number },
): Promise<QueryCheck[]> {
  const out: QueryCheck[] = [];
  for (const query of queries) {
    let resolved = query.expr;
    try {
      resolved = interpolate(query.expr, options.variables);
      const res = await instantQuery(options.prometheusUrl, resolved, { signal: options.signal, time: options.time });
      if (res.status !== "success") {
        out.push({ ...query, resolved, status: "invalid", series: 0, nonZero: 0, error: `${res.errorType ?? "error"}: ${res.error ?? ""}` });
        continue;
      }
      const result = res.data?.result;
      const samples = Array.isArray(result) && result.every((r) => typeof r === "object") ? (result as Sample[]) : [];
      const nonZero = samples.filter((s) => {
        const v = Number(s.value[1]);
        return Number.isFinite(v) && v !== 0;
      }).length;
      const status = query.external ? "external" : samples.length > 0 ? "ok" : "empty";
      out.push({ ...query, resolved, status, series: samples.length, nonZero });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      out.push({ ...query, resolved, status: "invalid", series: 0, nonZero: 0, error: getErrorMessage(err) });
    }
  }
  return out;
}

/** The checks that fail: invalid anywhere, or empty outside the external list. */
export function failures(checks: readonly QueryCheck[]): QueryCheck[] {
  return checks.filter((c) => c.status === "invalid" || c.status === "empty");
}

/** One line per query: `panel [ref]: N series (M non-zero)`, marking failures and external panels. */
export function formatChecks(checks: readonly QueryCheck[]): string {
  const width = Math.max(...checks.map((c) => c.panel.length + c.refId.length + 3), 10);
  return checks
    .map((c) => {
      const label = `${c.panel} [${c.refId}]`.padEnd(width);
      const detail =
        c.status === "invalid"
          ? `INVALID ${c.error ?? ""}`
          : `${c.series} series (${c.nonZero} non-zero)${c.status === "empty" ? "  NO SERIES" : c.status === "external" ? "  external: parse only" : ""}`;
      return `${label}  ${detail}`;
    })
    .join("\n");
}

function parseCli(argv: string[]): { prometheusUrl: string; overrides: Record<string, string>; rateInterval: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      "prometheus-url": { type: "string" },
      var: { type: "string", multiple: true },
      "rate-interval": { type: "string", default: "1m" },
    },
  });
  const problems = [];
  const url = values["prometheus-url"] ?? process.env.PROMETHEUS_URL;
  if (!url || !/^https?:\/\//.test(url)) problems.push({ path: "--prometheus-url (PROMETHEUS_URL)", message: "must be an http(s) URL of a Prometheus server" });
  const overrides: Record<string, string> = {};
  for (const pair of values.var ?? []) {
    const m = /^(\w+)=(.*)$/.exec(pair);
    if (!m) problems.push({ path: "--var", message: `must be name=value, got ${JSON.stringify(pair)}` });
    else overrides[m[1] as string] = m[2] as string;
  }
  const rateInterval = values["rate-interval"] as string;
  if (!/^\d+(ms|s|m|h)$/.test(rateInterval)) problems.push({ path: "--rate-interval", message: "must be a Prometheus duration such as 1m or 30s" });
  if (problems.length > 0) throw new ConfigError(problems);
  return { prometheusUrl: url as string, overrides, rateInterval };
}

async function main(): Promise<number> {
  const cli = parseCli(process.argv.slice(2));
  const model = buildDashboard();
  const builtins = { ...DEFAULT_BUILTINS, __rate_interval: cli.rateInterval };
  const variables = await resolveVariables(model, cli.prometheusUrl, { overrides: cli.overrides, builtins });
  const checks = await checkQueries(panelQueries(model), { prometheusUrl: cli.prometheusUrl, variables });
  console.log(formatChecks(checks));
  const failed = failures(checks);
  console.log(`\n${checks.length} queries, ${failed.length} failing`);
  return failed.length > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`verify-dashboard: ${getErrorMessage(err)}`);
      process.exit(err instanceof ConfigError ? 2 : 1);
    },
  );
}
