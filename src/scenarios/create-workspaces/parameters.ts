// Command-level setup of create-workspaces, read-only: the template, its rich parameters (checked as coderd checks them) and external auth.
import type { CoderClient } from "../../coder/client.ts";
import { CoderConnectionError } from "../../coder/errors.ts";
import type { Template, TemplateVersionParameter, User, WorkspaceBuildParameter } from "../../coder/types.ts";
import { ConfigError, getErrorMessage, type ConfigProblem } from "../../errors.ts";
import { SETUP_RETRIES, type CreateWorkspacesConfig } from "./config.ts";

/**
 * Resolves rich parameters without prompting, as `coder create` does with --parameter: supplied names must exist and not be
 * ephemeral; the others get their defaults; every value is checked against type, options, min/max and regex.
 */
export function resolveParameters(
  params: readonly TemplateVersionParameter[],
  supplied: Record<string, string>,
): { values: WorkspaceBuildParameter[]; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const byName = new Map(params.map((p) => [p.name, p]));
  for (const name of Object.keys(supplied)) {
    const p = byName.get(name);
    if (!p) {
      const known = params.map((x) => x.name).join(", ") || "none";
      problems.push({ path: "--parameter", message: `parameter "${name}" not found in the template (it has: ${known})` });
    } else if (p.ephemeral) problems.push({ path: "--parameter", message: `parameter "${name}" is ephemeral; ephemeral parameters are not supported` });
  }
  const values: WorkspaceBuildParameter[] = [];
  for (const p of params) {
    const given = Object.hasOwn(supplied, p.name) ? supplied[p.name] : undefined;
    if (given === undefined) {
      if (p.ephemeral) continue;
      if (p.required && p.default_value === "") {
        problems.push({ path: "--parameter", message: `parameter "${p.name}" is required and has no default; pass --parameter ${p.name}=<value>` });
        continue;
      }
    }
    const value = given ?? p.default_value;
    const problem = checkParameterValue(p, value);
    if (problem) problems.push({ path: "--parameter", message: `parameter "${p.name}": ${problem}` });
    else values.push({ name: p.name, value });
  }
  return { values, problems };
}

/** Why `value` is not acceptable for `p`, or undefined. */
export function checkParameterValue(p: TemplateVersionParameter, value: string): string | undefined {
  const options = p.options ?? [];
  if (p.type === "list(string)") {
    let list: unknown;
    try {
      list = JSON.parse(value || "[]");
    } catch {
      return `must be a JSON array of strings, got ${JSON.stringify(value)}`;
    }
    if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) return `must be a JSON array of strings, got ${JSON.stringify(value)}`;
    const bad = options.length > 0 ? list.find((x) => !options.some((o) => o.value === x)) : undefined;
    return bad === undefined ? undefined : `${JSON.stringify(bad)} is not one of ${options.map((o) => JSON.stringify(o.value)).join(", ")}`;
  }
  if (options.length > 0 && !options.some((o) => o.value === value)) {
    return `${JSON.stringify(value)} is not one of ${options.map((o) => JSON.stringify(o.value)).join(", ")}`;
  }
  if (p.type === "bool" && value !== "true" && value !== "false") return `must be true or false, got ${JSON.stringify(value)}`;
  if (p.type === "number") {
    const n = value.trim() === "" ? NaN : Number(value);
    if (!Number.isFinite(n)) return `must be a number, got ${JSON.stringify(value)}`;
    const min = p.validation_min ?? undefined;
    const max = p.validation_max ?? undefined;
    if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
      return `must be in [${min ?? "-inf"}, ${max ?? "+inf"}], got ${value}${p.validation_error ? ` (${p.validation_error})` : ""}`;
    }
  }
  if (p.type === "string" && p.validation_regex) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(p.validation_regex);
    } catch {
      re = undefined; // a Go-only regex syntax; the server still validates
    }
    if (re && !re.test(value)) return p.validation_error || `must match ${p.validation_regex}, got ${JSON.stringify(value)}`;
  }
  return undefined;
}

/** What the command-level setup resolved (read-only requests only). */
export interface PreparedCreateWorkspaces {
  /** The owner running the test. */
  me: User;
  /** The organization of every user and workspace: the owner's first. */
  organizationId: string;
  template: Template;
  parameters: WorkspaceBuildParameter[];
}

/**
 * Command-level setup, without side effects: resolve the template, its active version's rich
 * parameters and external auth. Bad input throws a ConfigError naming the flag.
 */
export async function prepareCreateWorkspaces(
  owner: CoderClient,
  me: User,
  cfg: CreateWorkspacesConfig,
  { signal }: { signal?: AbortSignal } = {},
): Promise<PreparedCreateWorkspaces> {
  // Setup only reads, so transient answers are retried whatever --retry says.
  const client = owner.withRetry({ retries5xx: SETUP_RETRIES });
  const organizationId = me.organization_ids[0];
  if (!organizationId) throw new ConfigError([{ path: "--token", message: `user "${me.username}" belongs to no organization` }]);
  let template: Template;
  try {
    template = await client.resolveTemplate(cfg.template, { signal });
  } catch (err) {
    if (err instanceof CoderConnectionError || signal?.aborted) throw err;
    throw new ConfigError([{ path: "--template", message: getErrorMessage(err) }]);
  }
  const params = await client.templateVersionRichParameters(template.active_version_id, { signal });
  const resolved = resolveParameters(params, cfg.parameters);
  const problems = [...resolved.problems];
  const auths = await client.templateVersionExternalAuth(template.active_version_id, { signal });
  for (const a of auths) {
    if (!a.authenticated && !a.optional) {
      problems.push({ path: "--template", message: `external auth "${a.id}" is not authenticated; authenticate at ${a.authenticate_url} first` });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { me, organizationId, template, parameters: resolved.values };
}
