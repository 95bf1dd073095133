#!/usr/bin/env node
// The `scaletest` command, however it is reached (node, npx, npm link, a global install, npm run): it always calls main().
// A checkout runs the TypeScript sources in this process through tsx, so signals reach the CLI directly and a
// dist/ left over from an earlier build is never used; a packed package ships no src/ and runs dist/, which
// `npm pack` compiled.
import { existsSync } from "node:fs";
import { setFlagsFromString } from "node:v8";

// No allocation-site pretenuring. ws gives each connection a fresh `[]` per message to hold its data; when a
// scrape or a dial storm makes minor GCs frequent, nearly all of them are still alive at one, so V8 starts
// allocating them in the old generation. Each dead one then keeps its message's read buffer until the next full
// GC: measured at 1000 connections with a 1 Hz scrape, ~10 MiB/s of echoes piled up to ~64 MiB (peak RSS
// 221-229 MiB instead of 153-157). The CLI's long-lived state is created once, so it loses nothing by this.
setFlagsFromString("--no-allocation-site-pretenuring");

const source = new URL("../src/cli.ts", import.meta.url);
let cli;
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  cli = await import(source.href);
} else {
  cli = await import("../dist/cli.js");
}
process.exitCode = await cli.main(process.argv.slice(2));
