// `scaletest report RUN_DIR`: (re)writes the run's report.html, and evaluates thresholds on the finished run when given.
import { Option, type Command } from "commander";
import { ConfigError, type ConfigProblem } from "../errors.ts";
import { writeReport } from "../report/html.ts";
import { buildStats, loadRun } from "../report/run-data.ts";
import { verdictExitCode, verdictLines } from "../verdict/evaluate.ts";
import { finalVerdict, loadWindow } from "../verdict/monitor.ts";
import { buildScaleTestRow } from "../report/scale-row.ts";
import { prometheusTarget } from "../verdict/prometheus.ts";
import { describeMetrics, validateThresholds } from "../verdict/threshold.ts";
import { EXIT } from "../errors.ts";
import { DESCRIPTIONS } from "./commands.ts";
import { collect } from "./flags.ts";

const HTTP_URL = /^https?:\/\/\S+$/;

const HELP_AFTER = `
RUN_DIR is a run directory (or its summary.json). report.html is written next to results/ with the run's
settings, phases, plots (inline SVG: it opens with no network), threshold verdicts, saturation warnings and a
Grafana link for the run's time range.

--threshold evaluates thresholds on the finished run (client side from its summary and results; coderd side
from --prometheus-url over its load window); the verdict goes into the report and the exit code. Syntax and
metric names: docs/thresholds.md, or --list-metrics.

Exit codes: 0 report written (verdict pass, or no thresholds); 3 a threshold failed; 4 the run was
generator-limited; 2 bad input (nothing written); 1 the report could not be written.`;

export function register(program: Command): void {
  program
    .command("report")
    .description(DESCRIPTIONS.report)
    .argument("[run-dir]", "run directory or its summary.json")
    .addOption(new Option("--threshold <expr>", 'threshold, repeatable, e.g. "ssh.round_trip.p95 < 200ms"').argParser(collect))
    .addOption(new Option("--prometheus-url <url>", "Prometheus for coderd thresholds ($SCALETEST_PARAM_PROMETHEUS_URL)"))
    .addOption(new Option("--grafana-url <url>", "Grafana base URL for the run's link (default: the run's SCALETEST_PARAM_GRAFANA_URL)"))
    .option("--list-metrics", "print the metric names a threshold may use, and exit")
    .addHelpText("after", HELP_AFTER)
    .action(async (runDir: string | undefined, opts: { threshold?: string[]; prometheusUrl?: string; grafanaUrl?: string; listMetrics?: boolean }) => {
      process.exitCode = await reportCommand(runDir, opts);
    });
}

/** The command's work; returns the exit code (bad input throws ConfigError: exit 2). */
export async function reportCommand(
  runDir: string | undefined,
  opts: { threshold?: string[]; prometheusUrl?: string; grafanaUrl?: string; listMetrics?: boolean },
  io: { out: (t: string) => void; env: NodeJS.ProcessEnv } = { out: (t) => process.stdout.write(t), env: process.env },
): Promise<number> {
  if (opts.listMetrics) {
    io.out(`${describeMetrics()}\n`);
    return EXIT.ok;
  }
  const problems: ConfigProblem[] = [];
  if (!runDir) problems.push({ path: "RUN_DIR", message: "must name a run directory (or its summary.json)" });
  const promUrl = opts.prometheusUrl ?? io.env.SCALETEST_PARAM_PROMETHEUS_URL ?? "";
  const promFrom = opts.prometheusUrl !== undefined ? "--prometheus-url" : "SCALETEST_PARAM_PROMETHEUS_URL";
  if (promUrl && !HTTP_URL.test(promUrl)) problems.push({ path: promFrom, message: `must be an http(s) URL, got "${promUrl.replace(/\/\/[^@/]*@/, "//")}"` });
  if (opts.grafanaUrl !== undefined && !HTTP_URL.test(opts.grafanaUrl)) problems.push({ path: "--grafana-url", message: `must be an http(s) URL, got "${opts.grafanaUrl}"` });
  if (problems.length > 0) throw new ConfigError(problems);
  const data = loadRun(runDir!);
  const texts = opts.threshold ?? [];
  let verdict = data.summary.verdict;
  if (texts.length > 0) {
    const ran = data.summary.phases.flatMap((p) => p.scenarios.map((s) => s.name));
    const { thresholds, problems: bad } = validateThresholds([{ from: "--threshold", texts }], { scenarios: ran, prometheus: Boolean(promUrl), prometheusFrom: "--prometheus-url" });
    if (bad.length > 0) throw new ConfigError(bad);
    verdict = await finalVerdict({
      thresholds,
      summary: data.summary,
      builds: buildStats(data.builds),
      prometheus: promUrl ? prometheusTarget(promUrl) : undefined,
      saturation: data.summary.saturation,
      abortedBy: data.summary.verdict?.abortedBy,
      log: (l) => process.stderr.write(`${l}\n`),
    });
  }
  // A run from before the row existed still gets the cells it measured (and coderd's from Prometheus when given).
  const prometheus = promUrl ? prometheusTarget(promUrl) : undefined;
  const row = data.summary.scaleTestRow ?? (await buildScaleTestRow(data, { prometheus, window: loadWindow(data.summary), log: (l) => process.stderr.write(`${l}\n`) }));
  const path = await writeReport(data.dir, { verdict, grafanaUrl: opts.grafanaUrl, row });
  if (verdict) io.out(`${verdictLines(verdict).join("\n")}\n`);
  io.out(`Report: ${path}\n`);
  return texts.length > 0 ? verdictExitCode(0, verdict) : EXIT.ok;
}
