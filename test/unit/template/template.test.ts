// The runner template: parses, is terraform-fmt clean, and agrees with the runner's env table (each check shown to fail on a mutated copy).
import { readdirSync, readFileSync } from "node:fs";
import { format as formatHcl } from "@cdktf/hcl-tools";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  checkDefaultsValidate,
  checkEnvMapping,
  checkMetricsPorts,
  checkParameterRanges,
  checkParameterRules,
  checkTemplate,
  envFromDefaults,
} from "../../../tools/template/check.ts";
import { docsProblems, renderParameterTable, replaceParameterSection } from "../../../tools/template/docs.ts";
import { renderSettingsTable, replaceSettingsSection, settingsDocsProblems } from "../../../tools/template/settings-docs.ts";
import { RUNNER_SETTINGS } from "../../../src/run/config.ts";
import { parseHcl, parseTemplate, type TemplateModel } from "../../../tools/template/model.ts";
import { RUNNER_ENV } from "../../../src/run/settings.ts";
import { mainTf, mutated, templateDir } from "../../helpers/template.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));

function tfFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? tfFiles(join(dir, d.name)) : d.name.endsWith(".tf") ? [join(dir, d.name)] : [],
  );
}

let model: TemplateModel;
beforeAll(async () => {
  model = await parseTemplate(mainTf);
});

describe("template files", () => {
  it("parses every .tf file with a real HCL parser", async () => {
    const files = tfFiles(templateDir);
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) {
      const json = await parseHcl(f, readFileSync(f, "utf8"));
      expect(Object.keys(json), f).toContain("resource");
    }
  });

  it("rejects HCL that does not parse", async () => {
    await expect(parseHcl("bad.tf", 'resource "x" "y" {\n  a = \n')).rejects.toThrow();
  });

  // hclwrite.Format (what `terraform fmt` runs), compiled to WebAssembly: the same check on every machine.
  it("is terraform fmt clean (every .tf file)", async () => {
    const changed: string[] = [];
    for (const f of tfFiles(templateDir)) {
      const text = readFileSync(f, "utf8");
      if ((await formatHcl(text)) !== text) changed.push(f);
    }
    expect(changed, "files terraform fmt would change").toEqual([]);
  });
  it("the fmt check catches a misaligned copy", async () => {
    const bad = mainTf.replace(/\n  order(\s+)= 1\n/, "\n  order = 1\n");
    expect(bad).not.toBe(mainTf);
    expect(await formatHcl(bad)).not.toBe(bad);
  });
});

describe("main.tf against src/config", () => {
  it("passes every check", () => {
    expect(checkTemplate(model)).toEqual([]);
  });

  it("maps every run setting: one parameter per SCALETEST_PARAM_* setting", () => {
    const paramSettings = Object.values(RUNNER_ENV).filter((s) => s.source === "parameter");
    expect(model.parameters).toHaveLength(paramSettings.length);
    expect(new Set(model.parameters.map((p) => p.label))).toEqual(new Set(paramSettings.map((s) => s.parameter!.label)));
  });

  it("builds an env from the parameter defaults that the runner loads", () => {
    const env = envFromDefaults(model);
    expect(env.SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_DURATION).toBe("30m");
    expect(env.SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_TICK_INTERVAL).toBe("100ms");
    expect(env.SCALETEST_PARAM_LOAD_SCENARIOS).toBe('["SSH Traffic","Web Terminal Traffic","App Traffic","Dashboard Traffic"]');
    expect(env.SCALETEST_PARAM_DRY_RUN).toBe("true");
    expect(env.SCALETEST_TRAFFIC_METRICS_PORT).toBe("21112");
  });
});

