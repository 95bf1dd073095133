// `scaletest compare RUN_A RUN_B`: B against A, per scenario and threshold metric; the exit code says whether B regressed.
import { Option, type Command } from "commander";
import { ConfigError, type ConfigProblem } from "../errors.ts";
import { compareRuns, COMPARE_EXIT, renderComparison, writeComparisonHtml } from "../report/compare.ts";
import { loadRun } from "../report/run-data.ts";
import { DESCRIPTIONS } from "./commands.ts";

const HELP_AFTER = `
RUN_A and RUN_B are run directories (or their summary.json). Compared: every client figure the thresholds know
(round-trip p50/p95/p99, error rates, achieved bytes, build times, dashboard action times) and the observed
value of every threshold either run evaluated (coderd figures included). A metric regressed when B is worse
than A by more than --tolerance and by more than a noise floor (10ms, 1 point of a ratio); round-trip
percentiles from fewer than 100 samples are shown, never flagged.

Exit codes: 0 B did not regress; 1 B regressed; 2 bad input.`;

/** "10%", "10" (percent) or "0.1" (fraction below 1). */
export function parseTolerance(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(raw.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === "%" || n >= 1 ? n / 100 : n;
}

export function register(program: Command): void {
  program
    .command("compare")
    .description(DESCRIPTIONS.compare)
    .argument("[run-a]", "baseline run directory or summary.json")
    .argument("[run-b]", "run directory or summary.json to judge")
    .addOption(new Option("--tolerance <percent>", "worse by more than this regresses (e.g. 10%)").default("10%"))
    .addOption(new Option("--html <path>", "also write the comparison with overlaid plots to this HTML file"))
    .addHelpText("after", HELP_AFTER)
    .action(async (a: string | undefined, b: string | undefined, opts: { tolerance: string; html?: string }) => {
      process.exitCode = await compareCommand(a, b, opts);
    });
}

/** The command's work; returns the exit code (bad input throws ConfigError: exit 2). */
export async function compareCommand(a: string | undefined, b: string | undefined, opts: { tolerance: string; html?: string }, out: (t: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const problems: ConfigProblem[] = [];
  if (!a || !b) problems.push({ path: a ? "RUN_B" : "RUN_A", message: "must name a run directory (or its summary.json): scaletest compare RUN_A RUN_B" });
  const tolerance = parseTolerance(opts.tolerance);
  if (!(tolerance >= 0 && tolerance <= 10)) problems.push({ path: "--tolerance", message: `must be a percentage from 0% to 1000% (e.g. 10%), got "${opts.tolerance}"` });
  if (problems.length > 0) throw new ConfigError(problems);
  const runA = loadRun(a!);
  const runB = loadRun(b!);
  const c = compareRuns(runA, runB, { tolerance });
  out(renderComparison(c));
  if (opts.html) {
    await writeComparisonHtml(opts.html, c, runA, runB);
    out(`Comparison: ${opts.html}\n`);
  }
  return c.regressed ? COMPARE_EXIT.regressed : COMPARE_EXIT.ok;
}
