// A finished (or interrupted) run read back from its directory: summary.json, results/*.json, timeseries.json, environ.txt.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ConfigError, getErrorMessage } from "../errors.ts";
import { NIL_ERROR, type Results } from "../harness/results.ts";
import type { BuildStats } from "../verdict/client-values.ts";
import type { RunSummary } from "./summary.ts";
import type { TimeSeriesFile } from "./timeseries.ts";

/** One created workspace: when its job started and how long it took to be running. */
export interface BuildRun {
  id: string;
  /** Epoch ms. */
  startedAt: number;
  durationMs: number;
  ok: boolean;
}

/** Everything the report and the comparison read from a run. */
export interface RunData {
  /** The run directory. */
  dir: string;
  summaryPath: string;
  summary: RunSummary;
  /** Upstream-shaped results by file name (create-workspaces.json, traffic-ssh.json, ...). */
  results: Record<string, Results>;
  /** The created workspaces (create-workspaces.json), empty when the run created none. */
  builds: BuildRun[];
  timeseries?: TimeSeriesFile;
  /** The run's SCALETEST_* settings (environ.txt; secrets are never written there). */
  settings: Record<string, string>;
}

/** The build statistics the thresholds use. */
export function buildStats(builds: readonly BuildRun[]): BuildStats | undefined {
  if (builds.length === 0) return undefined;
  return { durationsMs: builds.filter((b) => b.ok).map((b) => b.durationMs), total: builds.length, failed: builds.filter((b) => !b.ok).length };
}

/** Most intervals open at one moment. */
export function peakOverlap(intervals: ReadonlyArray<readonly [number, number]>): number {
  const edges = intervals.flatMap(([s, e]) => [[s, 1] as const, [e, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let peak = 0;
  for (const [, d] of edges) peak = Math.max(peak, (open += d));
  return peak;
}

/** Where a path points: a run directory, its results directory, or a summary.json. */
export function resolveRunPaths(path: string): { dir: string; summaryPath: string } {
  const bad = (message: string) => new ConfigError([{ path, message }]);
  if (!existsSync(path)) throw bad("no such file or directory; give a run directory or its summary.json");
  if (statSync(path).isFile()) {
    const parent = dirname(path);
    return { dir: basename(parent) === "results" ? dirname(parent) : parent, summaryPath: path };
  }
  if (existsSync(join(path, "results", "summary.json"))) return { dir: path, summaryPath: join(path, "results", "summary.json") };
  if (existsSync(join(path, "summary.json"))) return { dir: basename(path) === "results" ? dirname(path) : path, summaryPath: join(path, "summary.json") };
  throw bad("has no results/summary.json: not a run directory (or the run has not written its summary yet)");
}

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (err) {
    throw new ConfigError([{ path, message: `not readable JSON: ${getErrorMessage(err)}` }]);
  }
}

function isResults(v: unknown): v is Results {
  return typeof v === "object" && v !== null && "total_runs" in v && "runs" in v;
}

/** Reads a run; a missing or unreadable summary is a ConfigError naming the path (exit 2). */
export function loadRun(path: string): RunData {
  const { dir, summaryPath } = resolveRunPaths(path);
  const summary = readJson<RunSummary>(summaryPath);
  if (typeof summary.runId !== "string" || !Array.isArray(summary.phases)) {
    throw new ConfigError([{ path: summaryPath, message: "is not a run summary (no runId and phases)" }]);
  }
  return runData(dir, summary, dirname(summaryPath), summaryPath);
}

/** A run's data around a summary (also one still in memory, before summary.json is written). */
export function runData(dir: string, summary: RunSummary, resultsDir: string = join(dir, "results"), summaryPath: string = join(resultsDir, "summary.json")): RunData {
  const results: Record<string, Results> = {};
  for (const f of existsSync(resultsDir) ? readdirSync(resultsDir).sort() : []) {
    if (!f.endsWith(".json") || f === "summary.json" || f === "timeseries.json") continue;
    try {
      const v = JSON.parse(readFileSync(join(resultsDir, f), "utf8")) as unknown;
      if (isResults(v)) results[f] = v;
    } catch {
      // Not a results file (or cut short by a crash): the report shows what it can.
    }
  }
  // summary.json leaves the upstream results out (they are in results/): put them back on their scenarios.
  for (const sc of summary.phases.flatMap((p) => p.scenarios)) {
    if (!sc.results && sc.resultsPath) sc.results = results[basename(sc.resultsPath)];
  }
  const create = results["create-workspaces.json"];
  const builds: BuildRun[] = create
    ? Object.values(create.runs).map((r) => ({ id: r.id, startedAt: Date.parse(r.started_at), durationMs: r.duration_ms, ok: r.error === NIL_ERROR }))
    : [];
  const tsPath = [join(dir, "timeseries.json"), join(resultsDir, "timeseries.json")].find((p) => existsSync(p));
  let timeseries: TimeSeriesFile | undefined;
  if (tsPath) {
    try {
      timeseries = JSON.parse(readFileSync(tsPath, "utf8")) as TimeSeriesFile;
    } catch {
      timeseries = undefined;
    }
  }
  const settings: Record<string, string> = {};
  const environ = join(dir, "environ.txt");
  if (existsSync(environ)) {
    for (const line of readFileSync(environ, "utf8").split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) settings[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  return { dir, summaryPath, summary, results, builds, timeseries, settings };
}