describe("each check fails on a mutated template", () => {
  it("reports a renamed env var as an orphan and the setting as unset", async () => {
    const m = await mutated(/SCALETEST_PARAM_NUM_WORKSPACES(\s+)=/, "SCALETEST_PARAM_NUM_WORKSPACE$1=");
    const problems = checkEnvMapping(m);
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(["template/main.tf env SCALETEST_PARAM_NUM_WORKSPACE", "template/main.tf env SCALETEST_PARAM_NUM_WORKSPACES"]),
    );
    expect(problems.find((p) => p.path.endsWith("NUM_WORKSPACE"))?.message).toContain("orphan env var");
  });

  it("reports a parameter that reaches no env var", async () => {
    const m = await mutated(/\n\s+SCALETEST_PARAM_VERBOSE\s+= data\.coder_parameter\.verbose\.value/, "");
    const problems = checkEnvMapping(m);
    expect(problems).toContainEqual({ path: "template/main.tf data.coder_parameter.verbose", message: "reaches no env var the runner reads (orphan parameter)" });
  });

  it("reports a duration mapped with the wrong unit", async () => {
    const m = await mutated('"${data.coder_parameter.load_scenario_baseline_duration.value}m"', '"${data.coder_parameter.load_scenario_baseline_duration.value}s"');
    expect(checkEnvMapping(m).map((p) => p.message)).toEqual([
      'must be "${data.coder_parameter.load_scenario_baseline_duration.value}m", got "${data.coder_parameter.load_scenario_baseline_duration.value}s"',
    ]);
  });

  it("reports a secret set inline instead of from a Kubernetes secret", async () => {
    const m = await mutated(/name = "GRAFANA_API_TOKEN"\s+value_from \{\s+secret_key_ref \{[^}]*\}\s+\}/, 'name  = "GRAFANA_API_TOKEN"\n          value = "inline"');
    expect(checkEnvMapping(m)).toContainEqual({
      path: "template/main.tf env GRAFANA_API_TOKEN",
      message: "must come from a Kubernetes secret (value_from), never an inline value",
    });
  });

  it("reports a default that fails config validation", async () => {
    const m = await mutated(/(name\s+= "Number of workspaces to create"\s+type\s+= "number"\s+default\s+=) 100/, "$1 5000");
    expect(checkDefaultsValidate(m)).toEqual([
      {
        path: "template/main.tf defaults → SCALETEST_PARAM_NUM_WORKSPACES",
        message: 'must be an integer from 1 to 2000 (template parameter "Number of workspaces to create"), got 5000',
      },
    ]);
    expect(checkParameterRules(m).map((p) => p.message)).toContain("default 5000 is outside min 1 max 2000");
  });

  it("reports a range that disagrees with the config table", async () => {
    const m = await mutated(/(name\s+= "SSH Traffic Percentage"[\s\S]*?max\s+=) 100/, "$1 90");
    expect(checkParameterRanges(m)).toEqual([
      {
        path: "template/main.tf data.coder_parameter.load_scenario_ssh_traffic_percentage",
        message: "validation must be min 1 max 100 like SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE, got min 1 max 90",
      },
    ]);
  });

  it("reports a duration range in the wrong unit", async () => {
    const m = await mutated(/(name\s+= "Baseline Wait Duration"[\s\S]*?max\s+=) 60/, "$1 3600");
    expect(checkParameterRanges(m)[0]?.message).toBe(
      "validation must be min 0 max 60 (m) like SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION, got min 0 max 3600",
    );
  });

  it("reports options that disagree, and a renamed parameter", async () => {
    const m = await mutated('value       = "wsdi"', 'value       = "wsxx"');
    expect(checkParameterRanges(m)[0]?.message).toContain('options must be ["wsec","wsra","wsdi"]');
    const renamed = await mutated('name        = "Create concurrency"', 'name        = "Creation concurrency"');
    expect(checkParameterRanges(renamed)[0]?.message).toBe('name must be "Create concurrency" (as the config table\'s messages say), got "Creation concurrency"');
  });

  it("reports a string regex that accepts what the runner rejects", async () => {
    const m = await mutated('regex = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"', 'regex = "^[a-z0-9-]+$"');
    expect(checkParameterRanges(m)).toEqual([
      {
        path: "template/main.tf data.coder_parameter.namespace",
        message: expect.stringMatching(/^validation regex must accept exactly what SCALETEST_PARAM_NAMESPACE accepts; they disagree on "-lead", "trail-", "aaaaaaaa…\(64 chars\)"/),
      },
    ]);
  });

  it("reports provider rule violations: ephemeral without mutable, regex without error", async () => {
    const m = await mutated(/(name\s+= "Verbose"[\s\S]*?mutable\s+=) true/, "$1 false");
    expect(checkParameterRules(m)).toEqual([
      { path: "template/main.tf data.coder_parameter.verbose", message: "ephemeral parameters must be mutable and have a default" },
    ]);
  });

  it("reports metrics ports that differ from the runner's", async () => {
    const m = await mutated('"prom-dash"    = 21113', '"prom-dash"    = 21119');
    expect(checkMetricsPorts(m)[0]?.message).toBe("must declare the runner's metrics ports 21112,21113,21114, got 21112,21114,21119");
  });
});

