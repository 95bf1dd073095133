// User, login, organization and API-token routes with coderd's status codes and messages.
import type { CreateTokenRequest, GetUsersResponse } from "../../coder/types.ts";
import { HttpError, isUUID, notFound, validationFailed } from "../http.ts";
import type { SimContext } from "../module.ts";
import { randomName, type SimUser } from "../records.ts";
import { checkName, pagination, readBody, requireOwner, requireSelfOrOwner, userParam } from "./lookup.ts";
import { page, parseSearchQuery } from "./query.ts";

/** Default lifetime of a password-login session (24 h) and the deployment's max token lifetime (876600 h). */
const SESSION_LIFETIME_MS = 24 * 3600_000;
const MAX_TOKEN_LIFETIME_MS = 876_600 * 3600_000;
const DEFAULT_TOKEN_LIFETIME_MS = 30 * 24 * 3600_000;
const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;

const CHAR_CLASSES: Array<[RegExp, number]> = [
  [/[a-z]/, 26],
  [/[A-Z]/, 26],
  [/[0-9]/, 10],
  [/[!@$&*]/, 5],
  [/[_\-., ]/, 5],
  [/["#%'()+/:;<=>?[\]^{|}~]/, 24],
];

/** coderd's password rule (go-password-validator, 52 bits of entropy, at most 64 characters); null when fine. */
export function passwordProblem(password: string): string | null {
  if (password.length > 64) return "password must be no more than 64 characters";
  const base = CHAR_CLASSES.reduce((sum, [re, n]) => sum + (re.test(password) ? n : 0), 0);
  // Runs of one character count at most twice.
  const length = password.replace(/(.)\1{2,}/g, "$1$1").length;
  const bits = base > 0 ? Math.log2(base) * length : 0;
  if (bits < 52) return "insecure password, try including more special characters, using uppercase letters, using numbers or using a longer password";
  return null;
}

export function registerUserRoutes(ctx: SimContext): void {
  const { state, entities } = ctx;

  ctx.addRoute("POST", "/api/v2/users/login", async ({ req }) => {
    const body = await readBody<{ email?: string; password?: string }>(req, { email: "string", password: "string" });
    if (!body.email || !EMAIL_RE.test(body.email)) throw validationFailed("email", `Validation failed for tag "email" with value: "${body.email ?? ""}"`);
    const user = state.userByEmail(body.email);
    if (!user || user.password === "" || user.password !== body.password) throw new HttpError(401, { message: "Incorrect email or password." });
    if (user.status === "suspended") throw new HttpError(401, { message: "Your account is suspended. Contact an admin to reactivate your account." });
    return [201, { session_token: state.addApiKey(user.id, { lifetimeMs: SESSION_LIFETIME_MS, loginType: "password" }) }];
  }, { auth: false });

  ctx.addRoute("POST", "/api/v2/users", async ({ req, user: caller }) => {
    requireOwner(ctx, caller);
    const body = await readBody<{ email?: string; username?: string; name?: string; password?: string; login_type?: string; organization_ids?: string[]; organization_id?: string }>(req, {
      email: "string",
      username: "string",
      name: "string",
      password: "string",
      login_type: "string",
      organization_ids: "array",
      organization_id: "string",
    });
    const username = checkName("username", "username", body.username);
    if (!body.email || !EMAIL_RE.test(body.email)) throw validationFailed("email", `Validation failed for tag "email" with value: "${body.email ?? ""}"`);
    const orgIds = [...(body.organization_ids ?? [])];
    if (body.organization_id && !orgIds.includes(body.organization_id)) orgIds.push(body.organization_id);
    if (orgIds.length === 0) {
      throw new HttpError(400, { message: "No organization specified to place the user as a member of. It is required to specify at least one organization id to place the user in." });
    }
    for (const id of orgIds) {
      if (!state.organizations.has(String(id).toLowerCase())) throw new HttpError(404, { message: `Organization does not exist with the provided id "${id}".` });
    }
    const loginType = body.login_type || "password";
    if (loginType !== "password" && loginType !== "none") throw validationFailed("login_type", `Validation failed for tag "oneof" with value: "${loginType}"`);
    if (state.userByName(username) || state.userByEmail(body.email)) throw new HttpError(409, { message: "User already exists." });
    if (loginType === "password") {
      const problem = passwordProblem(body.password ?? "");
      if (problem) throw new HttpError(400, { message: "Password not strong enough!", validations: [{ field: "password", detail: problem }] });
    }
    const user = state.addUser({ username, email: body.email, name: body.name ?? "", password: loginType === "password" ? body.password! : "", organizationIds: orgIds.map((o) => o.toLowerCase()), loginType: loginType as "password" | "none" });
    return [201, entities.user(user)];
  });

  ctx.addRoute("GET", "/api/v2/users", ({ url }) => {
    const p = pagination(url);
    let search = "";
    let status = "";
    for (const t of parseSearchQuery(url.searchParams.get("q") ?? "")) {
      if (t.key === "" || t.key === "search") search = t.value.toLowerCase();
      else if (t.key === "status") status = t.value.toLowerCase();
      else throw new HttpError(400, { message: "Invalid user search query.", validations: [{ field: t.key, detail: `Query param "${t.key}" is not a valid query param` }] });
    }
    const matching = state.query("GetUsers", () =>
      [...state.users.values()]
        .filter((u) => !u.deleted && (!search || u.username.toLowerCase().includes(search) || u.email.toLowerCase().includes(search)) && (!status || u.status === status))
        .sort((a, b) => cmp(a.username.toLowerCase(), b.username.toLowerCase())),
    );
    const body: GetUsersResponse = { users: page(matching, p).map((u) => entities.user(u)), count: matching.length };
    return [200, body];
  });

  ctx.addRoute("GET", "/api/v2/users/{user}", ({ params, user }) => [200, entities.user(userParam(ctx, params.user!, user))]);

  ctx.addRoute("DELETE", "/api/v2/users/{user}", ({ params, user: caller }) => {
    requireOwner(ctx, caller);
    const target = userParam(ctx, params.user!, caller);
    if (target.id === caller.id) throw new HttpError(403, { message: "You cannot delete yourself!" });
    if (state.ownsWorkspaces(target.id)) throw new HttpError(417, { message: "You cannot delete a user that has workspaces. Delete their workspaces and try again!" });
    target.deleted = true;
    target.updatedAt = new Date().toISOString();
    for (const [id, key] of state.apiKeys) if (key.userId === target.id) state.apiKeys.delete(id);
    return [200, { message: "User has been deleted!" }];
  });

  ctx.addRoute("GET", "/api/v2/users/{user}/organizations", ({ params, user: caller }) => {
    const target = userParam(ctx, params.user!, caller);
    requireSelfOrOwner(ctx, caller, target);
    return [200, target.organizationIds.map((id) => state.organizations.get(id)).filter((o) => o !== undefined).map((o) => entities.organization(o))];
  });

  // coderd lists the organizations the caller may read: every one for an owner, a member's own otherwise.
  ctx.addRoute("GET", "/api/v2/organizations", ({ user }) => {
    const visible = [...state.organizations.values()].filter((o) => state.isOwner(user) || user.organizationIds.includes(o.id));
    return [200, visible.sort((a, b) => cmp(a.createdAt, b.createdAt)).map((o) => entities.organization(o))];
  });

  ctx.addRoute("GET", "/api/v2/organizations/{organization}", ({ params, user }) => [200, entities.organization(orgParam(ctx, params.organization!, user))]);

  ctx.addRoute("POST", "/api/v2/users/{user}/keys/tokens", async ({ req, params, user: caller }) => {
    const target = userParam(ctx, params.user!, caller);
    requireSelfOrOwner(ctx, caller, target);
    const body = await readBody<Partial<CreateTokenRequest>>(req, { lifetime: "number", scope: "string", token_name: "string" });
    const scope = body.scope ?? "";
    if (scope !== "" && scope !== "all" && scope !== "application_connect") throw validationFailed("scope", `Validation failed for tag "oneof" with value: "${scope}"`);
    const lifetimeNs = body.lifetime ?? 0;
    if (lifetimeNs < 0 || lifetimeNs / 1e6 > MAX_TOKEN_LIFETIME_MS) {
      throw new HttpError(400, { message: "Failed to validate create API key request.", detail: `lifetime must be positive and at most the maximum token lifetime of 876600h0m0s` });
    }
    const name = body.token_name || randomName(Math.random);
    for (const key of state.apiKeys.values()) {
      if (key.userId === target.id && key.loginType === "token" && key.tokenName === name) throw new HttpError(409, { message: `A token with name "${name}" already exists.` });
    }
    const key = state.addApiKey(target.id, {
      tokenName: name,
      lifetimeMs: lifetimeNs > 0 ? lifetimeNs / 1e6 : DEFAULT_TOKEN_LIFETIME_MS,
      loginType: "token",
      scope: scope === "application_connect" ? scope : "all",
    });
    return [201, { key }];
  });

  ctx.addRoute("POST", "/api/v2/users/{user}/keys", ({ params, user: caller }) => {
    const target = userParam(ctx, params.user!, caller);
    requireSelfOrOwner(ctx, caller, target);
    return [201, { key: state.addApiKey(target.id, { lifetimeMs: SESSION_LIFETIME_MS, loginType: "password" }) }];
  });
}

/** `{organization}` is a UUID, a name or `default`; members see only their own organizations. */
export function orgParam(ctx: SimContext, value: string, caller: SimUser) {
  let org;
  if (isUUID(value)) org = ctx.state.organizations.get(value.toLowerCase());
  else for (const o of ctx.state.organizations.values()) if (o.name === value || (value === "default" && o.isDefault)) org = o;
  if (!org) throw notFound();
  if (!ctx.state.isOwner(caller) && !caller.organizationIds.includes(org.id)) throw notFound();
  return org;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
