import { describe, expect, it } from "vitest";
import type { TemplateVersionParameter } from "../../../src/coder/types.ts";
import { defaultCreateWorkspacesConfig, validateCreateWorkspacesConfig } from "../../../src/scenarios/create-workspaces/config.ts";
import { resolveParameters } from "../../../src/scenarios/create-workspaces/parameters.ts";

function param(p: Partial<TemplateVersionParameter> & { name: string }): TemplateVersionParameter {
  return {
    description: "",
    description_plaintext: "",
    type: "string",
    mutable: true,
    default_value: "",
    icon: "",
    options: [],
    required: false,
    ephemeral: false,
    ...p,
  };
}

const params = [
  param({ name: "cpu", type: "number", default_value: "2", validation_min: 1, validation_max: 8 }),
  param({ name: "region", default_value: "eu", options: ["eu", "us"].map((v) => ({ name: v, value: v, description: "", icon: "" })) }),
  param({ name: "gpu", type: "bool", default_value: "false" }),
  param({ name: "dotfiles", required: true }),
  param({ name: "tags", type: "list(string)", default_value: "[]" }),
  param({ name: "once", ephemeral: true }),
];

describe("resolveParameters", () => {
  it("fills defaults for what is not supplied and keeps supplied values", () => {
    const r = resolveParameters(params, { dotfiles: "https://x", cpu: "4" });
    expect(r.problems).toEqual([]);
    expect(r.values).toEqual([
      { name: "cpu", value: "4" },
      { name: "region", value: "eu" },
      { name: "gpu", value: "false" },
      { name: "dotfiles", value: "https://x" },
      { name: "tags", value: "[]" },
    ]);
  });

  it("names unknown, ephemeral, missing-required and out-of-range parameters", () => {
    const r = resolveParameters(params, { nope: "1", once: "x", cpu: "9", region: "asia", gpu: "yes", tags: "a,b" });
    const msgs = r.problems.map((p) => `${p.path} ${p.message}`);
    expect(msgs).toEqual([
      '--parameter parameter "nope" not found in the template (it has: cpu, region, gpu, dotfiles, tags, once)',
      '--parameter parameter "once" is ephemeral; ephemeral parameters are not supported',
      '--parameter parameter "cpu": must be in [1, 8], got 9',
      '--parameter parameter "region": "asia" is not one of "eu", "us"',
      '--parameter parameter "gpu": must be true or false, got "yes"',
      '--parameter parameter "dotfiles" is required and has no default; pass --parameter dotfiles=<value>',
      '--parameter parameter "tags": must be a JSON array of strings, got "a,b"',
    ]);
  });

  it("checks a string against the template's regex", () => {
    const p = [param({ name: "name", default_value: "ok", validation_regex: "^[a-z]+$", validation_error: "lowercase only" })];
    expect(resolveParameters(p, { name: "Bad" }).problems[0]?.message).toBe('parameter "name": lowercase only');
    expect(resolveParameters(p, {}).problems).toEqual([]);
  });
});

describe("validateCreateWorkspacesConfig", () => {
  it("accepts the defaults plus a template", () => {
    expect(validateCreateWorkspacesConfig({ ...defaultCreateWorkspacesConfig(), template: "docker" })).toEqual([]);
  });
  it("names each bad flag", () => {
    const cfg = { ...defaultCreateWorkspacesConfig(), count: -1, retry: 1.5 };
    cfg.strategy.concurrency = -3;
    cfg.cleanup.jobTimeoutMs = -1;
    expect(validateCreateWorkspacesConfig(cfg).map((p) => p.path)).toEqual([
      "--count",
      "--template",
      "--retry",
      "--concurrency",
      "--cleanup-job-timeout",
    ]);
  });
});
