// Lookups shared by the REST routes: users by id/username/me, workspaces and builds with coderd's visibility rules.
import { HttpError, forbidden, isUUID, notFound, parseUUIDParam, readJSON, validationFailed } from "../http.ts";
import type { SimContext } from "../module.ts";
import type { SimBuild, SimUser, SimWorkspace } from "../records.ts";
import { parsePagination } from "./query.ts";

/** `{user}` is a UUID, a username or `me`. */
export function userParam(ctx: SimContext, value: string, caller: SimUser): SimUser {
  if (value === "me") return caller;
  const u = isUUID(value) ? ctx.state.query("GetUserByID", () => ctx.state.users.get(value.toLowerCase())) : ctx.state.userByName(value);
  if (!u || u.deleted) throw notFound();
  return u;
}

/** Site owners may act for anyone; members only for themselves. */
export function requireSelfOrOwner(ctx: SimContext, caller: SimUser, target: SimUser): void {
  if (caller.id !== target.id && !ctx.state.isOwner(caller)) throw forbidden();
}

export function requireOwner(ctx: SimContext, caller: SimUser): void {
  if (!ctx.state.isOwner(caller)) throw forbidden();
}

/** A workspace the caller may see: 404 for unknown or foreign, 410 once deleted (unless include_deleted=true). */
export function workspaceParam(ctx: SimContext, value: string, caller: SimUser, url: URL): SimWorkspace {
  const id = parseUUIDParam(value, "workspace");
  const ws = ctx.state.query("GetWorkspaceByID", () => ctx.state.workspaces.get(id));
  if (!ws || !ctx.canAccessWorkspace(caller, ws)) throw notFound();
  if (ws.deleted && url.searchParams.get("include_deleted") !== "true") {
    throw new HttpError(410, { message: `Workspace "${ws.id}" was deleted, you can view this workspace by specifying '?deleted=true' and trying again.` });
  }
  return ws;
}

export function buildParam(ctx: SimContext, value: string, caller: SimUser): { build: SimBuild; workspace: SimWorkspace } {
  const id = parseUUIDParam(value, "workspacebuild");
  const build = ctx.state.query("GetWorkspaceBuildByID", () => ctx.state.builds.get(id));
  const workspace = build && ctx.state.workspaces.get(build.workspaceId);
  if (!build || !workspace || !ctx.canAccessWorkspace(caller, workspace)) throw notFound();
  return { build, workspace };
}

export function pagination(url: URL): { limit: number; offset: number } {
  const p = parsePagination(url);
  if ("field" in p) throw new HttpError(400, { message: "Query parameters have invalid values.", validations: [p] });
  return p;
}

/** Reads a JSON body and checks field types; `spec` maps field → expected typeof. */
export async function readBody<T>(req: Parameters<typeof readJSON>[0], spec: Record<string, "string" | "number" | "boolean" | "array" | "object">): Promise<T> {
  const body = await readJSON(req);
  for (const [field, kind] of Object.entries(spec)) {
    const v = body[field];
    if (v === undefined || v === null) continue;
    const ok = kind === "array" ? Array.isArray(v) : kind === "object" ? typeof v === "object" && !Array.isArray(v) : typeof v === kind;
    if (!ok) throw new HttpError(400, { message: "Request body must be valid JSON.", detail: `json: cannot unmarshal ${Array.isArray(v) ? "array" : typeof v} into Go struct field .${field} of type ${kind}` });
  }
  return body as T;
}

/** coderd's name rule (usernames, workspace names, template names): `^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$`, 1..32 characters. */
export const NAME_RE = /^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$/;

export function checkName(field: string, tag: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) throw validationFailed(field, `Validation failed for tag "required" with value: "${String(value ?? "")}"`);
  if (value.length > 32 || !NAME_RE.test(value)) throw validationFailed(field, `Validation failed for tag "${tag}" with value: "${value}"`);
  return value;
}
