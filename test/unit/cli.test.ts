// The `scaletest` entry: --version, the help listing without loading any subcommand, only the invoked subcommand
// loaded, and every commander parse error turned into exit 2 with the flag named.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli.ts";
import { LOADERS } from "../../src/cli.ts";
import { DESCRIPTIONS, type SubcommandName } from "../../src/cli/commands.ts";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

let out: string;
let err: string;
const loaded: SubcommandName[] = [];
const originalLoaders = { ...LOADERS };

beforeEach(() => {
  out = "";
  err = "";
  loaded.length = 0;
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  for (const name of Object.keys(LOADERS) as SubcommandName[]) {
    LOADERS[name] = () => {
      loaded.push(name);
      return originalLoaders[name]();
    };
  }
  process.exitCode = undefined;
});
afterEach(() => {
  Object.assign(LOADERS, originalLoaders);
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe("scaletest entry", () => {
  it("--version prints the package version and loads no subcommand", async () => {
    expect(await main(["--version"])).toBe(0);
    expect(out).toBe(`${pkg.version}\n`);
    expect(loaded).toEqual([]);
  });

  it("--help lists every subcommand with its description without loading any", async () => {
    expect(await main(["--help"])).toBe(0);
    for (const [name, description] of Object.entries(DESCRIPTIONS)) {
      expect(out).toMatch(new RegExp(`^  ${name} `, "m"));
      // commander wraps long descriptions; compare with the whitespace collapsed.
      expect(out.replace(/\s+/g, " ")).toContain(description);
    }
    expect(loaded).toEqual([]);
  });

  it("loads only the invoked subcommand, also for `help NAME`", async () => {
    expect(await main(["sim", "--port", "70000"])).toBe(2);
    expect(err).toContain("validate --port: must be an integer in [0, 65535]");
    expect(loaded).toEqual(["sim"]);
    loaded.length = 0;
    expect(await main(["help", "create-workspaces"])).toBe(0);
    expect(out).toContain("--count <n>");
    expect(loaded).toEqual(["create-workspaces"]);
  });

  it("a traffic subcommand loads only the packages it uses", async () => {
    // In a fresh process: which npm packages loading the subcommand's module pulls in. prom-client's index would
    // add @opentelemetry/api (80 modules) and the dashboard's browser playwright-core; neither is needed to start.
    // bufferutil (through node-gyp-build, which finds its prebuilt binary) is ws's native frame masking.
    const script = `
      import { createRequire } from "node:module";
      for (const m of process.argv.slice(1)) await import(m);
      const names = Object.keys(createRequire(import.meta.url).cache).map((k) => k.match(/node_modules\\/((?:@[^/]+\\/)?[^/]+)/)?.[1]);
      console.log(JSON.stringify([...new Set(names.filter((n) => n && n !== "tsx" && n !== "esbuild"))].sort()));`;
    const modules = ["workspace-traffic", "dashboard"].map((n) => new URL(`../../src/cli/${n}.ts`, import.meta.url).href);
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, ...modules]);
    expect(JSON.parse(stdout)).toEqual(["bufferutil", "commander", "node-gyp-build", "prom-client", "ws"]);
  });

  it.each([
    { args: ["create-workspaces", "--bogus"], names: "unknown option '--bogus'" },
    { args: ["create-workspaces", "--count"], names: "--count <n>' argument missing" },
    { args: ["create-workspaces", "--count", "abc"], names: 'validate --count: must be an integer, got "abc"' },
    { args: ["sim", "--port"], names: "--port <port>' argument missing" },
    { args: ["--bogus"], names: "unknown option '--bogus'" },
    { args: ["create-workspace"], names: "unknown command 'create-workspace'" },
  ])("$args exits 2 and names the flag", async ({ args, names }) => {
    expect(await main(args)).toBe(2);
    expect(err).toContain(names);
  });

  it("points at the subcommand's --help after a parse error instead of printing every flag", async () => {
    expect(await main(["run", "--no-such-flag"])).toBe(2);
    expect(err).toContain('(run "scaletest run --help" for every flag and its allowed values)');
    expect(err).not.toContain("--num-workspaces");
  });
});
