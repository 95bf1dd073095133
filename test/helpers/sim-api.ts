// Plain-fetch helpers for driving the Coder simulator in tests (no project client, so the simulator is tested on its own).
import WebSocket from "ws";
import type { Simulator } from "../../src/simulator/index.ts";

export interface ApiResult {
  status: number;
  // Tests inspect arbitrary JSON.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

/** A caller bound to one token: `call("GET", "/api/v2/users/me")`. */
export function simApi(sim: Simulator, token: string | null = sim.sessionToken) {
  return async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResult> {
    const h: Record<string, string> = { ...headers };
    if (token) h["Coder-Session-Token"] = token;
    if (body !== undefined) h["Content-Type"] = "application/json";
    const res = await fetch(sim.url + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (metrics, HTML)
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
}

let seq = 0;

/** Creates a member (as the owner) and logs in as them; returns the user JSON and their session token. */
export async function createMember(sim: Simulator, username = `scaletest-t${++seq}-${seq}`) {
  const owner = simApi(sim);
  const email = `${username}@scaletest.local`;
  const password = "Str0ng-Password-123";
  const created = await owner("POST", "/api/v2/users", { email, username, name: "", password, login_type: "", organization_ids: [sim.organization.id] });
  if (created.status !== 201) throw new Error(`create user: ${created.status} ${JSON.stringify(created.body)}`);
  const login = await simApi(sim, null)("POST", "/api/v2/users/login", { email, password });
  if (login.status !== 201) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);
  return { user: created.body, token: login.body.session_token as string };
}

/** Follows a build's log WebSocket until the server closes it; resolves with the frames and the close code/reason. */
export function followBuildLogs(sim: Simulator, token: string, buildId: string, query = "follow") {
  const url = `${sim.url.replace(/^http/, "ws")}/api/v2/workspacebuilds/${buildId}/logs?${query}`;
  return new Promise<{ logs: Array<{ id: number; output: string; stage: string }>; code: number; reason: string }>((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { Cookie: `coder_session_token=${token}` }, perMessageDeflate: false });
    const logs: Array<{ id: number; output: string; stage: string }> = [];
    ws.on("message", (data, isBinary) => {
      if (!isBinary) logs.push(JSON.parse(data.toString()));
    });
    ws.on("close", (code, reason) => resolve({ logs, code, reason: reason.toString() }));
    ws.on("unexpected-response", (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
    ws.on("error", reject);
  });
}

/** Waits for a build to reach a terminal job status (via the log stream) and returns the build JSON. */
export async function waitForBuild(sim: Simulator, token: string, buildId: string) {
  await followBuildLogs(sim, token, buildId);
  return (await simApi(sim, token)("GET", `/api/v2/workspacebuilds/${buildId}`)).body;
}

/** Polls `fn` every 5 ms until it returns a truthy value (for state with no event to await, like agent connection). */
export async function until<T>(fn: () => Promise<T> | T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
