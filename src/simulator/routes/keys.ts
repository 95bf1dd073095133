// API-key routes a Coder client calls around login: the caller's tokens, one key by id, and key deletion.
import type { SimContext } from "../module.ts";
import type { SimApiKey, SimUser } from "../records.ts";
import { notFound } from "../http.ts";
import { userParam } from "./lookup.ts";

/** codersdk.APIKeyWithOwner: coderd's convertAPIKey plus the owner's username. */
function apiKeyJSON(key: SimApiKey, owner: SimUser | undefined) {
  return {
    id: key.id,
    user_id: key.userId,
    last_used: key.lastUsed,
    expires_at: new Date(key.expiresAt).toISOString(),
    created_at: key.createdAt,
    updated_at: key.createdAt,
    login_type: key.loginType,
    scope: key.scope,
    token_name: key.tokenName,
    lifetime_seconds: key.lifetimeSeconds,
    username: owner?.username ?? "",
  };
}

export function registerKeyRoutes(ctx: SimContext): void {
  const { state } = ctx;
  // dbauthz filters what the caller may read: an owner reads every key, a member only their own.
  const readable = (caller: SimUser, key: SimApiKey) => state.isOwner(caller) || key.userId === caller.id;

  // coderd's `tokens`: the user's token-login keys, or every user's with include_all=true; never 403, just filtered.
  ctx.addRoute("GET", "/api/v2/users/{user}/keys/tokens", ({ params, url, user: caller }) => {
    const target = userParam(ctx, params.user!, caller);
    const includeAll = ["1", "t", "true", "TRUE", "True"].includes(url.searchParams.get("include_all") ?? "");
    const keys = state.query("GetAPIKeysByUserID", () =>
      [...state.apiKeys.values()].filter((k) => k.loginType === "token" && (includeAll || k.userId === target.id) && readable(caller, k)),
    );
    return [200, keys.map((k) => apiKeyJSON(k, state.users.get(k.userId)))];
  });

  ctx.addRoute("GET", "/api/v2/users/{user}/keys/{keyid}", ({ params, user: caller }) => {
    userParam(ctx, params.user!, caller);
    const key = state.query("GetAPIKeyByID", () => state.apiKeys.get(params.keyid!));
    if (!key || !readable(caller, key)) throw notFound();
    const { username: _owner, ...body } = apiKeyJSON(key, undefined);
    return [200, body];
  });

  // coderd's `deleteAPIKey`: 204 with no body; a key the caller may not touch is as absent as an unknown one (404).
  ctx.addRoute("DELETE", "/api/v2/users/{user}/keys/{keyid}", ({ params, user: caller, res }) => {
    const target = userParam(ctx, params.user!, caller);
    const key = state.apiKeys.get(params.keyid!);
    if (!key || key.userId !== target.id || !readable(caller, key)) throw notFound();
    state.query("DeleteAPIKeyByID", () => state.apiKeys.delete(key.id));
    res.writeHead(204).end();
  });
}
