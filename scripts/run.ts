#!/usr/bin/env -S npx tsx
// run: the staged scale test, then cleanup per the strategy and the summary (dry-run: the plan only).
import { run, withConfig } from "../src/run/lifecycle.ts";
import { stopOnSignals } from "../src/util/signals.ts";

process.exitCode = await withConfig(process.env, (cfg) => run(cfg, stopOnSignals()));
