// Typed REST client for the coderd endpoints the runner uses: fetch + session token header, a deadline on every
// request, bounded retries of transient failures.
import WebSocket from "ws";
import { sleep, timeoutSignal } from "../util/abort.ts";
import { redact, registerSecret } from "../errors.ts";
import { CoderApiError, CoderConnectionError, CoderTimeoutError, isTransientStatus } from "./errors.ts";
import { backoff, connectionErrorCode, isRefused, isTransientConnectionError, retryAfterMs, teeRetry, type OnRetry } from "./retry.ts";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "./headers.ts";
import { apiUrl, buildLogsUrl } from "./urls.ts";
import type {
  ApiResponse,
  AppHostResponse,
  BuildInfoResponse,
  CreateTokenRequest,
  CreateUserRequest,
  CreateWorkspaceBuildRequest,
  CreateWorkspaceRequest,
  GenerateAPIKeyResponse,
  GetUsersResponse,
  LoginWithPasswordRequest,
  LoginWithPasswordResponse,
  Organization,
  ProvisionerJobLog,
  Template,
  TemplateVersion,
  TemplateVersionParameter,
  User,
  Workspace,
  WorkspaceAgent,
  WorkspaceBuild,
  WorkspacesResponse,
} from "./types.ts";

/** Options every call accepts. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Retry policy for transient answers. Delays in milliseconds. */
export interface RetryOptions {
  /** Extra attempts of any request after a 5xx or a dropped connection (default 0: fail at once). */
  retries5xx?: number;
  /** Extra attempts of an idempotent request (GET, HEAD) after a 5xx or a dropped connection (default 4). */
  retriesIdempotent?: number;
  /**
   * How long a refused connection (nothing reached the server, e.g. coderd restarting) is retried, whatever the
   * method, from the first refusal (default 0: counted like other failures). The caller's signal still ends it.
   * Kept by `withRetry` unless the new policy sets it: a command sets it once on its deployment client.
   */
  refusedWindowMs?: number;
  /** Extra attempts after a 429 (default 5); Retry-After is honoured up to maxDelayMs. */
  retries429?: number;
  /** First backoff delay (default 250); doubles per attempt with full jitter. */
  baseDelayMs?: number;
  /** Upper bound of one backoff delay (default 30000). */
  maxDelayMs?: number;
}

export interface CoderClientOptions {
  /** Deployment URL, e.g. https://coder.example.com */
  url: string | URL;
  /** Session or API token; sent as the Coder-Session-Token header. */
  token?: string;
  retry?: RetryOptions;
  /** Send X-Coder-Bypass-Ratelimit (owners only; as the Go runner's admin client does). */
  bypassRateLimit?: boolean;
  /** Extra headers sent with every request and WebSocket (`--header`, `--header-command`); values are secrets. */
  headers?: Record<string, string>;
  /** CODER_HEADER / CODER_HEADER_COMMAND for a child `coder` CLI, so it sends the same headers. */
  headerEnv?: Record<string, string>;
  /** Deadline of each request attempt, headers and body (default 30000; 0 = none). */
  requestTimeoutMs?: number;
  /** Called before each retry (the retries counter). */
  onRetry?: OnRetry;
}

export interface RequestOptions extends CallOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** Accepted success statuses (default: any 2xx). */
  expect?: number[];
}

const USER_AGENT = "scaletest-runner";

/** The coderd REST client. Immutable: withToken/withRetry return new clients. */
export class CoderClient {
  readonly url: URL;
  readonly token: string | undefined;
  private readonly opts: CoderClientOptions;

  constructor(opts: CoderClientOptions) {
    this.url = new URL(opts.url);
    if (this.url.protocol !== "http:" && this.url.protocol !== "https:") {
      throw new Error(`validate url: must be an http or https URL, got "${this.url.protocol}"`);
    }
    this.token = opts.token;
    registerSecret(opts.token);
    this.opts = opts;
  }

  /** The same settings with another identity. */
  withToken(token: string): CoderClient {
    return new CoderClient({ ...this.opts, token, bypassRateLimit: false });
  }

  /** The same settings with another retry policy. */
  withRetry(retry: RetryOptions): CoderClient {
    return new CoderClient({ ...this.opts, retry: { refusedWindowMs: this.opts.retry?.refusedWindowMs, ...retry } });
  }

