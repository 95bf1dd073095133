// What every run command does at its end: settle the flags (globals, --output), write results as upstream does, keep
// /metrics up for a last scrape, and the exit code.
import { accessSync, constants, existsSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError, EXIT, type ConfigProblem } from "../errors.ts";
import { encodeResultsJson, resultsToText, writeResultsJson, type Results } from "../harness/results.ts";
import { sleep } from "../util/abort.ts";
import { formatGoDuration } from "../util/duration.ts";
import { readGlobals, type GlobalSettings } from "./deployment.ts";
import type { FlagReader } from "./flags.ts";

/** With --verbose, every job's log line goes to stderr prefixed with the job id. */
export function verboseTee(g: GlobalSettings, stderr: NodeJS.WritableStream = process.stderr): ((id: string, text: string) => void) | undefined {
  return g.verbose ? (id, text) => stderr.write(text.replace(/^(?=.)/gm, `[${id}] `)) : undefined;
}

// ---- output ----

/**
 * The end of every run command's flag reading: --output and the globals are read, problems found so far (plus
 * `more`) are thrown, then `validate()`'s, then the --output specs are checked. Values that did not parse are
 * reported as such; the range checks only run on values that did.
 */
export function settleFlags(
  r: FlagReader,
  env: NodeJS.ProcessEnv,
  more: ConfigProblem[] = [],
  validate: () => ConfigProblem[] = () => [],
): { outputs: OutputSpec[]; globals: GlobalSettings } {
  const outputValues = r.has("output") ? r.list("output") : [];
  const globals = readGlobals(r, env);
  r.done(more);
  r.done(validate());
  return { outputs: parseOutputSpecs(outputValues), globals };
}

/** Upstream's ending: exit 1 with its failure line when a job failed, else 0. */
export function resultsExitCode(results: Results, stderr: NodeJS.WritableStream = process.stderr): number {
  if (results.total_fail === 0) return EXIT.ok;
  stderr.write("load test failed, see above for more details\n");
  return EXIT.failed;
}


/** Where results go: `path` undefined means stdout. */
export interface OutputSpec {
  format: "text" | "json";
  path?: string;
}

/**
 * Parses `--output` values (already CSV-split) as upstream: split at the first `:`, format text|json,
 * at most one stdout spec; no specs means text on stdout. Paths are checked for a writable directory.
 */
export function parseOutputSpecs(values: readonly string[], from = "--output"): OutputSpec[] {
  const specs: OutputSpec[] = [];
  let stdout = 0;
  const problems: ConfigProblem[] = [];
  for (const v of values) {
    const i = v.indexOf(":");
    const format = i === -1 ? v : v.slice(0, i);
    const path = i === -1 ? undefined : v.slice(i + 1);
    if (format !== "text" && format !== "json") {
      problems.push({ path: from, message: `invalid output format ${JSON.stringify(format)} in ${JSON.stringify(v)}; allowed: text, json, each optionally followed by :<path>` });
      continue;
    }
    if (!path) {
      if (++stdout > 1) problems.push({ path: from, message: "multiple output flags specified for stdout" });
      specs.push({ format });
      continue;
    }
    const abs = resolve(path);
    const dir = dirname(abs);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) problems.push({ path: from, message: `directory ${JSON.stringify(dir)} does not exist` });
    else {
      try {
        accessSync(dir, constants.W_OK);
      } catch {
        problems.push({ path: from, message: `directory ${JSON.stringify(dir)} is not writable` });
      }
    }
    specs.push({ format, path: abs });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return specs.length > 0 ? specs : [{ format: "text" }];
}

/** Writes the results to every spec: stdout first, then files in order (created or truncated). */
export function writeOutputs(results: Results, specs: readonly OutputSpec[], stdout: NodeJS.WritableStream = process.stdout): void {
  const render = (f: OutputSpec["format"]) => (f === "json" ? encodeResultsJson(results) : resultsToText(results));
  for (const s of specs) if (!s.path) stdout.write(render(s.format));
  for (const s of specs) {
    if (!s.path) continue;
    if (s.format === "json") writeResultsJson(s.path, results);
    else writeFileSync(s.path, resultsToText(results));
  }
}

/** --scaletest-prometheus-wait: keeps the metrics server up (when it listens) for a last scrape; a signal ends the wait. */
export async function waitForScrape(server: { url?: string }, waitMs: number, signal: AbortSignal, stderr: NodeJS.WritableStream = process.stderr): Promise<void> {
  if (waitMs <= 0 || !server.url || signal.aborted) return;
  stderr.write(`Waiting ${formatGoDuration(waitMs)} for prometheus metrics to be scraped\n`);
  await sleep(waitMs, signal).catch(() => undefined);
}
