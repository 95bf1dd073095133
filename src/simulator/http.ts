// HTTP plumbing for the simulator: coderd-style error bodies, JSON I/O and a small route-pattern router.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApiResponse } from "../coder/types.ts";

/** Version string sent in X-Coder-Build-Version and /buildinfo. */
export const SIM_VERSION = "v2.16.0+sim";

/** A coderd-style failure: the handler throws it, the server writes `{message, detail?, validations?}`. */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  readonly body: ApiResponse;
  constructor(status: number, body: ApiResponse) {
    super(body.message);
    this.status = status;
    this.body = body;
  }
}

/** coderd's httpapi.ResourceNotFound body. */
export const notFound = (): HttpError => new HttpError(404, { message: "Resource not found or you do not have access to this resource" });

/** coderd's httpapi.Forbidden body. */
export const forbidden = (): HttpError =>
  new HttpError(403, {
    message: "Forbidden.",
    detail: "You don't have permission to view this content. If you believe this is a mistake, please contact your administrator or try signing in with different credentials.",
  });

/** coderd's validation failure body (httpapi.Read with a failing validate tag). */
export function validationFailed(field: string, detail: string): HttpError {
  return new HttpError(400, { message: "Validation failed.", validations: [{ field, detail }] });
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a canonical UUID string. */
export function isUUID(s: string): boolean {
  return UUID_RE.test(s);
}

/** Parses a UUID path parameter as coderd's httpmw does: 400 "Invalid UUID" otherwise. */
export function parseUUIDParam(value: string, name: string): string {
  if (!isUUID(value)) throw new HttpError(400, { message: `Invalid UUID "${value}".`, detail: `invalid UUID length: ${value.length}`, validations: [{ field: name, detail: "must be a valid UUID" }] });
  return value.toLowerCase();
}

/** Writes a JSON body with coderd's headers. */
export function sendJSON(res: ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a request body up to `limit` bytes. */
export async function readRaw(req: IncomingMessage, limit = 10 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, { message: "Request body too large.", detail: `limit is ${limit} bytes` });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Reads and parses a JSON object body; coderd answers 400 on malformed JSON. */
export async function readJSON(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readRaw(req);
  if (raw.length === 0) return {};
  try {
    const v: unknown = JSON.parse(raw.toString("utf8"));
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("body must be a JSON object");
    return v as Record<string, unknown>;
  } catch (err) {
    throw new HttpError(400, { message: "Request body must be valid JSON.", detail: err instanceof Error ? err.message : String(err) });
  }
}

/** Everything a route handler gets. `user` is set for authenticated routes. */
export interface RouteRequest<U = unknown> {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  /** The route pattern, e.g. `/api/v2/workspaces/{workspace}` (the metrics `path` label). */
  route: string;
  user: U;
}

/** A handler returns [status, body] to send JSON, or undefined when it wrote the response itself. */
export type RouteHandler<U = unknown> = (r: RouteRequest<U>) => Promise<[number, unknown] | void> | [number, unknown] | void;

export interface RouteOptions {
  /** false for routes coderd serves without a session (buildinfo, login, appearance). Default true. */
  auth?: boolean;
}

interface Route<U> {
  method: string;
  pattern: string;
  regex: RegExp;
  keys: string[];
  handler: RouteHandler<U>;
  auth: boolean;
}

/** Matches `{name}` placeholders against one path segment each, like chi. */
export class Router<U = unknown> {
  private readonly routes: Route<U>[] = [];

  add(method: string, pattern: string, handler: RouteHandler<U>, opts: RouteOptions = {}): void {
    const keys: string[] = [];
    const source = pattern.replace(/[.+?^$()[\]\\|]/g, "\\$&").replace(/\{([a-zA-Z_]+)\}/g, (_m, key: string) => {
      keys.push(key);
      return "([^/]+)";
    });
    this.routes.push({ method, pattern, regex: new RegExp(`^${source}/?$`), keys, handler, auth: opts.auth ?? true });
  }

  /** The route for (method, path); `methodNotAllowed` when only the path matches. */
  match(method: string, path: string): { route: Route<U>; params: Record<string, string> } | { methodNotAllowed: true; pattern: string } | null {
    let pathOnly: string | null = null;
    for (const route of this.routes) {
      const m = route.regex.exec(path);
      if (!m) continue;
      if (route.method !== method) {
        pathOnly ??= route.pattern;
        continue;
      }
      const params: Record<string, string> = {};
      route.keys.forEach((k, i) => {
        params[k] = decodeURIComponent(m[i + 1]!);
      });
      return { route, params };
    }
    return pathOnly ? { methodNotAllowed: true, pattern: pathOnly } : null;
  }
}