  /** The same settings, with `hook` also called before each retry (after the client's own `onRetry`). */
  withRetryHook(hook: OnRetry): CoderClient {
    return new CoderClient({ ...this.opts, onRetry: teeRetry(this.opts.onRetry, hook) });
  }

  /** The `--header` / `--header-command` headers (secret values). */
  get extraHeaders(): Readonly<Record<string, string>> {
    return this.opts.headers ?? {};
  }

  /** The connection settings a dial or a child shares with this client: extra headers, child env, deadline, retry hook. */
  get connection(): { headers: Readonly<Record<string, string>>; headerEnv: Readonly<Record<string, string>>; requestTimeoutMs: number; onRetry?: OnRetry } {
    return { headers: this.extraHeaders, headerEnv: this.opts.headerEnv ?? {}, requestTimeoutMs: this.requestTimeoutMs, onRetry: this.opts.onRetry };
  }

  private get requestTimeoutMs(): number {
    return this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** Headers for a WebSocket dial as this client's identity: the extra headers, then the session token (and bypass). */
  dialHeaders(): Record<string, string> {
    const h: Record<string, string> = { "User-Agent": USER_AGENT, ...this.opts.headers };
    if (this.token) h["Coder-Session-Token"] = this.token;
    if (this.opts.bypassRateLimit) h["X-Coder-Bypass-Ratelimit"] = "true";
    return h;
  }

  private headers(hasBody: boolean): Record<string, string> {
    const h: Record<string, string> = { Accept: "application/json", "User-Agent": USER_AGENT, ...this.opts.headers };
    if (hasBody) h["Content-Type"] = "application/json";
    if (this.token) h["Coder-Session-Token"] = this.token;
    if (this.opts.bypassRateLimit) h["X-Coder-Bypass-Ratelimit"] = "true";
    return h;
  }

  /**
   * One API call with retries; throws CoderApiError for non-success statuses, CoderTimeoutError when an attempt
   * gets no complete answer within the request deadline, CoderConnectionError when the deployment cannot be reached.
   * Retried: 429 (Retry-After honoured), and for idempotent calls (or with `retries5xx`) 5xx and broken
   * connections; a refused connection for any method inside `refusedWindowMs`. A timeout is not retried: a
   * deployment that does not answer ends the call within the deadline.
   */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const res = await this.send(method, path, { ...opts, body, contentType: body === undefined ? undefined : "application/json" });
    const ok = opts.expect ? opts.expect.includes(res.status) : res.status >= 200 && res.status < 300;
    if (!ok) throw await this.apiError(method, res, new URL(res.url || apiUrl(this.url, path)).pathname);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A raw-body request (tar upload and download) with this client's headers, deadline and retries; a non-2xx
   * answer is thrown as CoderApiError. The deadline covers the whole answer (it is buffered before returning).
   */
  async fetchRaw(method: string, path: string, opts: CallOptions & { body?: Uint8Array; contentType?: string } = {}): Promise<Response> {
    const res = await this.send(method, path, opts);
    if (res.status >= 200 && res.status < 300) return res;
    throw await this.apiError(method, res, apiUrl(this.url, path).pathname);
  }

  private async apiError(method: string, res: Response, pathname: string): Promise<CoderApiError> {
    const text = await res.text().catch(() => "");
    let parsed: Partial<ApiResponse> | undefined;
    try {
      parsed = text ? (JSON.parse(text) as Partial<ApiResponse>) : undefined;
    } catch {
      parsed = undefined;
    }
    return new CoderApiError({ status: res.status, method, path: pathname, body: parsed, text: parsed ? undefined : redact(text) });
  }

  /** Sends with retries; returns the final answer (success or not) with its body buffered, or throws a connection/timeout error. */
  private async send(
    method: string,
    path: string,
    opts: RequestOptions & { body?: string | Uint8Array; contentType?: string },
  ): Promise<Response> {
    const url = apiUrl(this.url, path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const retry = this.opts.retry ?? {};
    const idempotent = method === "GET" || method === "HEAD";
    const maxTransient = Math.max(retry.retries5xx ?? 0, idempotent ? (retry.retriesIdempotent ?? 4) : 0);
    const max429 = retry.retries429 ?? 5;
    const base = retry.baseDelayMs ?? 250;
    const cap = retry.maxDelayMs ?? 30_000;
    const refusedWindow = retry.refusedWindowMs ?? 0;
    const headers = this.headers(opts.body !== undefined);
    if (opts.contentType) headers["Content-Type"] = opts.contentType;
    let transient = 0;
    let tries429 = 0;
    let firstRefusal: number | undefined;
    const retryAfter = async (attempt: number, reason: string, delayMs: number) => {
      this.opts.onRetry?.({ kind: "rest", reason, attempt });
      await sleep(Math.min(cap, delayMs), opts.signal);
    };
    for (let attempt = 0; ; attempt++) {
      opts.signal?.throwIfAborted();
      const timeoutMs = this.requestTimeoutMs;
      const deadline = timeoutMs > 0 ? timeoutSignal(timeoutMs) : undefined;
      const signal = deadline && opts.signal ? AbortSignal.any([opts.signal, deadline]) : (deadline ?? opts.signal);
      let res: Response;
      try {
        res = await fetch(url, { method, headers, body: opts.body as BodyInit | undefined, signal, redirect: "manual" });
        // Buffer the body inside the deadline: a server that sends headers and then stalls is as silent as one that sends nothing.
        const buffered = new Uint8Array(await res.arrayBuffer());
        res = new Response(res.status === 204 || res.status === 205 || res.status === 304 ? null : buffered, { status: res.status, statusText: res.statusText, headers: res.headers });
        Object.defineProperty(res, "url", { value: url.toString() });
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        if (deadline?.aborted) throw new CoderTimeoutError(method, url.pathname, timeoutMs);
        if (isRefused(err) && refusedWindow > 0) {
          firstRefusal ??= Date.now();
          if (Date.now() - firstRefusal < refusedWindow) {
            await retryAfter(attempt + 1, "ECONNREFUSED", backoff(base, Math.min(cap, 5_000), attempt));
            continue;
          }
        } else if (isTransientConnectionError(err) && transient++ < maxTransient) {
          await retryAfter(attempt + 1, connectionErrorCode(err) || "connection", backoff(base, cap, attempt));
          continue;
        }
        throw new CoderConnectionError(method, url.pathname, err);
      }
      firstRefusal = undefined;
      if (isTransientStatus(res.status) && !(opts.expect?.includes(res.status) ?? false)) {
        const is429 = res.status === 429;
        if (is429 ? tries429++ < max429 : transient++ < maxTransient) {
          const after = retryAfterMs(res.headers.get("retry-after"));
          await retryAfter(attempt + 1, String(res.status), after ?? backoff(base, cap, attempt));
          continue;
        }
      }
      return res;
    }
  }

  // --- deployment ---
  buildInfo(o?: CallOptions) {
    return this.request<BuildInfoResponse>("GET", "/api/v2/buildinfo", o);
  }
  appHost(o?: CallOptions) {
    return this.request<AppHostResponse>("GET", "/api/v2/applications/host", o);
  }
  deploymentConfig(o?: CallOptions) {
    return this.request<{ config: Record<string, unknown>; options?: unknown[] }>("GET", "/api/v2/deployment/config", o);
  }

  // --- users ---
  me(o?: CallOptions) {
    return this.user("me", o);
  }
  user(idOrName: string, o?: CallOptions) {
    return this.request<User>("GET", `/api/v2/users/${enc(idOrName)}`, o);
  }
  organization(id: string, o?: CallOptions) {
    return this.request<Organization>("GET", `/api/v2/organizations/${enc(id)}`, o);
  }
  createUser(req: CreateUserRequest, o?: CallOptions) {
    registerSecret(req.password);
    return this.request<User>("POST", "/api/v2/users", { ...o, body: req, expect: [201] });
  }
  async login(req: LoginWithPasswordRequest, o?: CallOptions) {
    registerSecret(req.password);
    const res = await this.request<LoginWithPasswordResponse>("POST", "/api/v2/users/login", { ...o, body: req, expect: [201] });
    registerSecret(res.session_token);
    return res;
  }
  users(q: { q?: string; limit?: number; offset?: number }, o?: CallOptions) {
    return this.request<GetUsersResponse>("GET", "/api/v2/users", { ...o, query: { q: q.q, limit: q.limit, offset: q.offset || undefined } });
  }
  /** Every user matching `q`: pages of 100 until an empty page, as the Go runner does. */
  allUsers(q: string, o?: CallOptions): Promise<User[]> {
    return allPages(async (offset) => (await this.users({ q, limit: PAGE_SIZE, offset }, o)).users);
  }
  deleteUser(id: string, o?: CallOptions) {
    return this.request<unknown>("DELETE", `/api/v2/users/${enc(id)}`, { ...o, expect: [200, 204] });
  }
  async createToken(user: string, req: CreateTokenRequest, o?: CallOptions) {
    const res = await this.request<GenerateAPIKeyResponse>("POST", `/api/v2/users/${enc(user)}/keys/tokens`, { ...o, body: req, expect: [200, 201] });
    registerSecret(res.key);
    return res;
  }

  // --- templates ---
  templatesByOrganization(orgId: string, o?: CallOptions) {
    return this.request<Template[]>("GET", `/api/v2/organizations/${enc(orgId)}/templates`, o);
  }
  template(id: string, o?: CallOptions) {
    return this.request<Template>("GET", `/api/v2/templates/${enc(id)}`, o);
  }
  /** A template by UUID, or by exact name in the caller's organizations in order (as the coder CLI resolves --template). */
  async resolveTemplate(nameOrId: string, o?: CallOptions): Promise<Template> {
    if (UUID_RE.test(nameOrId) && !/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(nameOrId)) return this.template(nameOrId, o);
    const me = await this.me(o);
    for (const org of me.organization_ids) {
      const found = (await this.templatesByOrganization(org, o)).find((t) => t.name === nameOrId);
      if (found) return found;
    }
    throw new Error(`could not find template "${nameOrId}" in any organization`);
  }
  templateVersion(id: string, o?: CallOptions) {
    return this.request<TemplateVersion>("GET", `/api/v2/templateversions/${enc(id)}`, o);
  }
  templateVersionRichParameters(id: string, o?: CallOptions) {
    return this.request<TemplateVersionParameter[]>("GET", `/api/v2/templateversions/${enc(id)}/rich-parameters`, o);
  }
  templateVersionExternalAuth(id: string, o?: CallOptions) {
    return this.request<{ id: string; authenticated: boolean; optional?: boolean; authenticate_url: string }[]>(
      "GET",
      `/api/v2/templateversions/${enc(id)}/external-auth`,
      o,
    );
  }

  // --- workspaces and builds ---
  createWorkspace(userId: string, req: CreateWorkspaceRequest, o?: CallOptions) {
    return this.request<Workspace>("POST", `/api/v2/users/${enc(userId)}/workspaces`, { ...o, body: req, expect: [201] });
  }
  workspace(id: string, o?: CallOptions & { includeDeleted?: boolean }) {
    return this.request<Workspace>("GET", `/api/v2/workspaces/${enc(id)}`, { ...o, query: { include_deleted: o?.includeDeleted ? "true" : undefined } });
  }
  workspaceByOwnerAndName(owner: string, name: string, o?: CallOptions) {
    return this.request<Workspace>("GET", `/api/v2/users/${enc(owner)}/workspace/${enc(name)}`, o);
  }
  workspaces(q: { q?: string; limit?: number; offset?: number }, o?: CallOptions) {
    return this.request<WorkspacesResponse>("GET", "/api/v2/workspaces", { ...o, query: { q: q.q, limit: q.limit, offset: q.offset || undefined } });
  }
  /** Every workspace matching `q`: pages of 100 until an empty page, as the coder CLI lists them. */
  allWorkspaces(q: string, o?: CallOptions): Promise<Workspace[]>;
  /** With `keep`: what each page keeps of its workspaces (undefined drops one), taken while the page is fresh. */
  allWorkspaces<T>(q: string, o: CallOptions | undefined, keep: (w: Workspace) => T | undefined): Promise<T[]>;
  allWorkspaces<T>(q: string, o?: CallOptions, keep?: (w: Workspace) => T | undefined): Promise<(T | Workspace)[]> {
    return allPages(async (offset) => (await this.workspaces({ q, limit: PAGE_SIZE, offset }, o)).workspaces, keep);
  }
  workspaceBuild(id: string, o?: CallOptions) {
    return this.request<WorkspaceBuild>("GET", `/api/v2/workspacebuilds/${enc(id)}`, o);
  }
  createWorkspaceBuild(workspaceId: string, req: CreateWorkspaceBuildRequest, o?: CallOptions) {
    return this.request<WorkspaceBuild>("POST", `/api/v2/workspaces/${enc(workspaceId)}/builds`, { ...o, body: req, expect: [201] });
  }
  cancelWorkspaceBuild(id: string, o?: CallOptions) {
    return this.request<ApiResponse>("PATCH", `/api/v2/workspacebuilds/${enc(id)}/cancel`, { ...o, expect: [200] });
  }
  workspaceAgent(id: string, o?: CallOptions) {
    return this.request<WorkspaceAgent>("GET", `/api/v2/workspaceagents/${enc(id)}`, o);
  }

  /**
   * Follows a build's logs over the WebSocket until the server closes it (normally when the job ends).
   * Resolves with the last log id seen; rejects with CoderApiError when the upgrade is refused.
   */
  followBuildLogs(buildId: string, opts: CallOptions & { after?: number; onLog?: (log: ProvisionerJobLog) => void } = {}): Promise<{ lastId: number; code: number }> {
    const url = buildLogsUrl(this.url, buildId, opts.after);
    return new Promise((resolve, reject) => {
      const signal = opts.signal;
      if (signal?.aborted) return reject(signal.reason);
      const headers: Record<string, string> = { "User-Agent": USER_AGENT, ...this.opts.headers };
      if (this.token) {
        // Cookie auth as the Go SDK does; the header too, so either server path works.
        headers.Cookie = `coder_session_token=${this.token}`;
        headers["Coder-Session-Token"] = this.token;
      }
      // The upgrade has the request deadline (a silent deployment must not hold the wait); the stream then lasts the build.
      const ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: this.requestTimeoutMs || undefined });
      let lastId = opts.after ?? 0;
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        fn();
      };
      const onAbort = () => {
        ws.terminate();
        finish(() => reject(signal!.reason));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      ws.on("message", (data, isBinary) => {
        // A non-text message ends reading on the client side, as in the Go SDK.
        if (isBinary) return ws.close(1000);
        try {
          const log = JSON.parse(data.toString()) as ProvisionerJobLog;
          if (typeof log.id === "number" && log.id > lastId) lastId = log.id;
          opts.onLog?.(log);
        } catch {
          /* a malformed log line is not worth failing a build wait for */
        }
      });
      ws.on("unexpected-response", (_req, res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        // A refusal whose body is cut off is still a refusal (and its socket error must be heard).
        res.on("error", () => res.emit("end"));
        res.on("end", () => {
          let body: Partial<ApiResponse> | undefined;
          try {
            body = JSON.parse(text) as Partial<ApiResponse>;
          } catch {
            body = undefined;
          }
          ws.terminate();
          finish(() => reject(new CoderApiError({ status: res.statusCode ?? 0, method: "GET", path: url.pathname, body, text })));
        });
      });
      ws.on("close", (code) => finish(() => resolve({ lastId, code })));
      ws.on("error", (err) => {
        if (!settled) finish(() => reject(new CoderConnectionError("GET", url.pathname, err)));
      });
    });
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Page size of the list endpoints, as the Go runner uses. */
const PAGE_SIZE = 100;

/**
 * Concatenates pages (by offset, PAGE_SIZE apart) until an empty page: coderd's list endpoints give no total to stop
 * at. `keep` trims each item as its page arrives, so thousands of full REST objects never live at once (they would
 * survive into the old generation, whose pages the runner then keeps for the whole run).
 */
async function allPages<T, K = T>(page: (offset: number) => Promise<T[]>, keep?: (item: T) => K | undefined): Promise<(T | K)[]> {
  const out: (T | K)[] = [];
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const items = await page(offset);
    if (items.length === 0) return out;
    if (!keep) out.push(...items);
    else
      for (const item of items) {
        const k = keep(item);
        if (k !== undefined) out.push(k);
      }
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}


export { retryAfterMs };
