// Prepare's template step: the run's workspace (and greedy) templates on the deployment are made to match the bundled variants.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CoderClient } from "../coder/client.ts";
import { ensureWorkspaceTemplate, type EnsureTemplateResult } from "../coder/template-upload.ts";
import type { RunnerConfig } from "./config.ts";
import { getErrorMessage } from "../errors.ts";

/** template/variants in this checkout (and in the runner image, which copies template/). */
export const BUNDLED_VARIANTS_DIR = fileURLToPath(new URL("../../template/variants/", import.meta.url));

export interface SyncVariantsOptions {
  signal?: AbortSignal;
  log: (line: string) => void;
  /** Compare only (GET requests); report what would be done. */
  dryRun?: boolean;
  /** Directory holding one sub-directory per variant (default: the bundled template/variants). */
  variantsDir?: string;
  /** Import-job poll interval in milliseconds (ensureWorkspaceTemplate's default when unset). */
  pollIntervalMs?: number;
}

/** The templates a run creates workspaces from: the workspace template, then the greedy one when the greedy agent is on. */
export function runTemplates(cfg: Pick<RunnerConfig, "workspaceTemplate" | "greedyAgent" | "greedyAgentTemplate">): string[] {
  return [cfg.workspaceTemplate, ...(cfg.greedyAgent ? [cfg.greedyAgentTemplate] : [])];
}

/**
 * Makes each of the run's templates match its bundled variant, in the owner's first organization (where create
 * puts the users and resolves the template first). Stops at the first failure with an error naming the template.
 */
export async function syncVariants(cfg: RunnerConfig, client: CoderClient, o: SyncVariantsOptions): Promise<EnsureTemplateResult[]> {
  const me = await client.me({ signal: o.signal });
  const organizationId = me.organization_ids[0];
  if (!organizationId) throw new Error(`template sync: user "${me.username}" belongs to no organization`);
  const dir = o.variantsDir ?? BUNDLED_VARIANTS_DIR;
  const results: EnsureTemplateResult[] = [];
  for (const name of runTemplates(cfg)) {
    const variant = join(dir, name);
    try {
      if (!existsSync(variant)) throw new Error(`no bundled variant directory ${variant}`);
      results.push(
        await ensureWorkspaceTemplate(client, {
          organizationId,
          name,
          dir: variant,
          dryRun: o.dryRun,
          pollIntervalMs: o.pollIntervalMs,
          signal: o.signal,
          log: o.log,
        }),
      );
    } catch (err) {
      if (o.signal?.aborted) throw err;
      throw new Error(`template ${name}: could not make it match the bundled variant: ${getErrorMessage(err)}`, { cause: err });
    }
  }
  return results;
}
