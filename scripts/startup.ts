#!/usr/bin/env -S npx tsx
// startup (the agent's startup script): report started, prepare, run, report completed/failed.
import { startup, withConfig } from "../src/run/lifecycle.ts";
import { stopOnSignals } from "../src/util/signals.ts";

process.exitCode = await withConfig(process.env, (cfg) => startup(cfg, stopOnSignals()));
