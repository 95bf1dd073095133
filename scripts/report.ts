#!/usr/bin/env -S npx tsx
// report <started|completed|failed>: post the Slack message (dry-run: print it).
import { argv } from "zx";
import { EXIT, report, withConfig } from "../src/run/lifecycle.ts";

const event = String(argv._[0] ?? "");
if (event !== "started" && event !== "completed" && event !== "failed") {
  process.stderr.write(`report: unknown event "${event}"; use started, completed or failed\n`);
  process.exitCode = EXIT.usage;
} else {
  process.exitCode = await withConfig(process.env, (cfg) => report(cfg, event));
}
