#!/usr/bin/env node
// The `scaletest` command, however it is reached (node, npx, npm link, a global install, npm run): it always calls main().
// A checkout runs the TypeScript sources in this process through tsx, so signals reach the CLI directly and a
// dist/ left over from an earlier build is never used; a packed package ships no src/ and runs dist/, which
// `npm pack` compiled.
import { existsSync } from "node:fs";

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
