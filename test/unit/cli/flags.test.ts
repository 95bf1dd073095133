import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLEANUP_STRATEGY_FLAGS, FlagReader, GLOBAL_FLAGS, OUTPUT_FLAGS, STRATEGY_FLAGS, addFlags, readStrategy, splitCsvRecord } from "../../../src/cli/flags.ts";
import { defaultCoderConfigDir, readGlobals } from "../../../src/cli/deployment.ts";
import { parseOutputSpecs, writeOutputs } from "../../../src/cli/output.ts";
import { parseParameterYaml } from "../../../src/cli/create-workspaces.ts";
import { ConfigError } from "../../../src/errors.ts";
import type { Results } from "../../../src/harness/results.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cli-common-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ALL = [...STRATEGY_FLAGS, ...CLEANUP_STRATEGY_FLAGS, ...OUTPUT_FLAGS, ...GLOBAL_FLAGS];
function parse(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const cmd = addFlags(new Command("x").exitOverride(), ALL);
  cmd.parse(argv, { from: "user" });
  return new FlagReader(cmd, ALL, env);
}

describe("flag precedence", () => {
  it("takes the flag, else a non-empty env var, else the upstream default", () => {
    expect(readStrategy(parse([]))).toEqual({ concurrency: 1, timeoutMs: 30 * 60_000, jobTimeoutMs: 5 * 60_000 });
    expect(readStrategy(parse([], { CODER_SCALETEST_CONCURRENCY: "7", CODER_SCALETEST_TIMEOUT: "", CODER_SCALETEST_JOB_TIMEOUT: "90s" }))).toEqual({
      concurrency: 7,
      timeoutMs: 30 * 60_000,
      jobTimeoutMs: 90_000,
    });
    expect(readStrategy(parse(["--concurrency", "0", "--timeout", "1h"], { CODER_SCALETEST_CONCURRENCY: "7" }))).toMatchObject({ concurrency: 0, timeoutMs: 3_600_000 });
  });

  it("names the flag or env var a bad value came from", () => {
    const r = parse(["--concurrency", "lots"], { CODER_SCALETEST_JOB_TIMEOUT: "-5m" });
    readStrategy(r);
    expect(() => r.done()).toThrow(ConfigError);
    expect(r.problems.map((p) => p.path)).toEqual(["--concurrency", "CODER_SCALETEST_JOB_TIMEOUT"]);
  });

  it("parses booleans from env vars as Go's ParseBool", () => {
    expect(parse([], { CODER_VERBOSE: "T" }).bool("verbose")).toBe(true);
    expect(parse([], { CODER_VERBOSE: "0" }).bool("verbose")).toBe(false);
    const r = parse([], { CODER_VERBOSE: "yes" });
    r.bool("verbose");
    expect(r.problems[0]).toEqual({ path: "CODER_VERBOSE", message: 'must be true or false, got "yes"' });
  });

  it("splits repeatable values as CSV records; the env var is one more value", () => {
    expect(parse(["--output", "text,json:/tmp/a.json", "--output", "json:/tmp/b.json"]).list("output")).toEqual(["text", "json:/tmp/a.json", "json:/tmp/b.json"]);
    expect(parse([], { CODER_SCALETEST_OUTPUTS: '"json:/tmp/with,comma.json"' }).list("output")).toEqual(["json:/tmp/with,comma.json"]);
    const bad = parse([], { CODER_SCALETEST_OUTPUTS: 'json:"/tmp/x.json"' });
    expect(bad.list("output")).toEqual([]);
    expect(bad.problems[0]?.path).toBe("CODER_SCALETEST_OUTPUTS");
  });
});

describe("splitCsvRecord", () => {
  it("handles quotes and escaped quotes like encoding/csv", () => {
    expect(splitCsvRecord('a,"b,c","d""e",')).toEqual(["a", "b,c", 'd"e', ""]);
    expect(splitCsvRecord("")).toEqual([""]);
    expect(() => splitCsvRecord('a"b')).toThrow(/bare "/);
    expect(() => splitCsvRecord('"ab')).toThrow(/extraneous or missing "/);
  });
});

describe("--output", () => {
  it("defaults to text on stdout and splits format from path at the first colon", () => {
    expect(parseOutputSpecs([])).toEqual([{ format: "text" }]);
    const p = join(dir, "r:1.json");
    expect(parseOutputSpecs(["json", `text:${p}`])).toEqual([{ format: "json" }, { format: "text", path: p }]);
  });
  it("rejects unknown formats, two stdout specs and missing directories", () => {
    expect(() => parseOutputSpecs(["yaml"])).toThrow(/invalid output format "yaml"/);
    expect(() => parseOutputSpecs(["text", "json"])).toThrow(/multiple output flags specified for stdout/);
    expect(() => parseOutputSpecs([`json:${join(dir, "nope", "r.json")}`])).toThrow(/does not exist/);
  });
  it("writes stdout first, then files (truncated)", () => {
    const r: Results = { total_runs: 0, total_pass: 0, total_fail: 0, elapsed: "0s", elapsed_ms: 0, runs: {} };
    const file = join(dir, "r.json");
    writeFileSync(file, "old content that is longer than the new one ".repeat(10));
    let out = "";
    writeOutputs(r, [{ format: "json", path: file }, { format: "text" }], { write: (c: string) => ((out += c), true) } as unknown as NodeJS.WritableStream);
    expect(out).toBe("\n\nTest results:\n\tNo tests run\n");
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(r);
  });
});

describe("credentials", () => {
  it("falls back to the config dir's url and session files", () => {
    const cfg = join(dir, "coderv2");
    mkdirSync(cfg);
    writeFileSync(join(cfg, "url"), "https://coder.example.com\n");
    writeFileSync(join(cfg, "session"), "abcdefghij-0123456789012345678901\n");
    const g = readGlobals(parse([], { CODER_CONFIG_DIR: cfg }), {});
    expect(g).toMatchObject({ url: "https://coder.example.com", token: "abcdefghij-0123456789012345678901", configDir: cfg });
    expect(readGlobals(parse(["--url", "http://x"], { CODER_CONFIG_DIR: cfg, CODER_URL: "http://y" }), {}).url).toBe("http://x");
  });
  it("uses the OS config dir like the Coder CLI", () => {
    expect(defaultCoderConfigDir({ XDG_CONFIG_HOME: "/xdg" }, "linux")).toBe("/xdg/coderv2");
    expect(defaultCoderConfigDir({}, "darwin")).toMatch(/Library\/Application Support\/coderv2$/);
  });
});

describe("--rich-parameter-file", () => {
  it("reads a flat YAML map; lists become JSON strings", () => {
    const yaml = `# comment\ncpu: 2\nregion: "eu-west"\nquoted: 'it''s'\nenabled: true\ntags: [a, "b c"]\nmore:\n  - x\n  - y\n`;
    expect(parseParameterYaml(yaml)).toEqual({ cpu: "2", region: "eu-west", quoted: "it's", enabled: "true", tags: '["a","b c"]', more: '["x","y"]' });
    expect(() => parseParameterYaml("just text")).toThrow(/line 1: expected "name: value"/);
  });
});
