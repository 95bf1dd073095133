// Template, template-version, rich-parameter and dry-run routes.
import type { WorkspaceBuildParameter } from "../../coder/types.ts";
import { HttpError, notFound, parseUUIDParam } from "../http.ts";
import type { SimContext } from "../module.ts";
import { SimState } from "../state.ts";
import { type SimJob, type SimTemplate, type SimTemplateVersion, type SimUser } from "../records.ts";
import { readBody } from "./lookup.ts";
import { cmp, orgParam } from "./users.ts";

export function templateParam(ctx: SimContext, value: string, caller: SimUser): SimTemplate {
  const t = ctx.state.templates.get(parseUUIDParam(value, "template"));
  if (!t || !(ctx.state.isOwner(caller) || caller.organizationIds.includes(t.organizationId))) throw notFound();
  return t;
}

export function versionParam(ctx: SimContext, value: string, caller: SimUser): SimTemplateVersion {
  const v = ctx.state.versions.get(parseUUIDParam(value, "templateversion"));
  if (!v || !(ctx.state.isOwner(caller) || caller.organizationIds.includes(v.organizationId))) throw notFound();
  return v;
}

/** Dry-run jobs per template version. */
const dryRuns = new WeakMap<SimTemplateVersion, Map<string, SimJob>>();

export function dryRunParam(ctx: SimContext, params: Record<string, string>, caller: SimUser): { version: SimTemplateVersion; job: SimJob } {
  const version = versionParam(ctx, params.templateversion!, caller);
  const job = dryRuns.get(version)?.get(parseUUIDParam(params.jobID!, "jobID"));
  if (!job) throw notFound();
  return { version, job };
}

export function registerTemplateRoutes(ctx: SimContext): void {
  const { state, entities } = ctx;

  ctx.addRoute("GET", "/api/v2/organizations/{organization}/templates", ({ params, user }) => {
    const org = orgParam(ctx, params.organization!, user);
    const list = [...state.templates.values()].filter((t) => t.organizationId === org.id).sort((a, b) => cmp(a.name, b.name));
    return [200, list.map((t) => entities.template(t))];
  });

  ctx.addRoute("GET", "/api/v2/organizations/{organization}/templates/{templatename}", ({ params, user }) => {
    const org = orgParam(ctx, params.organization!, user);
    const t = state.templateByName(org.id, params.templatename!);
    if (!t) throw notFound();
    return [200, entities.template(t)];
  });

  ctx.addRoute("GET", "/api/v2/templates", ({ user }) => {
    const list = [...state.templates.values()].filter((t) => state.isOwner(user) || user.organizationIds.includes(t.organizationId)).sort((a, b) => cmp(a.name, b.name));
    return [200, list.map((t) => entities.template(t))];
  });

  ctx.addRoute("GET", "/api/v2/templates/{template}", ({ params, user }) => [200, entities.template(templateParam(ctx, params.template!, user))]);

  ctx.addRoute("GET", "/api/v2/templateversions/{templateversion}", ({ params, user }) => [200, entities.templateVersion(versionParam(ctx, params.templateversion!, user))]);

  ctx.addRoute("GET", "/api/v2/templateversions/{templateversion}/rich-parameters", ({ params, user }) => {
    const v = versionParam(ctx, params.templateversion!, user);
    if (v.job.status !== "succeeded") throw new HttpError(400, { message: "Template version job hasn't completed!" });
    return [200, v.definition.parameters];
  });

  ctx.addRoute("GET", "/api/v2/templateversions/{templateversion}/external-auth", ({ params, user }) => {
    versionParam(ctx, params.templateversion!, user);
    return [200, []];
  });

  ctx.addRoute("POST", "/api/v2/templateversions/{templateversion}/dry-run", async ({ req, params, user }) => {
    const version = versionParam(ctx, params.templateversion!, user);
    await readBody<{ workspace_name?: string; rich_parameter_values?: WorkspaceBuildParameter[] }>(req, { workspace_name: "string", rich_parameter_values: "array" });
    if (version.job.status !== "succeeded") throw new HttpError(400, { message: "Template version import job hasn't completed!" });
    const job = state.addDryRun(version);
    let jobs = dryRuns.get(version);
    if (!jobs) dryRuns.set(version, (jobs = new Map()));
    jobs.set(job.id, job);
    return [201, entities.job(job)];
  });

  ctx.addRoute("GET", "/api/v2/templateversions/{templateversion}/dry-run/{jobID}", ({ params, user }) => [200, entities.job(dryRunParam(ctx, params, user).job)]);

  ctx.addRoute("GET", "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/resources", ({ params, user }) => {
    const { job } = dryRunParam(ctx, params, user);
    if (SimState.isActive(job)) throw new HttpError(400, { message: "Job hasn't completed!" });
    return [200, job.resources.map((r) => entities.resource(r))];
  });

  ctx.addRoute("PATCH", "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/cancel", ({ params, user }) => {
    const { job } = dryRunParam(ctx, params, user);
    cancelOrExplain(ctx, job);
    return [200, { message: "Job has been marked as canceled..." }];
  });
}

/** coderd's cancel rules: 400 when the job already finished or is already canceling. */
export function cancelOrExplain(ctx: SimContext, job: SimJob): void {
  if (job.status === "succeeded" || job.status === "failed" || job.status === "canceled") throw new HttpError(400, { message: "Job has already completed!" });
  if (job.status === "canceling") throw new HttpError(400, { message: "Job has already been marked as canceled!" });
  ctx.state.cancelJob(job);
}
