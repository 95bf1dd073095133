// prepare against the simulator: it makes the run's templates match the bundled variants (push, leave alone, promote),
// only compares in dry-run, and a failed import stops it before anything else happens.
import { loadRunnerConfig } from "../../src/run/config.ts";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CoderClient } from "../../src/coder/client.ts";
import { buildTar, readTemplateDir } from "../../src/coder/template-tar.ts";
import type { TemplateVersionVariable } from "../../src/coder/types.ts";
import { prepare } from "../../src/run/lifecycle.ts";
import { BUNDLED_VARIANTS_DIR } from "../../src/run/variants.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { BUILTIN_TEMPLATES, type TemplateDefinition } from "../../src/simulator/templates.ts";
import { stagedEnvVars } from "../e2e/staged-env.ts";
import { startFakeGrafana, type FakeGrafana } from "../helpers/grafana.ts";

let sim: Simulator;
let grafana: FakeGrafana;
let dir: string;
let logs: string[];

async function start(templates?: TemplateDefinition[]) {
  sim = await startSimulator({ knobs: { pendingMs: 5, runningMs: 20 }, templates });
  grafana = await startFakeGrafana();
}
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "prepare-variants-"));
  logs = [];
});
afterEach(async () => {
  await sim?.close();
  await grafana?.close();
  rmSync(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => stagedEnvVars(sim, grafana, dir, { SCALETEST_PARAM_GREEDY_AGENT: "1", ...extra });
const log = (l: string) => logs.push(l);
const templateNamed = (name: string) => [...sim.state.templates.values()].find((t) => t.name === name);
const versionsOf = (name: string) => [...sim.state.versions.values()].filter((v) => v.templateId === templateNamed(name)?.id);
/** The files of the template's active version, as the simulator stored them. */
const activeTar = (name: string) => {
  const v = sim.state.versions.get(templateNamed(name)!.activeVersionId)!;
  return sim.state.files.get(v.job.fileId)?.data;
};
const bundleTar = async (variantsDir: string, name: string) => buildTar(await readTemplateDir(join(variantsDir, name)));
const mutating = () => sim.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD").map((r) => `${r.method} ${r.path}`);

describe("prepare makes the run's templates match the bundled variants", () => {
  it("pushes the bundle over a built-in template, creates a missing one, then leaves both alone; a changed bundle is promoted", async () => {
    // The greedy template is missing; kubernetes-minimal is the simulator's built-in one, whose archive is not stored.
    await start(BUILTIN_TEMPLATES.filter((t) => t.name !== "kubernetes-medium-greedy"));
    const builtin = templateNamed("kubernetes-minimal")!;
    const builtinVersion = builtin.activeVersionId;

    expect(await prepare(loadRunnerConfig(env()), { log }), logs.join("\n")).toBe(0);
    expect(templateNamed("kubernetes-minimal")!.id).toBe(builtin.id);
    expect(templateNamed("kubernetes-minimal")!.activeVersionId).not.toBe(builtinVersion);
    expect(activeTar("kubernetes-minimal")!.equals(await bundleTar(BUNDLED_VARIANTS_DIR, "kubernetes-minimal"))).toBe(true);
    expect(versionsOf("kubernetes-medium-greedy")).toHaveLength(1);
    expect(activeTar("kubernetes-medium-greedy")!.equals(await bundleTar(BUNDLED_VARIANTS_DIR, "kubernetes-medium-greedy"))).toBe(true);
    expect(logs).toContain(`template kubernetes-minimal: promoted version ${templateNamed("kubernetes-minimal")!.activeVersionId}`);
    expect(logs).toContain(`template kubernetes-medium-greedy: created with version ${templateNamed("kubernetes-medium-greedy")!.activeVersionId}`);
    // The import parsed the bundle: agent `m` serves the three app targets.
    const def = sim.state.versions.get(templateNamed("kubernetes-minimal")!.activeVersionId)!.definition;
    expect(def.agents.map((a) => [a.name, a.apps.map((x) => x.slug).sort()])).toEqual([["m", ["wsdi", "wsec", "wsra"]]]);

    // Second prepare: nothing to push.
    const before = { versions: sim.state.versions.size, files: sim.state.files.size, requests: sim.requests.length };
    logs = [];
    expect(await prepare(loadRunnerConfig(env()), { log }), logs.join("\n")).toBe(0);
    expect(sim.state.versions.size).toBe(before.versions);
    expect(sim.state.files.size).toBe(before.files);
    const secondMutating = sim.requests.slice(before.requests).filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.path}`);
    expect(secondMutating.filter((r) => /files|templateversions|templates/.test(r))).toEqual([]);
    expect(logs.filter((l) => l.includes("up to date"))).toHaveLength(2);

    // A changed bundle: one new version, promoted, carrying exactly the new files.
    const variants = join(dir, "variants");
    cpSync(BUNDLED_VARIANTS_DIR, variants, { recursive: true });
    writeFileSync(join(variants, "kubernetes-minimal", "README.md"), "# kubernetes-minimal\n\nChanged for this test.\n");
    const minimalVersions = versionsOf("kubernetes-minimal").length;
    logs = [];
    expect(await prepare(loadRunnerConfig(env()), { log, variantsDir: variants }), logs.join("\n")).toBe(0);
    expect(versionsOf("kubernetes-minimal")).toHaveLength(minimalVersions + 1);
    expect(activeTar("kubernetes-minimal")!.equals(await bundleTar(variants, "kubernetes-minimal"))).toBe(true);
    expect(versionsOf("kubernetes-medium-greedy")).toHaveLength(1);
    expect(sim.state.versions.get(templateNamed("kubernetes-minimal")!.activeVersionId)!.message).toBe("scaletest-runner: bundled kubernetes-minimal (1 changed: README.md)");
  });

  it("keeps the variable values an operator set on the active version when it promotes a new one", async () => {
    await start(BUILTIN_TEMPLATES.filter((t) => t.name !== "kubernetes-minimal"));
    const e = env({ SCALETEST_PARAM_GREEDY_AGENT: "0" });
    expect(await prepare(loadRunnerConfig(e), { log }), logs.join("\n")).toBe(0);
    // The operator re-pushes the same files with their own namespace (coder templates push --variable namespace=team-scale).
    const client = new CoderClient({ url: sim.url, token: sim.sessionToken });
    const tpl = templateNamed("kubernetes-minimal")!;
    const pushed = await client.request<{ id: string }>("POST", `/api/v2/organizations/${sim.organization.id}/templateversions`, {
      body: {
        storage_method: "file",
        provisioner: "terraform",
        file_id: sim.state.versions.get(tpl.activeVersionId)!.job.fileId,
        template_id: tpl.id,
        user_variable_values: [{ name: "namespace", value: "team-scale" }],
      },
    });
    const job = sim.state.versions.get(pushed.id)!.job;
    if (job.status !== "succeeded") await new Promise<void>((done) => job.watchers.add({ log() {}, done }));
    await client.request("PATCH", `/api/v2/templates/${tpl.id}/versions`, { body: { id: pushed.id } });
    const variablesOf = (versionId: string) => client.request<TemplateVersionVariable[]>("GET", `/api/v2/templateversions/${versionId}/variables`);
    expect((await variablesOf(pushed.id)).map((v) => [v.name, v.value])).toEqual([
      ["namespace", "team-scale"],
      ["kubernetes_nodepool_workspaces", ""],
    ]);

    // Same files: nothing is pushed, so the value stays.
    logs = [];
    expect(await prepare(loadRunnerConfig(e), { log }), logs.join("\n")).toBe(0);
    expect(templateNamed("kubernetes-minimal")!.activeVersionId).toBe(pushed.id);

    // A changed bundle: the promoted version keeps namespace; the variable left at its default follows the bundle.
    const variants = join(dir, "variants");
    cpSync(BUNDLED_VARIANTS_DIR, variants, { recursive: true });
    writeFileSync(join(variants, "kubernetes-minimal", "README.md"), "# kubernetes-minimal\n\nChanged for this test.\n");
    logs = [];
    expect(await prepare(loadRunnerConfig(e), { log, variantsDir: variants }), logs.join("\n")).toBe(0);
    const promoted = templateNamed("kubernetes-minimal")!.activeVersionId;
    expect(promoted).not.toBe(pushed.id);
    expect(logs).toContain("template kubernetes-minimal: keeping the active version's values of namespace");
    expect((await variablesOf(promoted)).map((v) => [v.name, v.value, v.default_value])).toEqual([
      ["namespace", "team-scale", "coder-big"],
      ["kubernetes_nodepool_workspaces", "", ""],
    ]);
  });

  it("in dry-run only compares: says what it would push and sends no mutating request", async () => {
    await start(BUILTIN_TEMPLATES.filter((t) => t.name !== "kubernetes-medium-greedy"));
    expect(await prepare(loadRunnerConfig(env({ SCALETEST_PARAM_DRY_RUN: "1" })), { log }), logs.join("\n")).toBe(0);
    expect(logs).toContain("DRYRUN: template kubernetes-minimal: would push a new version (README.md, main.tf, ws-apps.pl)");
    expect(logs).toContain("DRYRUN: template kubernetes-medium-greedy: would create it (README.md, main.tf)");
    expect(mutating()).toEqual([]);
    expect(sim.state.files.size).toBe(0);
  });

  it("a failed import stops prepare with the template's name and the job's error; nothing else is done", async () => {
    await start();
    const add = sim.state.addTemplateVersion.bind(sim.state);
    sim.state.addTemplateVersion = (input) => {
      const v = add(input);
      v.job.willFail = true;
      return v;
    };
    const minimal = templateNamed("kubernetes-minimal")!;
    const active = minimal.activeVersionId;
    expect(await prepare(loadRunnerConfig(env()), { log })).toBe(1);
    expect(logs.at(-1)).toMatch(/^prepare failed: template kubernetes-minimal: could not make it match the bundled variant: import template "kubernetes-minimal" version [0-9a-f-]+: job failed: /);
    expect(minimal.activeVersionId).toBe(active);
    // Stopped at the first template: the greedy one was not looked at, and no cleanup ran.
    expect(sim.requests.some((r) => r.path.endsWith("/templates/kubernetes-medium-greedy"))).toBe(false);
    expect(logs.some((l) => l.startsWith("cleanup"))).toBe(false);
    expect(sim.state.workspaces.size).toBe(0);
  });
});
