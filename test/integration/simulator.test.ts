// The simulator over real HTTP and WebSocket: build state machine, deletion semantics, filters, auth, logs, faults and metrics.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ConfigError } from "../../src/errors.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { createMember, followBuildLogs, simApi, until, waitForBuild } from "../helpers/sim-api.ts";

let sim: Simulator;
let owner: ReturnType<typeof simApi>;

beforeEach(async () => {
  sim = await startSimulator({ knobs: { pendingMs: 10, runningMs: 40, agentConnectDelayMs: 10 } });
  owner = simApi(sim);
});
afterEach(async () => {
  await sim.close();
});

async function createWorkspace(token: string, userId: string, name: string, extra: Record<string, unknown> = {}) {
  const res = await simApi(sim, token)("POST", `/api/v2/users/${userId}/workspaces`, { template_id: sim.template.id, template_version_id: "00000000-0000-0000-0000-000000000000", name, autostart_schedule: null, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

describe("build state machine", () => {
  it("moves a start build pending → running → succeeded and connects the agent", async () => {
    const { user, token } = await createMember(sim);
    const ws = await createWorkspace(token, user.id, "scaletest-abc-0");
    expect(ws.latest_build.job.status).toBe("pending");
    expect(ws.latest_build.status).toBe("pending");
    expect(ws.latest_build.transition).toBe("start");
    const { logs, code, reason } = await followBuildLogs(sim, token, ws.latest_build.id);
    expect(code).toBe(1000);
    expect(reason).toBe("done");
    expect(logs.length).toBeGreaterThan(3);
    expect(logs.map((l) => l.id)).toEqual([...logs.map((l) => l.id)].sort((a, b) => a - b));
    const build = (await simApi(sim, token)("GET", `/api/v2/workspacebuilds/${ws.latest_build.id}`)).body;
    expect(build.job.status).toBe("succeeded");
    expect(build.status).toBe("running");
    expect(build.job.started_at).toBeTruthy();
    expect(build.job.completed_at).toBeTruthy();
    const agent = build.resources[0].agents[0];
    expect(agent.name).toBe("m");
    expect(agent.apps.map((a: { slug: string }) => a.slug)).toEqual(["wsec", "wsra", "wsdi"]);
    expect(agent.apps[0].subdomain_name).toBe(`wsec--m--scaletest-abc-0--${user.username}`);
    const connected = await until(async () => {
      const w = (await simApi(sim, token)("GET", `/api/v2/workspaces/${ws.id}`)).body;
      return w.latest_build.resources[0].agents[0].status === "connected" ? w : null;
    });
    expect(connected.latest_build.resources[0].agents[0].lifecycle_state).toBe("ready");
    expect(connected.health.healthy).toBe(true);
    const byId = await simApi(sim, token)("GET", `/api/v2/workspaceagents/${agent.id}`);
    expect(byId.body.status).toBe("connected");
  });

  it("answers 409 while a build is active, and stops a running workspace", async () => {
    const { user, token } = await createMember(sim);
    const call = simApi(sim, token);
    const ws = await createWorkspace(token, user.id, "scaletest-stop-0");
    const busy = await call("POST", `/api/v2/workspaces/${ws.id}/builds`, { transition: "stop" });
    expect(busy.status).toBe(409);
    expect(busy.body.message).toBe("A workspace build is already active.");
    await waitForBuild(sim, token, ws.latest_build.id);
    const stop = await call("POST", `/api/v2/workspaces/${ws.id}/builds`, { template_version_id: "00000000-0000-0000-0000-000000000000", transition: "stop" });
    expect(stop.status).toBe(201);
    expect(stop.body.build_number).toBe(2);
    const done = await waitForBuild(sim, token, stop.body.id);
    expect(done.status).toBe("stopped");
    expect(done.resources).toEqual([]);
    const oldAgent = await call("GET", `/api/v2/workspaceagents/${ws.latest_build.resources[0].agents[0].id}`);
    expect(oldAgent.body.status).toBe("disconnected");
  });

  it("cancels a running build: canceling, then canceled; a second cancel is refused", async () => {
    sim.setKnobs({ runningMs: 60_000 });
    const { user, token } = await createMember(sim);
    const call = simApi(sim, token);
    const ws = await createWorkspace(token, user.id, "scaletest-cancel-0");
    await until(async () => (await call("GET", `/api/v2/workspacebuilds/${ws.latest_build.id}`)).body.job.status === "running");
    const cancel = await call("PATCH", `/api/v2/workspacebuilds/${ws.latest_build.id}/cancel`);
    expect(cancel.status).toBe(200);
    expect((await call("GET", `/api/v2/workspacebuilds/${ws.latest_build.id}`)).body.job.status).toBe("canceling");
    const done = await waitForBuild(sim, token, ws.latest_build.id);
    expect(done.job.status).toBe("canceled");
    expect(done.status).toBe("canceled");
    expect(done.job.canceled_at).toBeTruthy();
    const again = await call("PATCH", `/api/v2/workspacebuilds/${ws.latest_build.id}/cancel`);
    expect(again.status).toBe(400);
    expect(again.body.message).toBe("Job has already completed!");
  });

  it("fails start builds at buildFailureRate 1 with a job error", async () => {
    sim.setKnobs({ buildFailureRate: 1 });
    const { user, token } = await createMember(sim);
    const ws = await createWorkspace(token, user.id, "scaletest-fail-0");
    const done = await waitForBuild(sim, token, ws.latest_build.id);
    expect(done.job.status).toBe("failed");
    expect(done.status).toBe("failed");
    expect(done.job.error).toMatch(/^terraform apply: exit status 1/);
  });
});

describe("deletion semantics", () => {
  it("refuses to delete a user with workspaces (417), even while the delete build runs; then 410 and 200", async () => {
    sim.setKnobs({ runningMs: 200 });
    const { user, token } = await createMember(sim);
    const call = simApi(sim, token);
    const ws = await createWorkspace(token, user.id, "scaletest-del-0");
    const blocked = await owner("DELETE", `/api/v2/users/${user.id}`);
    expect(blocked.status).toBe(417);
    expect(blocked.body.message).toBe("You cannot delete a user that has workspaces. Delete their workspaces and try again!");
    await waitForBuild(sim, token, ws.latest_build.id);
    const del = await call("POST", `/api/v2/workspaces/${ws.id}/builds`, { transition: "delete" });
    expect(del.status).toBe(201);
    expect(del.body.transition).toBe("delete");
    expect((await owner("DELETE", `/api/v2/users/${user.id}`)).status).toBe(417);
    const done = await waitForBuild(sim, token, del.body.id);
    expect(done.status).toBe("deleted");
    const gone = await call("GET", `/api/v2/workspaces/${ws.id}`);
    expect(gone.status).toBe(410);
    expect(gone.body.message).toBe(`Workspace "${ws.id}" was deleted, you can view this workspace by specifying '?deleted=true' and trying again.`);
    expect((await call("GET", `/api/v2/workspaces/${ws.id}?include_deleted=true`)).status).toBe(200);
    expect((await owner("GET", "/api/v2/workspaces")).body.count).toBe(0);
    expect((await call("GET", "/api/v2/workspaces/6a1f1c0e-0000-4000-8000-000000000000")).status).toBe(404);
    const ok = await owner("DELETE", `/api/v2/users/${user.id}`);
    expect(ok.status).toBe(200);
    expect((await owner("GET", `/api/v2/users/${user.id}`)).status).toBe(404);
    // The deleted user's session is gone too.
    expect((await call("GET", "/api/v2/users/me")).status).toBe(401);
  });

  it("forbids deleting yourself (403)", async () => {
    const res = await owner("DELETE", `/api/v2/users/${sim.owner.id}`);
    expect(res.status).toBe(403);
  });
});

describe("listing", () => {
  it("filters workspaces by owner, name and template (quoted or not) and orders running first, then owner, then name", async () => {
    const a = await createMember(sim, "scaletest-bbb-1");
    const b = await createMember(sim, "scaletest-aaa-2");
    const w1 = await createWorkspace(a.token, a.user.id, "scaletest-zzz-1");
    const w2 = await createWorkspace(a.token, a.user.id, "scaletest-yyy-2");
    const w3 = await createWorkspace(b.token, b.user.id, "scaletest-xxx-3");
    await createWorkspace(b.token, b.user.id, "other-4");
    // w1 succeeds; the others stay running behind it.
    await waitForBuild(sim, a.token, w1.latest_build.id);
    sim.setKnobs({ runningMs: 60_000 });
    const w5 = await createWorkspace(a.token, a.user.id, "scaletest-aaa-5");
    const list = await owner("GET", `/api/v2/workspaces?q=${encodeURIComponent('name:"scaletest-" template:"kubernetes-minimal"')}&limit=100`);
    expect(list.status).toBe(200);
    const names = list.body.workspaces.map((w: { name: string }) => w.name);
    const running = list.body.workspaces.filter((w: { latest_build: { status: string } }) => w.latest_build.status === "running").map((w: { name: string }) => w.name);
    // Succeeded starts first, then lower(owner), then lower(name).
    expect(names.slice(0, running.length)).toEqual(running);
    const rest = list.body.workspaces.slice(running.length).map((w: { owner_name: string; name: string }) => `${w.owner_name}/${w.name}`);
    expect(rest).toEqual([...rest].sort());
    expect(names).toContain(w5.name);
    expect(names).not.toContain("other-4");
    expect(list.body.count).toBe(4);
    const byOwner = await owner("GET", `/api/v2/workspaces?q=${encodeURIComponent(`owner:${b.user.username} name:scaletest-`)}`);
    expect(byOwner.body.workspaces.map((w: { id: string }) => w.id)).toEqual([w3.id]);
    const paged = await owner("GET", `/api/v2/workspaces?q=name:scaletest-&limit=2&offset=2`);
    expect(paged.body.workspaces).toHaveLength(2);
    expect(paged.body.count).toBe(4);
    expect((await owner("GET", `/api/v2/workspaces?q=template:kubernetes-small`)).body.count).toBe(0);
    // A member sees only their own workspaces, and `owner:me` means the caller.
    const mine = await simApi(sim, b.token)("GET", "/api/v2/workspaces");
    expect(mine.body.count).toBe(2);
    expect((await simApi(sim, a.token)("GET", `/api/v2/workspaces?q=owner:"me"`)).body.count).toBe(3);
    expect((await simApi(sim, b.token)("GET", `/api/v2/workspaces/${w2.id}`)).status).toBe(404);
    // Favourites of the caller come first.
    expect((await simApi(sim, a.token)("PUT", `/api/v2/workspaces/${w5.id}/favorite`)).status).toBe(204);
    const fav = await simApi(sim, a.token)("GET", "/api/v2/workspaces");
    expect(fav.body.workspaces[0].id).toBe(w5.id);
    expect(fav.body.workspaces[0].favorite).toBe(true);
  });

  it("lists users by substring over username and email, ordered by lower(username), with total count", async () => {
    await createMember(sim, "scaletest-Bcd-1");
    await createMember(sim, "scaletest-abc-2");
    await createMember(sim, "scaletest-xyz-3");
    const all = await owner("GET", "/api/v2/users?q=scaletest-&limit=2");
    expect(all.body.count).toBe(3);
    expect(all.body.users.map((u: { username: string }) => u.username)).toEqual(["scaletest-abc-2", "scaletest-Bcd-1"]);
    const next = await owner("GET", "/api/v2/users?q=scaletest-&limit=2&offset=2");
    expect(next.body.users.map((u: { username: string }) => u.username)).toEqual(["scaletest-xyz-3"]);
    expect((await owner("GET", "/api/v2/users?q=@scaletest.local")).body.count).toBe(3);
    expect((await owner("GET", "/api/v2/users?q=scaletest-&offset=100")).body.users).toEqual([]);
  });
});

describe("users, tokens and auth", () => {
  it("validates user creation: 409 duplicate, 400 weak password, 400 without organizations, 400 bad username", async () => {
    const body = { email: "x-1@scaletest.local", username: "scaletest-x-1", name: "", password: "Str0ng-Password-123", login_type: "", organization_ids: [sim.organization.id] };
    expect((await owner("POST", "/api/v2/users", body)).status).toBe(201);
    const dup = await owner("POST", "/api/v2/users", { ...body, email: "other@scaletest.local" });
    expect(dup.status).toBe(409);
    expect(dup.body.message).toBe("User already exists.");
    const weak = await owner("POST", "/api/v2/users", { ...body, username: "scaletest-x-2", email: "x-2@scaletest.local", password: "password" });
    expect(weak.status).toBe(400);
    expect(weak.body.validations[0].field).toBe("password");
    const noOrg = await owner("POST", "/api/v2/users", { ...body, username: "scaletest-x-3", email: "x-3@scaletest.local", organization_ids: [] });
    expect(noOrg.status).toBe(400);
    const badName = await owner("POST", "/api/v2/users", { ...body, username: "bad_name!", email: "x-4@scaletest.local" });
    expect(badName.status).toBe(400);
    expect(badName.body.validations[0].field).toBe("username");
  });

  it("logs in with a token shaped <10>-<22>, and creates API tokens (409 on a duplicate name)", async () => {
    const { user, token } = await createMember(sim);
    expect(token).toMatch(/^[0-9A-Za-z]{10}-[0-9A-Za-z]{22}$/);
    const wrong = await simApi(sim, null)("POST", "/api/v2/users/login", { email: user.email, password: "nope-nope-nope" });
    expect(wrong.status).toBe(401);
    const body = { lifetime: 2592000000000000, scope: "", token_name: "scaletest-1700000000" };
    const created = await owner("POST", `/api/v2/users/${user.id}/keys/tokens`, body);
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^[0-9A-Za-z]{10}-[0-9A-Za-z]{22}$/);
    expect((await simApi(sim, created.body.key)("GET", "/api/v2/users/me")).body.id).toBe(user.id);
    expect((await owner("POST", `/api/v2/users/${user.id}/keys/tokens`, body)).status).toBe(409);
    expect((await owner("POST", `/api/v2/users/${user.username}/keys/tokens`, { ...body, token_name: "other" })).status).toBe(201);
  });

  it("authenticates by cookie, query parameter or header, and answers 401 with coderd's message otherwise", async () => {
    const anon = simApi(sim, null);
    const missing = await anon("GET", "/api/v2/users/me");
    expect(missing.status).toBe(401);
    expect(missing.body.message).toBe("You are signed out or your session has expired. Please sign in again to continue.");
    expect(missing.body.detail).toBe('Cookie "coder_session_token" or query parameter must be provided.');
    const malformed = await simApi(sim, "not-a-token")("GET", "/api/v2/users/me");
    expect(malformed.status).toBe(401);
    expect(malformed.body.detail).toMatch(/^Invalid API key format/);
    const unknown = await simApi(sim, "abcdefghij-abcdefghijabcdefghijab")("GET", "/api/v2/users/me");
    expect(unknown.body.detail).toBe("API key is invalid.");
    expect((await anon("GET", "/api/v2/users/me", undefined, { Cookie: `coder_session_token=${sim.sessionToken}` })).status).toBe(200);
    expect((await anon("GET", `/api/v2/users/me?coder_session_token=${sim.sessionToken}`)).status).toBe(200);
    // The cookie wins over the header, as in coderd.
    expect((await simApi(sim, sim.sessionToken)("GET", "/api/v2/users/me", undefined, { Cookie: "coder_session_token=bad" })).status).toBe(401);
    const me = await owner("GET", "/api/v2/users/me");
    expect(me.body.roles.map((r: { name: string }) => r.name)).toContain("owner");
  });

  it("keeps members to their own things: 403 on user creation and deployment config", async () => {
    const { token } = await createMember(sim);
    const member = simApi(sim, token);
    expect((await member("POST", "/api/v2/users", { email: "a@b.c", username: "abc", password: "Str0ng-Password-123", organization_ids: [sim.organization.id] })).status).toBe(403);
    expect((await member("GET", "/api/v2/deployment/config")).status).toBe(403);
    const me = await member("GET", "/api/v2/users/me");
    expect(me.body.roles).toEqual([]);
  });

  it("sends X-Coder-Build-Version on every response, including errors and unknown routes", async () => {
    for (const res of [await owner("GET", "/api/v2/buildinfo"), await owner("GET", "/api/v2/nope"), await simApi(sim, null)("GET", "/api/v2/users/me")]) {
      expect(res.headers.get("x-coder-build-version")).toMatch(/^v2\./);
    }
    expect((await owner("GET", "/api/v2/nope")).status).toBe(404);
  });
});

describe("templates and workspace creation rules", () => {
  it("serves rich parameters, validates values, and rejects bad names, unknown templates and duplicates", async () => {
    const { user, token } = await createMember(sim);
    const call = simApi(sim, token);
    const params = await call("GET", `/api/v2/templateversions/${sim.template.active_version_id}/rich-parameters`);
    expect(params.body.map((p: { name: string }) => p.name)).toEqual(["cpu", "image", "dotfiles_uri"]);
    expect((await call("GET", `/api/v2/templateversions/${sim.template.active_version_id}/external-auth`)).body).toEqual([]);
    const orgTemplates = await call("GET", `/api/v2/organizations/${sim.organization.id}/templates`);
    expect(orgTemplates.body.map((t: { name: string }) => t.name)).toContain("kubernetes-minimal");
    const base = { template_id: sim.template.id, name: "scaletest-p-0" };
    const badParam = await call("POST", `/api/v2/users/${user.id}/workspaces`, { ...base, rich_parameter_values: [{ name: "cpu", value: "64" }] });
    expect(badParam.status).toBe(400);
    expect(badParam.body.message).toBe("Unable to validate parameters");
    const badOption = await call("POST", `/api/v2/users/${user.id}/workspaces`, { ...base, rich_parameter_values: [{ name: "image", value: "arch" }] });
    expect(badOption.status).toBe(400);
    const badName = await call("POST", `/api/v2/users/${user.id}/workspaces`, { ...base, name: "-bad-" });
    expect(badName.status).toBe(400);
    expect(badName.body.validations[0].field).toBe("name");
    const longName = await call("POST", `/api/v2/users/${user.id}/workspaces`, { ...base, name: "a".repeat(33) });
    expect(longName.status).toBe(400);
    const unknown = await call("POST", `/api/v2/users/${user.id}/workspaces`, { ...base, template_id: "6a1f1c0e-0000-4000-8000-000000000000" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toBe(`Template "6a1f1c0e-0000-4000-8000-000000000000" doesn't exist.`);
    const ok = await call("POST", `/api/v2/users/${user.id}/workspaces`, { ...base, rich_parameter_values: [{ name: "cpu", value: "4" }] });
    expect(ok.status).toBe(201);
    expect((await call("POST", `/api/v2/users/${user.id}/workspaces`, base)).status).toBe(409);
    expect((await call("GET", "/api/v2/templates/not-a-uuid")).status).toBe(400);
    expect((await call("GET", "/api/v2/templates/6a1f1c0e-0000-4000-8000-000000000000")).status).toBe(404);
  });

  it("runs a dry run: 201 job, log stream closing 1000, then resources with the agent", async () => {
    const version = sim.template.active_version_id;
    const job = await owner("POST", `/api/v2/templateversions/${version}/dry-run`, { workspace_name: "scaletest-N", rich_parameter_values: [] });
    expect(job.status).toBe(201);
    expect(job.body.status).toBe("pending");
    const early = await owner("GET", `/api/v2/templateversions/${version}/dry-run/${job.body.id}/resources`);
    expect(early.status).toBe(400);
    const closed = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${sim.url.replace("http", "ws")}/api/v2/templateversions/${version}/dry-run/${job.body.id}/logs?follow`, { headers: { "Coder-Session-Token": sim.sessionToken } });
      ws.on("close", (code) => resolve(code));
      ws.on("error", reject);
    });
    expect(closed).toBe(1000);
    expect((await owner("GET", `/api/v2/templateversions/${version}/dry-run/${job.body.id}`)).body.status).toBe("succeeded");
    const resources = await owner("GET", `/api/v2/templateversions/${version}/dry-run/${job.body.id}/resources`);
    expect(resources.body[0].agents[0].name).toBe("m");
  });
});

describe("build logs", () => {
  it("replays only logs after `after`, accepts follow=true, returns a JSON array without follow, and refuses anonymous sockets", async () => {
    const { user, token } = await createMember(sim);
    const ws = await createWorkspace(token, user.id, "scaletest-logs-0");
    const first = await followBuildLogs(sim, token, ws.latest_build.id, "follow=true");
    const cut = first.logs[1]!.id;
    const rest = await followBuildLogs(sim, token, ws.latest_build.id, `follow&after=${cut}`);
    expect(rest.logs.map((l) => l.id)).toEqual(first.logs.filter((l) => l.id > cut).map((l) => l.id));
    expect(rest.code).toBe(1000);
    const array = await simApi(sim, token)("GET", `/api/v2/workspacebuilds/${ws.latest_build.id}/logs`);
    expect(array.body.map((l: { id: number }) => l.id)).toEqual(first.logs.map((l) => l.id));
    await expect(followBuildLogs(sim, "", ws.latest_build.id)).rejects.toThrow(/401/);
    const stranger = await createMember(sim);
    await expect(followBuildLogs(sim, stranger.token, ws.latest_build.id)).rejects.toThrow(/404/);
  });
});

describe("fault knobs", () => {
  it("injects 500s before the handler runs, so nothing changes and a retry is safe", async () => {
    const before = sim.state.users.size;
    sim.setKnobs({ http5xxRate: 1 });
    const res = await owner("POST", "/api/v2/users", { email: "f-1@scaletest.local", username: "scaletest-f-1", password: "Str0ng-Password-123", organization_ids: [sim.organization.id] });
    expect(res.status).toBe(500);
    expect(typeof res.body.message).toBe("string");
    expect(typeof res.body.detail).toBe("string");
    expect(sim.state.users.size).toBe(before);
    sim.setKnobs({ http5xxRate: 0 });
    const retry = await owner("POST", "/api/v2/users", { email: "f-1@scaletest.local", username: "scaletest-f-1", password: "Str0ng-Password-123", organization_ids: [sim.organization.id] });
    expect(retry.status).toBe(201);
  });

  it("injects 429s and enforces the per (IP, path) rate limit with coderd's message", async () => {
    sim.setKnobs({ http429Rate: 1 });
    const injected = await owner("GET", "/api/v2/users/me");
    expect(injected.status).toBe(429);
    expect(injected.body.message).toBe("You've been rate limited for sending more than 512 requests in 1m0s.");
    sim.setKnobs({ http429Rate: 0, rateLimit: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await owner("GET", "/api/v2/buildinfo")).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await owner("GET", "/api/v2/buildinfo");
    expect(limited.body.message).toBe("You've been rate limited for sending more than 3 requests in 1m0s.");
    // Another path is another bucket.
    expect((await owner("GET", "/api/v2/users/me")).status).toBe(200);
  });

  it("is reproducible: the same seed gives the same fault sequence", async () => {
    const run = async (seed: number) => {
      const s = await startSimulator({ knobs: { http5xxRate: 0.5, seed } });
      try {
        const call = simApi(s);
        const out: number[] = [];
        for (let i = 0; i < 16; i++) out.push((await call("GET", "/api/v2/buildinfo")).status);
        return out;
      } finally {
        await s.close();
      }
    };
    const a = await run(42);
    expect(await run(42)).toEqual(a);
    expect(a).toContain(500);
    expect(a).toContain(200);
  });

  it("rejects bad knob values by name", () => {
    expect(() => sim.setKnobs({ http5xxRate: 2 })).toThrow(ConfigError);
    expect(() => sim.setKnobs({ http5xxRate: 2 })).toThrow(/http5xxRate/);
    expect(() => sim.setKnobs({ appHost: "apps.example.com" })).toThrow(/appHost/);
  });
});

describe("metrics", () => {
  it("exports coderd-style families driven by real requests, builds, agents and sockets", async () => {
    const { user, token } = await createMember(sim);
    const ws = await createWorkspace(token, user.id, "scaletest-m-0");
    await waitForBuild(sim, token, ws.latest_build.id);
    await until(async () => (await simApi(sim, token)("GET", `/api/v2/workspaces/${ws.id}`)).body.latest_build.resources[0].agents[0].status === "connected");
    await owner("GET", "/api/v2/workspaces/6a1f1c0e-0000-4000-8000-000000000000");
    const text = (await simApi(sim, null)("GET", "/metrics")).body as string;
    expect(text).toMatch(/coderd_api_requests_processed_total\{code="201",method="POST",path="\/api\/v2\/users\/\{user\}\/workspaces"\} 1/);
    expect(text).toMatch(/coderd_api_requests_processed_total\{code="404",method="GET",path="\/api\/v2\/workspaces\/\{workspace\}"\} 1/);
    expect(text).toMatch(/coderd_api_requests_processed_total\{code="101",method="GET",path="\/api\/v2\/workspacebuilds\/\{workspacebuild\}\/logs"\} 1/);
    expect(text).toMatch(/coderd_api_request_latencies_seconds_bucket\{le="0.001",method="GET",path="\/api\/v2\/workspacebuilds\/\{workspacebuild\}"\}/);
    expect(text).toMatch(/coderd_api_websocket_durations_seconds_count\{path="\/api\/v2\/workspacebuilds\/\{workspacebuild\}\/logs"\} 1/);
    expect(text).toMatch(/coderd_api_workspace_latest_build\{status="succeeded"\} 1/);
    expect(text).toContain(`coderd_agents_up{username="${user.username}",workspace_name="scaletest-m-0",template_name="kubernetes-minimal"`);
    expect(text).toMatch(/coderd_agents_connections\{agent_name="m",.*status="connected",lifecycle_state="ready"/);
    expect(text).toMatch(/coderd_workspace_builds_total\{.*workspace_transition="START",status="success"\} 1/);
    expect(text).toMatch(/coderd_provisionerd_job_timings_seconds_count\{provisioner="terraform",status="success"\} 1/);
    expect(text).toMatch(/coderd_provisionerd_jobs_current\{provisioner="terraform"\} 0/);
    expect(text).toContain("coderd_api_concurrent_websockets 0");
    expect(text).toContain("process_cpu_seconds_total");
    expect(sim.requests.some((r) => r.route === "/api/v2/users/{user}/workspaces" && r.status === 201 && r.ip !== "")).toBe(true);
  });

  it("times the store operations each request really runs, under coderd's store method names", async () => {
    const calls = async (): Promise<Record<string, number>> => {
      const text = (await simApi(sim, null)("GET", "/metrics")).body as string;
      return Object.fromEntries([...text.matchAll(/^coderd_db_query_latencies_seconds_count\{query="(\w+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
    };
    const { user, token } = await createMember(sim);
    const before = await calls();
    const ws = await createWorkspace(token, user.id, "scaletest-q-0");
    for (let i = 0; i < 3; i++) expect((await owner("GET", "/api/v2/workspaces?q=owner:me")).status).toBe(200);
    await owner("GET", "/api/v2/workspaces/6a1f1c0e-0000-4000-8000-000000000000");
    await simApi(sim, null)("GET", "/api/v2/users/me");
    const after = await calls();
    const delta = (q: string) => (after[q] ?? 0) - (before[q] ?? 0);
    expect(delta("GetWorkspaces")).toBe(3);
    expect(delta("InsertWorkspace")).toBe(1);
    expect(delta("InsertWorkspaceBuild")).toBe(1);
    expect(delta("InsertProvisionerJob")).toBe(1);
    expect(delta("GetWorkspaceByID")).toBe(1); // the 404 still looked
    // Every authenticated request looks up its key and user; the anonymous one never reaches the store.
    expect(delta("GetAPIKeyByID")).toBe(5);
    expect(delta("GetUserByID")).toBeGreaterThanOrEqual(5);
    const text = (await simApi(sim, null)("GET", "/metrics")).body as string;
    const sum = Number(/^coderd_db_query_latencies_seconds_sum\{query="GetWorkspaces"\} (\S+)$/m.exec(text)?.[1]);
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(1);
    expect(ws.name).toBe("scaletest-q-0");
  });
});
