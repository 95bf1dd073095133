// Template upload against the simulator: files, template versions from a tar (import job and logs), template create, promote.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { simApi, waitForBuild } from "../helpers/sim-api.ts";

const MAIN_TF = `
resource "coder_agent" "dev" {
  os   = "linux"
  arch = "amd64"
}
resource "coder_app" "code" {
  agent_id     = coder_agent.dev.id
  slug         = "code"
  display_name = "Code { Server }"
  url          = "http://localhost:8080"
  subdomain    = true
  share        = "authenticated"
}
resource "kubernetes_pod" "main" {
  metadata { name = "x" }
}
`;

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), "sim-tpl-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const { stdout } = await execa("tar", ["-cf", "-", "-C", dir, "."], { encoding: "buffer" });
  return Buffer.from(stdout);
}

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ knobs: { pendingMs: 5, runningMs: 20, agentConnectDelayMs: 5 } });
});
afterEach(async () => {
  await sim.close();
});

async function upload(data: Buffer, contentType = "application/x-tar") {
  const res = await fetch(`${sim.url}/api/v2/files`, { method: "POST", headers: { "Coder-Session-Token": sim.sessionToken, "Content-Type": contentType }, body: new Uint8Array(data) });
  return { status: res.status, body: (await res.json()) as { hash: string; message?: string } };
}

function followImport(versionId: string): Promise<{ code: number; lines: number }> {
  return new Promise((resolve, reject) => {
    let lines = 0;
    const ws = new WebSocket(`${sim.url.replace("http", "ws")}/api/v2/templateversions/${versionId}/logs?follow`, { headers: { Cookie: `coder_session_token=${sim.sessionToken}` } });
    ws.on("message", () => lines++);
    ws.on("close", (code) => resolve({ code, lines }));
    ws.on("error", reject);
  });
}

describe("template upload", () => {
  it("uploads a tar, imports it, creates a template, and provisions the agents and apps it declares", async () => {
    const call = simApi(sim);
    const org = sim.organization.id;
    const tar = await tarOf({ "main.tf": MAIN_TF, "README.md": "# hi\n" });
    const up = await upload(tar);
    expect(up.status).toBe(201);
    expect((await upload(tar)).body.hash).toBe(up.body.hash);
    expect((await upload(tar)).status).toBe(200);
    expect((await upload(Buffer.from("x"), "text/plain")).status).toBe(400);
    const back = await fetch(`${sim.url}/api/v2/files/${up.body.hash}`, { headers: { "Coder-Session-Token": sim.sessionToken } });
    expect(Buffer.from(await back.arrayBuffer()).equals(tar)).toBe(true);

    const v1 = await call("POST", `/api/v2/organizations/${org}/templateversions`, { file_id: up.body.hash, storage_method: "file", provisioner: "terraform", tags: {} });
    expect(v1.status).toBe(201);
    expect(v1.body.job.status).toBe("pending");
    const logs = await followImport(v1.body.id);
    expect(logs.code).toBe(1000);
    expect(logs.lines).toBeGreaterThan(0);
    expect((await call("GET", `/api/v2/templateversions/${v1.body.id}`)).body.job.status).toBe("succeeded");

    const tpl = await call("POST", `/api/v2/organizations/${org}/templates`, { name: "kubernetes-custom", template_version_id: v1.body.id, display_name: "Custom" });
    expect(tpl.status).toBe(201);
    expect(tpl.body.active_version_id).toBe(v1.body.id);
    expect((await call("POST", `/api/v2/organizations/${org}/templates`, { name: "kubernetes-custom", template_version_id: v1.body.id })).status).toBe(409);
    expect((await call("GET", `/api/v2/organizations/${org}/templates/kubernetes-custom`)).body.id).toBe(tpl.body.id);

    const v2 = await call("POST", `/api/v2/organizations/${org}/templateversions`, { file_id: up.body.hash, storage_method: "file", provisioner: "terraform", template_id: tpl.body.id, name: "v2" });
    expect(v2.status).toBe(201);
    expect((await call("PATCH", `/api/v2/templates/${tpl.body.id}/versions`, { id: v2.body.id })).status).toBe(400);
    await followImport(v2.body.id);
    const promote = await call("PATCH", `/api/v2/templates/${tpl.body.id}/versions`, { id: v2.body.id });
    expect(promote.status).toBe(200);
    expect((await call("GET", `/api/v2/templates/${tpl.body.id}`)).body.active_version_id).toBe(v2.body.id);
    const versions = await call("GET", `/api/v2/templates/${tpl.body.id}/versions`);
    expect(versions.body.map((v: { id: string }) => v.id)).toEqual([v1.body.id, v2.body.id]);

    const ws = await call("POST", `/api/v2/users/me/workspaces`, { template_id: tpl.body.id, name: "custom-0" });
    expect(ws.status).toBe(201);
    const build = await waitForBuild(sim, sim.sessionToken, ws.body.latest_build.id);
    const resource = build.resources[0];
    expect([resource.type, resource.name]).toEqual(["kubernetes_pod", "main"]);
    expect(resource.agents.map((a: { name: string }) => a.name)).toEqual(["dev"]);
    const app = resource.agents[0].apps[0];
    expect([app.slug, app.display_name, app.subdomain, app.sharing_level]).toEqual(["code", "Code { Server }", true, "authenticated"]);
    expect(app.subdomain_name).toBe("code--dev--custom-0--admin");
  });

  it("refuses a version without a known file (404) or without a provisioner (400)", async () => {
    const bad = await simApi(sim)("POST", `/api/v2/organizations/${sim.organization.id}/templateversions`, { file_id: "6a1f1c0e-0000-4000-8000-000000000000", storage_method: "file", provisioner: "terraform" });
    expect(bad.status).toBe(404);
    const noProvisioner = await simApi(sim)("POST", `/api/v2/organizations/${sim.organization.id}/templateversions`, { file_id: "x", storage_method: "file" });
    expect(noProvisioner.status).toBe(400);
  });
});
