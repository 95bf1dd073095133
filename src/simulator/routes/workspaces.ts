// Workspace, build and agent routes: create (201), get (404/410), list with coderd's filters and ordering, builds and cancel.
import { NIL_UUID, type WorkspaceBuildParameter, type WorkspacesResponse } from "../../coder/types.ts";
import { HttpError, isUUID, notFound, parseUUIDParam, validationFailed } from "../http.ts";
import type { SimContext } from "../module.ts";
import { SimState, resolveParameters } from "../state.ts";
import { type SimBuild, type SimTemplate, type SimTemplateVersion, type SimUser, type SimWorkspace } from "../records.ts";
import { validateParameterValue } from "../templates.ts";
import { buildParam, checkName, pagination, readBody, requireSelfOrOwner, userParam, workspaceParam } from "./lookup.ts";
import { page, parseSearchQuery } from "./query.ts";
import { cancelOrExplain } from "./templates.ts";
import { cmp } from "./users.ts";

interface CreateWorkspaceBody {
  template_id?: string;
  template_version_id?: string;
  name?: string;
  rich_parameter_values?: WorkspaceBuildParameter[];
}

interface CreateBuildBody {
  transition?: string;
  template_version_id?: string;
  rich_parameter_values?: WorkspaceBuildParameter[];
  orphan?: boolean;
}

const unset = (id: string | undefined): boolean => !id || id === NIL_UUID;

/** Resolves and validates rich parameter values as coderd's workspace builder does (400 "Unable to validate parameters"). */
function buildParameters(version: SimTemplateVersion, supplied: WorkspaceBuildParameter[], previous: WorkspaceBuildParameter[] = []): WorkspaceBuildParameter[] {
  const { values, missing } = resolveParameters(version.definition.parameters, supplied, previous);
  if (missing.length > 0) throw new HttpError(400, { message: "Unable to validate parameters", detail: `parameter "${missing[0]}" is required but not provided` });
  for (const v of values) {
    const p = version.definition.parameters.find((x) => x.name === v.name)!;
    const problem = validateParameterValue(p, v.value);
    if (problem) throw new HttpError(400, { message: "Unable to validate parameters", detail: `parameter "${p.name}": ${problem}`, validations: [{ field: p.name, detail: problem }] });
  }
  return values;
}

/** The sort key of coderd's GetWorkspaces: caller's favourites, then running (succeeded start), then owner, then name. */
function compareWorkspaces(state: SimState, viewerId: string): (a: SimWorkspace, b: SimWorkspace) => number {
  const key = (ws: SimWorkspace) => {
    const b = state.latestBuild(ws);
    const running = b.transition === "start" && b.job.status === "succeeded" && !b.job.canceledAt && !b.job.error;
    return { fav: ws.favorite && ws.ownerId === viewerId ? 0 : 1, run: running ? 0 : 1, owner: state.users.get(ws.ownerId)!.username.toLowerCase(), name: ws.name.toLowerCase() };
  };
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka.fav - kb.fav || ka.run - kb.run || cmp(ka.owner, kb.owner) || cmp(ka.name, kb.name);
  };
}