describe("generated settings docs", () => {
  it("docs/cli.md carries the table of the non-parameter settings generated from the settings table (run npm run template:docs)", () => {
    expect(settingsDocsProblems("docs/cli.md", readFileSync(join(root, "docs/cli.md"), "utf8"), RUNNER_SETTINGS)).toEqual([]);
  });

  it("gives each one its default and range, and reports a stale table", () => {
    const table = renderSettingsTable(RUNNER_SETTINGS);
    expect(table).toContain("| `SCALETEST_SHARD_START_LEAD` | fixed in main.tf | `1m30s` | a duration from 1s to 30m0s |");
    expect(table).toContain("| `SCALETEST_GREEDY_AGENT_TICK_INTERVAL` | your environment only | `40ms` | a duration from 1ms to 1m0s |");
    expect(table).not.toContain("SCALETEST_PARAM_");
    const stale = replaceSettingsSection(readFileSync(join(root, "docs/cli.md"), "utf8"), table.replace("30m0s", "1h0m0s"));
    expect(settingsDocsProblems("docs/cli.md", stale, RUNNER_SETTINGS)).toEqual([{ path: "docs/cli.md", message: "settings table is stale; run `npm run template:docs`" }]);
  });
});

describe("generated parameter docs", () => {
  for (const file of ["README.md", "template/README.md"]) {
    it(`${file} carries the table generated from main.tf (run npm run template:docs)`, () => {
      expect(docsProblems(file, readFileSync(join(root, file), "utf8"), model)).toEqual([]);
    });
  }

  it("reports a stale table and missing markers", async () => {
    const readme = readFileSync(join(templateDir, "README.md"), "utf8");
    const m = await mutated('description = "Show debug output."', 'description = "Print more."');
    expect(docsProblems("template/README.md", readme, m)).toEqual([
      { path: "template/README.md", message: "parameter table is stale; run `npm run template:docs`" },
    ]);
    expect(docsProblems("x.md", "# no markers\n", model)[0]?.message).toMatch(/missing <!-- BEGIN PARAMETERS -->/);
  });

  it("lists every parameter once, in form order, with its env var and unit", () => {
    const table = renderParameterTable(model);
    const rows = table.split("\n").slice(2);
    expect(rows).toHaveLength(model.parameters.length);
    expect(rows[0]).toMatch(/^\| 1 \| Verbose \*\(ephemeral\)\* \| bool \| `false` \|/);
    expect(table).toContain("| 30 | SSH Traffic Duration | number (minutes) | `30` | 1–1440 | `SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_DURATION` |");
    expect(replaceParameterSection("a\n<!-- BEGIN PARAMETERS -->\nold\n<!-- END PARAMETERS -->\nb", "T")).toBe(
      "a\n<!-- BEGIN PARAMETERS -->\nT\n<!-- END PARAMETERS -->\nb",
    );
  });
});
