#!/usr/bin/env -S npx tsx
// prepare: status Preparing, the runner's own API token, cleanup of earlier runs' leftovers (src/run/lifecycle.ts).
import { prepare, withConfig } from "../src/run/lifecycle.ts";
import { stopOnSignals } from "../src/util/signals.ts";

process.exitCode = await withConfig(process.env, (cfg) => prepare(cfg, stopOnSignals()));