export function registerWorkspaceRoutes(ctx: SimContext): void {
  const { state, entities } = ctx;

  const createWorkspace = async (r: { req: import("node:http").IncomingMessage; params: Record<string, string>; user: SimUser }): Promise<[number, unknown]> => {
    const caller = r.user;
    const owner = userParam(ctx, r.params.user!, caller);
    requireSelfOrOwner(ctx, caller, owner);
    const body = await readBody<CreateWorkspaceBody>(r.req, { template_id: "string", template_version_id: "string", name: "string", rich_parameter_values: "array" });
    const name = checkName("name", "workspace_name", body.name);
    if (unset(body.template_id) === unset(body.template_version_id)) {
      throw new HttpError(400, { message: "Exactly one of TemplateID or TemplateVersionID must be specified." });
    }
    let template: SimTemplate | undefined;
    let version: SimTemplateVersion | undefined;
    if (!unset(body.template_id)) {
      template = isUUID(body.template_id!) ? state.templates.get(body.template_id!.toLowerCase()) : undefined;
      if (!template) throw new HttpError(400, { message: `Template "${body.template_id}" doesn't exist.`, validations: [{ field: "template_id", detail: "template not found" }] });
      version = state.versions.get(template.activeVersionId);
    } else {
      version = isUUID(body.template_version_id!) ? state.versions.get(body.template_version_id!.toLowerCase()) : undefined;
      if (!version) throw new HttpError(400, { message: `Template version "${body.template_version_id}" doesn't exist.`, validations: [{ field: "template_version_id", detail: "template not found" }] });
      template = version.templateId ? state.templates.get(version.templateId) : undefined;
      if (!template) throw new HttpError(400, { message: "Template version is not associated with a template." });
    }
    if (!owner.organizationIds.includes(template.organizationId)) throw new HttpError(403, { message: "Owner is not a member of the template's organization." });
    for (const ws of state.workspaces.values()) {
      if (!ws.deleted && ws.ownerId === owner.id && ws.name.toLowerCase() === name.toLowerCase()) {
        throw new HttpError(409, { message: `Workspace "${name}" already exists.`, validations: [{ field: "name", detail: "This value is already in use and should be unique." }] });
      }
    }
    const parameters = buildParameters(version!, body.rich_parameter_values ?? []);
    const ws = state.addWorkspace({ owner, template, version: version!, name, parameters, initiator: caller });
    return [201, entities.workspace(ws, caller.id)];
  };

  ctx.addRoute("POST", "/api/v2/users/{user}/workspaces", createWorkspace);
  ctx.addRoute("POST", "/api/v2/organizations/{organization}/members/{user}/workspaces", createWorkspace);

  ctx.addRoute("GET", "/api/v2/workspaces", ({ url, user }) => {
    const p = pagination(url);
    const filters = { owner: [] as string[], name: [] as string[], template: [] as string[], status: "", deleted: false };
    for (const t of parseSearchQuery(url.searchParams.get("q") ?? "")) {
      if (t.key === "owner") filters.owner.push(t.value === "me" ? user.username.toLowerCase() : t.value.toLowerCase());
      else if (t.key === "name") filters.name.push(t.value.toLowerCase());
      else if (t.key === "template") filters.template.push(t.value.toLowerCase());
      else if (t.key === "status") filters.status = t.value.toLowerCase();
      else if (t.key === "deleted") filters.deleted = t.value === "true";
      else if (t.key === "") {
        const slash = t.value.indexOf("/");
        if (slash >= 0) {
          filters.owner.push(t.value.slice(0, slash).toLowerCase());
          filters.name.push(t.value.slice(slash + 1).toLowerCase());
        } else filters.name.push(t.value.toLowerCase());
      } else throw new HttpError(400, { message: "Invalid workspace search query.", validations: [{ field: t.key, detail: `Query param "${t.key}" is not a valid query param` }] });
    }
    // coderd's GetWorkspaces filters, joins the latest build and sorts in one query.
    const matching = state.query("GetWorkspaces", () => [...state.workspaces.values()].filter((ws) => {
      if (ws.deleted !== filters.deleted || !ctx.canAccessWorkspace(user, ws)) return false;
      const owner = state.users.get(ws.ownerId)!.username.toLowerCase();
      if (filters.owner.length > 0 && !filters.owner.includes(owner)) return false;
      if (filters.name.length > 0 && !filters.name.some((n) => ws.name.toLowerCase().includes(n))) return false;
      if (filters.template.length > 0 && !filters.template.includes(state.templates.get(ws.templateId)!.name.toLowerCase())) return false;
      if (filters.status) {
        const b = state.latestBuild(ws);
        if (entities.build(b).status !== filters.status) return false;
      }
      return true;
    }).sort(compareWorkspaces(state, user.id)));
    const body: WorkspacesResponse = { workspaces: page(matching, p).map((ws) => entities.workspace(ws, user.id)), count: matching.length };
    return [200, body];
  });

  ctx.addRoute("GET", "/api/v2/workspaces/{workspace}", ({ params, url, user }) => [200, entities.workspace(workspaceParam(ctx, params.workspace!, user, url), user.id)]);

  ctx.addRoute("GET", "/api/v2/users/{user}/workspace/{workspacename}", ({ params, url, user }) => {
    const owner = userParam(ctx, params.user!, user);
    const includeDeleted = url.searchParams.get("include_deleted") === "true";
    const ws = state.query("GetWorkspaceByOwnerIDAndName", () =>
      [...state.workspaces.values()]
        .filter((w) => w.ownerId === owner.id && w.name.toLowerCase() === params.workspacename!.toLowerCase() && (includeDeleted || !w.deleted))
        .sort((a, b) => cmp(b.createdAt, a.createdAt))[0],
    );
    if (!ws || !ctx.canAccessWorkspace(user, ws)) throw notFound();
    return [200, entities.workspace(ws, user.id)];
  });

  ctx.addRoute("PUT", "/api/v2/workspaces/{workspace}/favorite", ({ params, url, user, res }) => {
    const ws = workspaceParam(ctx, params.workspace!, user, url);
    if (ws.ownerId !== user.id) throw new HttpError(403, { message: "You can only favorite workspaces that you own." });
    ws.favorite = true;
    res.writeHead(204).end();
  });

  ctx.addRoute("DELETE", "/api/v2/workspaces/{workspace}/favorite", ({ params, url, user, res }) => {
    const ws = workspaceParam(ctx, params.workspace!, user, url);
    if (ws.ownerId !== user.id) throw new HttpError(403, { message: "You can only un-favorite workspaces that you own." });
    ws.favorite = false;
    res.writeHead(204).end();
  });

  ctx.addRoute("POST", "/api/v2/workspaces/{workspace}/usage", ({ params, url, user, res }) => {
    const ws = workspaceParam(ctx, params.workspace!, user, url);
    ws.lastUsedAt = new Date().toISOString();
    res.writeHead(204).end();
  });

  ctx.addRoute("POST", "/api/v2/workspaces/{workspace}/builds", async ({ req, params, url, user }) => {
    const ws = workspaceParam(ctx, params.workspace!, user, url);
    const body = await readBody<CreateBuildBody>(req, { transition: "string", template_version_id: "string", rich_parameter_values: "array", orphan: "boolean" });
    const transition = body.transition;
    if (transition !== "start" && transition !== "stop" && transition !== "delete") {
      throw validationFailed("transition", `Validation failed for tag "oneof" with value: "${transition ?? ""}"`);
    }
    const latest = state.latestBuild(ws);
    if (SimState.isActive(latest.job)) throw new HttpError(409, { message: "A workspace build is already active." });
    let versionId = latest.templateVersionId;
    if (!unset(body.template_version_id)) {
      const v = isUUID(body.template_version_id!) ? state.versions.get(body.template_version_id!.toLowerCase()) : undefined;
      if (!v || v.templateId !== ws.templateId) throw new HttpError(400, { message: "Template version not found.", validations: [{ field: "template_version_id", detail: "template version not found" }] });
      versionId = v.id;
    }
    const version = state.versions.get(versionId)!;
    const parameters = transition === "start" ? buildParameters(version, body.rich_parameter_values ?? [], latest.parameters) : latest.parameters;
    const build = state.addBuild(ws, { transition, versionId, parameters, initiator: user });
    return [201, entities.build(build)];
  });

  ctx.addRoute("GET", "/api/v2/workspaces/{workspace}/builds", ({ params, url, user }) => {
    const ws = workspaceParam(ctx, params.workspace!, user, url);
    const p = pagination(url);
    const builds: SimBuild[] = [...ws.builds].reverse();
    return [200, page(builds, p).map((b) => entities.build(b))];
  });

  ctx.addRoute("GET", "/api/v2/workspacebuilds/{workspacebuild}", ({ params, user }) => [200, entities.build(buildParam(ctx, params.workspacebuild!, user).build)]);

  ctx.addRoute("PATCH", "/api/v2/workspacebuilds/{workspacebuild}/cancel", ({ params, user }) => {
    const { build } = buildParam(ctx, params.workspacebuild!, user);
    cancelOrExplain(ctx, build.job);
    return [200, { message: "Job has been marked as canceled..." }];
  });

  ctx.addRoute("GET", "/api/v2/workspaceagents/{workspaceagent}", ({ params, user }) => {
    const agent = state.agents.get(parseUUIDParam(params.workspaceagent!, "workspaceagent"));
    const ws = agent && state.workspaces.get(agent.workspaceId);
    if (!agent || !ws || !ctx.canAccessWorkspace(user, ws)) throw notFound();
    return [200, entities.agent(agent)];
  });
}
