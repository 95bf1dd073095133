// Contract test: every simulator response the runner's client consumes validates against Coder's swagger.json, and the fields src/coder/types.ts relies on are present.
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/simulator/index.ts";
import { createMember, followBuildLogs, simApi, until, waitForBuild } from "../helpers/sim-api.ts";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const SWAGGER_PATH = new URL("../fixtures/swagger.json", import.meta.url);
const TYPES_PATH = new URL("../../src/coder/types.ts", import.meta.url);

type Json = Record<string, unknown>;
const swagger = JSON.parse(readFileSync(SWAGGER_PATH, "utf8")) as { basePath: string; definitions: Record<string, Json>; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

/**
 * Documented deviations between coderd's real wire format and its swagger:
 * - status 201 (not 200) for workspace create and build create, which the Go SDK requires;
 * - Go pointer / NullTime fields that coderd writes as `null` (swagger has no nullable);
 * - Template.organization_name is tagged `format: url` in swagger but is a plain name.
 */
const STATUS_DEVIATIONS: Record<string, number> = { "post /users/{user}/workspaces": 201, "post /workspaces/{workspace}/builds": 201 };
const NULLABLE: Record<string, string[]> = {
  "codersdk.Workspace": ["deleting_at", "dormant_at"],
  "codersdk.WorkspaceBuild": ["deadline", "max_deadline"],
};

/** Non-optional fields of every interface in src/coder/types.ts whose `codersdk.<Name>` is a swagger definition. */
function requiredFromTypes(): Record<string, string[]> {
  const source = ts.createSourceFile("types.ts", readFileSync(TYPES_PATH, "utf8"), ts.ScriptTarget.ES2022, true);
  const out: Record<string, string[]> = {};
  for (const stmt of source.statements) {
    if (!ts.isInterfaceDeclaration(stmt)) continue;
    const def = stmt.name.text === "ApiResponse" ? "codersdk.Response" : `codersdk.${stmt.name.text}`;
    if (!swagger.definitions[def]) continue;
    out[def] = stmt.members.filter((m): m is ts.PropertySignature => ts.isPropertySignature(m) && !m.questionToken).map((m) => (m.name as ts.Identifier).text);
  }
  return out;
}

/** Swagger 2.0 definitions → one JSON Schema document: types.ts required fields added, nullable fields allowed, the bad `url` format dropped. */
function buildValidator(): { ajv: Ajv; required: Record<string, string[]> } {
  const definitions = structuredClone(swagger.definitions);
  const required = requiredFromTypes();
  for (const [def, fields] of Object.entries(required)) {
    const schema = definitions[def]!;
    const props = (schema.properties ?? {}) as Record<string, unknown>;
    // A field types.ts requires but swagger does not know would be our own invention; fail loudly.
    for (const f of fields) if (!(f in props)) throw new Error(`types.ts requires ${def}.${f}, which swagger does not define`);
    schema.required = [...new Set([...((schema.required as string[]) ?? []), ...fields])];
  }
  for (const [def, fields] of Object.entries(NULLABLE)) {
    const props = definitions[def]!.properties as Record<string, unknown>;
    for (const f of fields) props[f] = { anyOf: [props[f], { type: "null" }] };
  }
  delete ((definitions["codersdk.Template"]!.properties as Record<string, Json>).organization_name as Json).format;
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  addFormats(ajv);
  ajv.addSchema({ $id: "swagger.json", definitions });
  return { ajv, required };
}

const { ajv, required } = buildValidator();
const compiled = new Map<string, ValidateFunction>();

/** Validates `body` against a definition (or an array of it with `[]` suffix); returns readable errors. */
function check(def: string, body: unknown): string[] {
  const isArray = def.endsWith("[]");
  const name = isArray ? def.slice(0, -2) : def;
  let fn = compiled.get(def);
  if (!fn) {
    const ref = { $ref: `swagger.json#/definitions/${name}` };
    fn = ajv.compile(isArray ? { type: "array", items: ref } : ref);
    compiled.set(def, fn);
  }
  return fn(body) ? [] : (fn.errors ?? []).map((e: ErrorObject) => `${def}${e.instancePath} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
}

/** The documented success status of a swagger path (route pattern without /api/v2). */
function documentedStatus(method: string, route: string): number {
  const op = swagger.paths[route]?.[method];
  if (!op) throw new Error(`swagger has no ${method.toUpperCase()} ${route}`);
  const codes = Object.keys(op.responses).map(Number).filter((c) => c >= 200 && c < 300);
  return codes[0]!;
}

interface Checked {
  what: string;
  problems: string[];
}

/** Calls the simulator and validates status (against swagger's paths) and body (against the definition). */
function contractCaller(sim: Simulator, results: Checked[]) {
  return async (token: string | null, method: string, route: string, path: string, def: string, body?: unknown, expectStatus?: number) => {
    const res = await simApi(sim, token)(method, `/api/v2${path}`, body);
    const problems: string[] = [];
    const want = expectStatus ?? STATUS_DEVIATIONS[`${method.toLowerCase()} ${route}`] ?? documentedStatus(method.toLowerCase(), route);
    if (res.status !== want) problems.push(`status ${res.status}, want ${want}: ${JSON.stringify(res.body)}`);
    // A 204 has no body to check; its absence is the contract.
    if (def === "") {
      if (res.body !== null) problems.push(`want no body, got ${JSON.stringify(res.body)}`);
    } else problems.push(...check(def, res.body));
    results.push({ what: `${method} ${route} → ${def}`, problems });
    return res.body;
  };
}

/** Drives one full runner-like flow and validates every response; returns the per-call findings. */
async function runFlow(sim: Simulator): Promise<Checked[]> {
  const results: Checked[] = [];
  const call = contractCaller(sim, results);
  const admin = sim.sessionToken;
  const org = sim.organization.id;
  await call(null, "GET", "/buildinfo", "/buildinfo", "codersdk.BuildInfoResponse");
  const me = await call(admin, "GET", "/users/{user}", "/users/me", "codersdk.User");
  await call(admin, "GET", "/users/{user}/organizations", "/users/me/organizations", "codersdk.Organization[]");
  await call(admin, "GET", "/organizations/{organization}", `/organizations/${org}`, "codersdk.Organization");
  await call(admin, "GET", "/deployment/config", "/deployment/config", "codersdk.DeploymentConfig");
  await call(admin, "GET", "/applications/host", "/applications/host", "codersdk.AppHostResponse");
  await call(admin, "GET", "/appearance", "/appearance", "codersdk.AppearanceConfig");
  // What a Coder client (web UI, VS Code extension, CLI) calls right after login.
  await call(admin, "GET", "/organizations", "/organizations", "codersdk.Organization[]");
  await call(admin, "GET", "/organizations/{organization}", `/organizations/${sim.organization.name}`, "codersdk.Organization");
  await call(admin, "GET", "/organizations/{organization}", "/organizations/default", "codersdk.Organization");
  await call(admin, "GET", "/organizations/{organization}", "/organizations/no-such-org", "codersdk.Response", undefined, 404);
  await call(admin, "GET", "/entitlements", "/entitlements", "codersdk.Entitlements");
  await call(admin, "GET", "/experiments", "/experiments", "codersdk.Experiment[]");
  await call(admin, "GET", "/users/{user}/keys/tokens", "/users/me/keys/tokens", "codersdk.APIKey[]");
  await call(null, "GET", "/entitlements", "/entitlements", "codersdk.Response", undefined, 401);
  const templates = await call(admin, "GET", "/organizations/{organization}/templates", `/organizations/${org}/templates`, "codersdk.Template[]");
  const tpl = await call(admin, "GET", "/templates/{template}", `/templates/${templates[0].id}`, "codersdk.Template");
  const version = tpl.active_version_id;
  await call(admin, "GET", "/templateversions/{templateversion}", `/templateversions/${version}`, "codersdk.TemplateVersion");
  await call(admin, "GET", "/templateversions/{templateversion}/rich-parameters", `/templateversions/${version}/rich-parameters`, "codersdk.TemplateVersionParameter[]");
  await call(admin, "GET", "/templateversions/{templateversion}/external-auth", `/templateversions/${version}/external-auth`, "codersdk.TemplateVersionExternalAuth[]");
  const dry = await call(admin, "POST", "/templateversions/{templateversion}/dry-run", `/templateversions/${version}/dry-run`, "codersdk.ProvisionerJob", { workspace_name: "scaletest-N", rich_parameter_values: [] });
  await call(admin, "GET", "/templateversions/{templateversion}/dry-run/{jobID}", `/templateversions/${version}/dry-run/${dry.id}`, "codersdk.ProvisionerJob");
  await until(async () => (await simApi(sim)("GET", `/api/v2/templateversions/${version}/dry-run/${dry.id}`)).body.status === "succeeded");
  await call(admin, "GET", "/templateversions/{templateversion}/dry-run/{jobID}/resources", `/templateversions/${version}/dry-run/${dry.id}/resources`, "codersdk.WorkspaceResource[]");

  const email = "contract-0@scaletest.local";
  const password = "Str0ng-Password-123";
  const user = await call(admin, "POST", "/users", "/users", "codersdk.User", { email, username: "scaletest-contract-0", name: "", password, login_type: "", organization_ids: [org] });
  const login = await call(null, "POST", "/users/login", "/users/login", "codersdk.LoginWithPasswordResponse", { email, password });
  const token = login.session_token as string;
  await call(admin, "GET", "/users", "/users?q=scaletest-&limit=100", "codersdk.GetUsersResponse");
  const created = await call(admin, "POST", "/users/{user}/keys/tokens", `/users/${user.id}/keys/tokens`, "codersdk.GenerateAPIKeyResponse", { lifetime: 2592000000000000, scope: "", token_name: "scaletest-1" });
  await call(token, "GET", "/organizations", "/organizations", "codersdk.Organization[]");
  await call(token, "GET", "/appearance", "/appearance", "codersdk.AppearanceConfig");
  await call(token, "GET", "/experiments", "/experiments", "codersdk.Experiment[]");
  await call(token, "GET", "/entitlements", "/entitlements", "codersdk.Entitlements");
  await call(token, "GET", "/buildinfo", "/buildinfo", "codersdk.BuildInfoResponse");
  const keyId = String(created.key).split("-")[0];
  await call(token, "GET", "/users/{user}/keys/tokens", "/users/me/keys/tokens", "codersdk.APIKey[]");
  await call(token, "GET", "/users/{user}/keys/{keyid}", `/users/me/keys/${keyId}`, "codersdk.APIKey");
  await call(admin, "DELETE", "/users/{user}/keys/{keyid}", `/users/${user.id}/keys/${keyId}`, "");
  await call(admin, "DELETE", "/users/{user}/keys/{keyid}", `/users/${user.id}/keys/${keyId}`, "codersdk.Response", undefined, 404);
  const ws = await call(token, "POST", "/users/{user}/workspaces", `/users/${user.id}/workspaces`, "codersdk.Workspace", {
    template_id: tpl.id,
    template_version_id: "00000000-0000-0000-0000-000000000000",
    name: "scaletest-contract-0",
    autostart_schedule: null,
    rich_parameter_values: [{ name: "cpu", value: "2" }],
  });
  await call(token, "GET", "/workspacebuilds/{workspacebuild}", `/workspacebuilds/${ws.latest_build.id}`, "codersdk.WorkspaceBuild");
  const { logs } = await followBuildLogs(sim, token, ws.latest_build.id);
  results.push({ what: "WS /workspacebuilds/{workspacebuild}/logs frames → codersdk.ProvisionerJobLog[]", problems: check("codersdk.ProvisionerJobLog[]", logs) });
  await call(token, "GET", "/workspacebuilds/{workspacebuild}/logs", `/workspacebuilds/${ws.latest_build.id}/logs`, "codersdk.ProvisionerJobLog[]");
  await until(async () => (await simApi(sim, token)("GET", `/api/v2/workspaces/${ws.id}`)).body.latest_build.resources[0].agents[0].status === "connected");
  const running = await call(token, "GET", "/workspaces/{workspace}", `/workspaces/${ws.id}`, "codersdk.Workspace");
  await call(admin, "GET", "/workspaces", `/workspaces?q=${encodeURIComponent('name:"scaletest-"')}&limit=100`, "codersdk.WorkspacesResponse");
  await call(admin, "GET", "/users/{user}/workspace/{workspacename}", `/users/${user.username}/workspace/${ws.name}?include_deleted=false`, "codersdk.Workspace");
  await call(admin, "GET", "/workspaceagents/{workspaceagent}", `/workspaceagents/${running.latest_build.resources[0].agents[0].id}`, "codersdk.WorkspaceAgent");
  const stop = await call(token, "POST", "/workspaces/{workspace}/builds", `/workspaces/${ws.id}/builds`, "codersdk.WorkspaceBuild", { template_version_id: "00000000-0000-0000-0000-000000000000", transition: "stop" });
  await call(token, "PATCH", "/workspacebuilds/{workspacebuild}/cancel", `/workspacebuilds/${stop.id}/cancel`, "codersdk.Response");
  await waitForBuild(sim, token, stop.id);
  // Error bodies are codersdk.Response too.
  await call(admin, "DELETE", "/users/{user}", `/users/${user.id}`, "codersdk.Response", undefined, 417);
  await call(token, "POST", "/workspaces/{workspace}/builds", `/workspaces/${ws.id}/builds`, "codersdk.Response", { transition: "bogus" }, 400);
  const del = await call(token, "POST", "/workspaces/{workspace}/builds", `/workspaces/${ws.id}/builds`, "codersdk.WorkspaceBuild", { template_version_id: "00000000-0000-0000-0000-000000000000", transition: "delete" });
  await waitForBuild(sim, token, del.id);
  await call(token, "GET", "/workspaces/{workspace}", `/workspaces/${ws.id}`, "codersdk.Response", undefined, 410);
  await call(token, "GET", "/workspaces/{workspace}", "/workspaces/6a1f1c0e-0000-4000-8000-000000000000", "codersdk.Response", undefined, 404);
  await call(null, "GET", "/users/{user}", "/users/me", "codersdk.Response", undefined, 401);
  await call(admin, "DELETE", "/users/{user}", `/users/${user.id}`, "codersdk.Response");
  results.push({ what: "owner has the owner role", problems: me.roles.some((r: { name: string }) => r.name === "owner") ? [] : ["no owner role"] });
  return results;
}

const FAST: SimulatorOptions["knobs"] = { pendingMs: 5, runningMs: 30, agentConnectDelayMs: 5 };

describe("simulator contract against swagger.json", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ knobs: FAST });
  });
  afterAll(async () => {
    await sim.close();
  });

  it("derives the required fields from src/coder/types.ts", () => {
    expect(required["codersdk.Workspace"]).toContain("latest_build");
    expect(required["codersdk.ProvisionerJob"]).toContain("status");
    expect(required["codersdk.User"]).toContain("organization_ids");
    expect(required["codersdk.Response"]).toEqual(["message"]);
  });

  it("answers every call the runner makes with the documented status and a valid body", async () => {
    const results = await runFlow(sim);
    const failures = results.filter((r) => r.problems.length > 0).map((r) => `${r.what}:\n  ${r.problems.join("\n  ")}`);
    expect(failures).toEqual([]);
    expect(results.length).toBeGreaterThan(35);
  });

  it("fails when a response loses a required field or changes a type", async () => {
    const broken = await startSimulator({
      knobs: FAST,
      responseTransform: ({ route }, body) => {
        if (route === "/api/v2/users/{user}/workspaces") {
          const b = structuredClone(body) as { latest_build: { job: Record<string, unknown> } };
          delete b.latest_build.job.status;
          return b;
        }
        if (route === "/api/v2/users" && typeof body === "object" && body && "count" in body) return { ...body, count: "3" };
        if (route === "/api/v2/buildinfo") return { ...(body as object), version: 2 };
        return body;
      },
    });
    try {
      const results = await runFlow(broken);
      const problems = results.flatMap((r) => r.problems);
      expect(problems).toContainEqual(expect.stringMatching(/^codersdk\.Workspace\/latest_build\/job must have required property 'status'/));
      expect(problems).toContainEqual(expect.stringMatching(/^codersdk\.GetUsersResponse\/count must be integer/));
      expect(problems).toContainEqual(expect.stringMatching(/^codersdk\.BuildInfoResponse\/version must be string/));
    } finally {
      await broken.close();
    }
  });

  it("rejects a wrong status code for a documented route", async () => {
    const results: Checked[] = [];
    // GET /users/me answers 200; a caller expecting 201 must see the mismatch reported.
    await contractCaller(sim, results)(sim.sessionToken, "GET", "/users/{user}", "/users/me", "codersdk.User", undefined, 201);
    expect(results[0]!.problems[0]).toMatch(/^status 200, want 201/);
  });

  it("answers a client's login calls with what the caller may see, and a deleted token stops working", async () => {
    const { user, token } = await createMember(sim);
    const member = simApi(sim, token);
    const orgs = await member("GET", "/api/v2/organizations");
    expect(orgs.body.map((o: { id: string }) => o.id)).toEqual([sim.organization.id]);
    expect((await member("GET", `/api/v2/organizations/${sim.organization.name}`)).body.id).toBe(sim.organization.id);

    const made = await member("POST", "/api/v2/users/me/keys/tokens", { token_name: "mine", scope: "application_connect" });
    expect(made.status).toBe(201);
    const mine = await member("GET", "/api/v2/users/me/keys/tokens");
    // Only token-login keys are listed: the member's password session is not.
    expect(mine.body.map((k: { token_name: string; scope: string; username: string }) => [k.token_name, k.scope, k.username])).toEqual([["mine", "application_connect", user.username]]);
    // A member asking for the owner's tokens gets an empty list, not the owner's keys.
    expect((await member("GET", `/api/v2/users/${sim.owner.id}/keys/tokens`)).body).toEqual([]);
    // The owner sees every user's tokens with include_all.
    const all = await simApi(sim)("GET", "/api/v2/users/me/keys/tokens?include_all=true");
    expect(all.body.map((k: { token_name: string }) => k.token_name)).toEqual(expect.arrayContaining(["mine", "simulator-owner"]));

    const minted = made.body.key as string;
    expect((await simApi(sim, minted)("GET", "/api/v2/users/me")).status).toBe(200);
    // A member cannot delete the owner's key: it is as absent as an unknown one.
    const ownerKeyId = sim.sessionToken.split("-")[0];
    expect((await member("DELETE", `/api/v2/users/${sim.owner.id}/keys/${ownerKeyId}`)).status).toBe(404);
    expect((await member("DELETE", `/api/v2/users/me/keys/${minted.split("-")[0]}`)).status).toBe(204);
    expect((await simApi(sim, minted)("GET", "/api/v2/users/me")).status).toBe(401);

    const ent = await member("GET", "/api/v2/entitlements");
    expect(ent.body.has_license).toBe(false);
    expect(ent.body.features.user_limit.actual).toBeGreaterThanOrEqual(2);
    expect(Object.values(ent.body.features).every((f) => (f as { entitlement: string }).entitlement === "not_entitled")).toBe(true);
  });

  it("keeps an open log socket's frames valid while the build runs", async () => {
    const { user, token } = await createMember(sim);
    const ws = await simApi(sim, token)("POST", `/api/v2/users/${user.id}/workspaces`, { template_id: sim.template.id, name: "scaletest-live-0" });
    const frames: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      const sock = new WebSocket(`${sim.url.replace("http", "ws")}/api/v2/workspacebuilds/${ws.body.latest_build.id}/logs?follow=true`, { headers: { "Coder-Session-Token": token } });
      sock.on("message", (d) => frames.push(JSON.parse(d.toString())));
      sock.on("close", () => resolve());
      sock.on("error", reject);
    });
    expect(frames.length).toBeGreaterThan(0);
    expect(check("codersdk.ProvisionerJobLog[]", frames)).toEqual([]);
  });
});
