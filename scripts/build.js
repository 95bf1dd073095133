#!/usr/bin/env node
// Compiles src/ into dist/ for the packed package (`npm pack` runs it as prepack): tsc, then every file tsc does not
// emit (the `coder` shim, the simulator's browser script, plain .js modules) copied unchanged with its mode.
// A checkout never runs dist/ (bin/scaletest.js prefers src/), so a stale build cannot be picked up by mistake.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, chmodSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const src = join(root, "src");
const dist = join(root, "dist");

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });

function copyAssets(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const from = join(dir, entry.name);
    if (entry.isDirectory()) copyAssets(from);
    else if (entry.isFile() && !entry.name.endsWith(".ts")) {
      const to = join(dist, relative(src, from));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(from, to);
      chmodSync(to, statSync(from).mode & 0o777);
    }
  }
}
copyAssets(src);
