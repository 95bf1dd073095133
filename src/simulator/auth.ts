// Session-token authentication as coderd does it: cookie, then query parameter, then header; 401 bodies match coderd's.
import type { IncomingMessage } from "node:http";
import { HttpError } from "./http.ts";
import type { SimState } from "./state.ts";
import type { SimUser } from "./records.ts";

/** Cookie value by name from a raw Cookie header. */
export function cookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** The session token a request carries, in coderd's order (cookie, query, header, then `extraCookies`). */
export function requestToken(req: IncomingMessage, url: URL, extraCookies: readonly string[] = []): string | undefined {
  const fromCookie = cookie(req, "coder_session_token");
  if (fromCookie) return fromCookie;
  const fromQuery = url.searchParams.get("coder_session_token");
  if (fromQuery) return fromQuery;
  const header = req.headers["coder-session-token"];
  if (typeof header === "string" && header) return header;
  for (const name of extraCookies) {
    const v = cookie(req, name);
    if (v) return v;
  }
  return undefined;
}

/** coderd's httpmw.SignedOutErrorMessage. */
export const SIGNED_OUT_MESSAGE = "You are signed out or your session has expired. Please sign in again to continue.";
export const SESSION_COOKIE = "coder_session_token";

/** Resolves the caller or throws coderd's 401. */
export function authenticate(state: SimState, req: IncomingMessage, url: URL): SimUser {
  // coderd's order: cookie, query parameter, header.
  const token = requestToken(req, url) ?? "";
  if (!token) throw new HttpError(401, { message: SIGNED_OUT_MESSAGE, detail: `Cookie "${SESSION_COOKIE}" or query parameter must be provided.` });
  const parts = token.split("-");
  let problem = "";
  if (parts.length !== 2) problem = `incorrect amount of API key parts, expected 2 got ${parts.length}`;
  else if (parts[0]!.length !== 10) problem = `invalid API key ID length, expected 10 got ${parts[0]!.length}`;
  else if (parts[1]!.length !== 22) problem = `invalid API key secret length, expected 22 got ${parts[1]!.length}`;
  if (problem) throw new HttpError(401, { message: SIGNED_OUT_MESSAGE, detail: `Invalid API key format: ${problem}` });
  const key = state.query("GetAPIKeyByID", () => state.apiKeys.get(parts[0]!));
  if (!key) throw new HttpError(401, { message: SIGNED_OUT_MESSAGE, detail: "API key is invalid." });
  if (key.secret !== parts[1]) throw new HttpError(401, { message: SIGNED_OUT_MESSAGE, detail: "API key secret is invalid." });
  if (key.expiresAt <= Date.now()) throw new HttpError(401, { message: SIGNED_OUT_MESSAGE, detail: `API key expired at "${new Date(key.expiresAt).toISOString()}".` });
  const user = state.query("GetUserByID", () => state.users.get(key.userId));
  if (!user || user.deleted) throw new HttpError(401, { message: SIGNED_OUT_MESSAGE, detail: "API key is invalid." });
  if (user.status === "suspended") throw new HttpError(401, { message: "Your account is suspended. Contact an admin to reactivate your account." });
  return user;
}

/** Like authenticate, but null instead of a 401 (for modules that answer 404 to strangers). */
export function tryAuthenticate(state: SimState, req: IncomingMessage, url: URL): SimUser | null {
  try {
    return authenticate(state, req, url);
  } catch {
    return null;
  }
}
