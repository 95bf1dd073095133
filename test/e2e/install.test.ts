// The package as a user installs it: `npm pack` (which compiles dist/), `npm i -g --prefix` of the tarball, and
// `npm link` of the checkout, each into a temporary prefix; then the installed `scaletest` bin, reached through
// npm's symlink, prints its version, rejects a malformed flag by name, and creates workspaces on a simulator.
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { name: string; version: string };

let tmp: string;
let sim: Simulator;
/** The `scaletest` each install put on its prefix's PATH. */
const bins: Record<"global" | "link", string> = { global: "", link: "" };
/** Seconds each install step took (printed once, for the record of how slow packing is). */
const took: Record<string, number> = {};

async function timed<T>(name: string, step: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await step();
  } finally {
    took[name] = Math.round((performance.now() - t0) / 100) / 10;
  }
}

/** npm without the caller's lifecycle variables (`npm test` sets some), so each command reads only its own flags. */
function npm(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("npm_")));
  return execa("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd: REPO, env: { ...clean, ...env }, extendEnv: false });
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "scaletest-install-"));
  const global = join(tmp, "global");
  const link = join(tmp, "link");
  await Promise.all([
    (async () => {
      await timed("npm pack", () => npm(["pack", "--pack-destination", tmp]));
      const tarball = (await readdir(tmp)).find((f) => f.endsWith(".tgz"));
      expect(tarball, "npm pack wrote no tarball").toBeDefined();
      // Dependencies come from the npm cache that `npm ci` filled; the registry is asked only for what is missing.
      await timed("npm i -g", () => npm(["install", "--global", "--prefix", global, "--prefer-offline", join(tmp, tarball!)]));
    })(),
    // The global prefix comes from the environment: npm link's --prefix flag would also move the package folder.
    timed("npm link", () => npm(["link"], { npm_config_prefix: link })),
  ]);
  bins.global = join(global, "bin", "scaletest");
  bins.link = join(link, "bin", "scaletest");
  sim = await startSimulator({ port: 0 });
  process.stderr.write(`install test: ${Object.entries(took).map(([k, s]) => `${k} ${s}s`).join(", ")}\n`);
}, 180_000);

afterAll(async () => {
  await sim?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function scaletest(how: keyof typeof bins, args: string[], env: Record<string, string> = {}) {
  return execa(bins[how], args, {
    reject: false,
    cwd: tmp,
    // Only what a user's shell would have: PATH (the bin's `#!/usr/bin/env node`) and the command's own settings.
    env: { PATH: process.env.PATH ?? "", HOME: tmp, SCALETEST_STATE_DIR: join(tmp, `state-${how}`), CODER_CONFIG_DIR: join(tmp, "nocfg"), ...env },
    extendEnv: false,
  });
}

describe("installed scaletest", () => {
  it("the tarball ships compiled JavaScript and no sources; the link points at this checkout", () => {
    const installed = realpathSync(join(dirname(dirname(bins.global)), "lib", "node_modules", pkg.name));
    expect(existsSync(join(installed, "dist", "cli.js"))).toBe(true);
    expect(existsSync(join(installed, "src"))).toBe(false);
    expect(realpathSync(bins.global)).toBe(join(installed, "bin", "scaletest.js"));
    expect(realpathSync(bins.link)).toBe(join(realpathSync(REPO), "bin", "scaletest.js"));
  });

  describe.each(["global", "link"] as const)("through %s", (how) => {
    it("--version prints the package version", async () => {
      const res = await scaletest(how, ["--version"]);
      expect(res.exitCode, res.stderr).toBe(0);
      expect(res.stdout).toBe(pkg.version);
    });

    it("create-workspaces --count abc exits 2 naming --count", async () => {
      const res = await scaletest(how, ["create-workspaces", "--count", "abc"]);
      expect(res.exitCode).toBe(2);
      expect(res.stderr).toContain("--count");
    });

    it("create-workspaces --count 2 creates two workspaces on the simulator and cleans them up", async () => {
      const before = new Set(sim.state.workspaces.keys());
      const res = await scaletest(how, ["create-workspaces", "--count", "2"], {
        CODER_URL: sim.url,
        CODER_SESSION_TOKEN: sim.sessionToken,
        CODER_SCALETEST_TEMPLATE: sim.template.name,
      });
      expect(res.exitCode, res.stderr).toBe(0);
      expect(`${res.stdout}\n${res.stderr}`).not.toContain(sim.sessionToken);
      const created = [...sim.state.workspaces.values()].filter((w) => !before.has(w.id));
      expect(created).toHaveLength(2);
      expect(created.every((w) => w.name.startsWith("scaletest-") && w.deleted)).toBe(true);
    });
  });
});
