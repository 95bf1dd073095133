// Variant upload against the simulator: create a missing template, leave a matching one alone, promote a changed one, dry-run, failure and cancel.
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CoderClient } from "../../src/coder/client.ts";
import { buildTar, readTemplateDir } from "../../src/coder/template-tar.ts";
import { ensureWorkspaceTemplate } from "../../src/coder/template-upload.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { BUILTIN_TEMPLATES } from "../../src/simulator/templates.ts";

const variant = (name: string) => fileURLToPath(new URL(`../../template/variants/${name}/`, import.meta.url));

let sim: Simulator;
let client: CoderClient;
beforeEach(async () => {
  // Only the minimal template exists at start, so the other variants are "missing on the deployment".
  sim = await startSimulator({ knobs: { pendingMs: 5, runningMs: 20 }, templates: BUILTIN_TEMPLATES.filter((t) => t.name === "kubernetes-minimal") });
  client = new CoderClient({ url: sim.url, token: sim.sessionToken });
});
afterEach(async () => {
  await sim.close();
});

const versionsOf = (templateId: string) => [...sim.state.versions.values()].filter((v) => v.templateId === templateId);
const opts = (name: string) => ({ organizationId: sim.organization.id, name, dir: variant(name), pollIntervalMs: 10 });

describe("ensureWorkspaceTemplate", () => {
  it("creates a missing template from the bundled variant, then leaves it alone", async () => {
    const lines: string[] = [];
    const first = await ensureWorkspaceTemplate(client, { ...opts("kubernetes-large"), log: (l) => lines.push(l) });
    expect(first.action).toBe("created");
    expect(first.changed).toEqual(["README.md", "main.tf"]);
    const tpl = await client.request<{ id: string; active_version_id: string; name: string }>("GET", `/api/v2/templates/${first.templateId}`);
    expect(tpl).toMatchObject({ name: "kubernetes-large", active_version_id: first.versionId });
    // The stored archive is exactly the directory's files.
    const version = sim.state.versions.get(first.versionId!)!;
    expect(sim.state.files.get(version.job.fileId)!.data.equals(buildTar(await readTemplateDir(variant("kubernetes-large"))))).toBe(true);

    const second = await ensureWorkspaceTemplate(client, opts("kubernetes-large"));
    expect(second).toEqual({ action: "unchanged", templateId: first.templateId, versionId: first.versionId, changed: [] });
    expect(versionsOf(first.templateId!)).toHaveLength(1);
    expect(lines).toEqual([`template kubernetes-large: importing version ${first.versionId}`, `template kubernetes-large: created with version ${first.versionId}`]);
  });

  it("promotes a new version when the deployment's template differs, and the import sees the variant's apps", async () => {
    const before = sim.templates.find((t) => t.name === "kubernetes-minimal")!;
    const r = await ensureWorkspaceTemplate(client, opts("kubernetes-minimal"));
    expect(r.action).toBe("updated");
    expect(r.templateId).toBe(before.id);
    expect(r.versionId).not.toBe(before.active_version_id);
    expect(sim.state.templates.get(before.id)!.activeVersionId).toBe(r.versionId);
    const agents = sim.state.versions.get(r.versionId!)!.definition.agents;
    expect(agents.map((a) => [a.name, a.apps.map((app) => app.slug).sort()])).toEqual([["m", ["wsdi", "wsec", "wsra"]]]);
    expect((await ensureWorkspaceTemplate(client, opts("kubernetes-minimal"))).action).toBe("unchanged");
  });

  it("only compares in dry-run mode", async () => {
    const before = sim.state.versions.size;
    const created = await ensureWorkspaceTemplate(client, { ...opts("kubernetes-small"), dryRun: true });
    expect(created).toMatchObject({ action: "would-create", changed: ["README.md", "main.tf"] });
    const updated = await ensureWorkspaceTemplate(client, { ...opts("kubernetes-minimal"), dryRun: true });
    expect(updated.action).toBe("would-update");
    expect(sim.state.versions.size).toBe(before);
    expect(sim.state.files.size).toBe(0);
  });

  it("fails with the import job's error and does not promote", async () => {
    const add = sim.state.addTemplateVersion.bind(sim.state);
    sim.state.addTemplateVersion = (input) => {
      const v = add(input);
      v.job.willFail = true;
      return v;
    };
    const before = sim.templates.find((t) => t.name === "kubernetes-minimal")!;
    await expect(ensureWorkspaceTemplate(client, opts("kubernetes-minimal"))).rejects.toThrow(/^import template "kubernetes-minimal" version [0-9a-f-]+: job failed: terraform apply/);
    expect(sim.state.templates.get(before.id)!.activeVersionId).toBe(before.active_version_id);
  });

  it("stops waiting for the import when the signal aborts", async () => {
    sim.setKnobs({ pendingMs: 60_000 });
    const ac = new AbortController();
    const run = ensureWorkspaceTemplate(client, { ...opts("kubernetes-medium"), signal: ac.signal, log: (l) => l.includes("importing") && ac.abort(new Error("stop")) });
    await expect(run).rejects.toThrow("stop");
    expect([...sim.state.templates.values()].some((t) => t.name === "kubernetes-medium")).toBe(false);
  });
});
