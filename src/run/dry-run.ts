// The dry-run (the template's default): print the plan, check owner and templates with GETs only, change nothing.
import type { CoderClient } from "../coder/client.ts";
import { CoderConnectionError } from "../coder/errors.ts";
import { SCALETEST_PREFIX, isScaletestName } from "../coder/names.ts";
import type { RunnerConfig } from "./config.ts";
import { getErrorMessage } from "../errors.ts";
import { planRun, renderPlan, type RunPlan } from "./plan.ts";
import { preflightProblems } from "./preflight.ts";

/** What the dry-run found. */
export interface DryRunReport {
  plan: RunPlan;
  /** The deployment answered (false: unreachable or no URL; the plan is unchecked). */
  checked: boolean;
  /** Things that would make the real run fail (not an owner, template missing). */
  problems: string[];
  /** Scaletest workspaces that exist now (what "Cleanup before scaletest" would delete). */
  leftovers?: number;
}

/**
 * Prints the plan, then validates against the deployment with GET requests only: the token is a site owner's,
 * the workspace (and greedy) templates exist, and how many scaletest workspaces are left over. An unreachable
 * deployment is reported, not fatal.
 */
export async function dryRun(cfg: RunnerConfig, client: CoderClient | undefined, o: { signal?: AbortSignal; log: (line: string) => void }): Promise<DryRunReport> {
  const plan = planRun(cfg);
  o.log(renderPlan(plan).trimEnd());
  const report: DryRunReport = { plan, checked: false, problems: await preflightProblems(cfg) };
  for (const p of report.problems) o.log(`Dry-run problem: ${p}`);
  if (!client) {
    o.log("Dry-run: no deployment configured (CODER_URL is empty); the plan is not checked against one.");
    return report;
  }
  const local = report.problems.length;
  const signal = o.signal;
  try {
    const me = await client.me({ signal });
    report.checked = true;
    if (!me.roles.some((r) => r.name === "owner")) {
      report.problems.push(`user "${me.username}" is not a site owner; scale testing is only available to site owners`);
    }
    const templates = [cfg.workspaceTemplate, ...(cfg.greedyAgent ? [cfg.greedyAgentTemplate] : [])];
    for (const name of templates) {
      try {
        const t = await client.resolveTemplate(name, { signal });
        o.log(`Dry-run: template ${t.name} found (active version ${t.active_version_id})`);
      } catch (err) {
        if (err instanceof CoderConnectionError) throw err;
        report.problems.push(`template "${name}": ${getErrorMessage(err)}`);
      }
    }
    const existing = (await client.allWorkspaces(`name:"${SCALETEST_PREFIX}"`, { signal })).filter((w) => isScaletestName(w.name));
    report.leftovers = existing.length;
    o.log(
      `Dry-run: ${existing.length} scaletest workspace(s) exist now${cfg.cleanupPrepare ? "; prepare would delete them (and their users) first" : ""}`,
    );
  } catch (err) {
    if (!(err instanceof CoderConnectionError)) throw err;
    o.log(`Dry-run: ${getErrorMessage(err)}; the plan is not checked against the deployment.`);
    return report;
  }
  for (const p of report.problems.slice(local)) o.log(`Dry-run problem: ${p}`);
  o.log(report.problems.length === 0 ? "Dry-run: OK, nothing was changed." : "Dry-run: the real run would fail; nothing was changed.");
  return report;
}
