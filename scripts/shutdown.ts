#!/usr/bin/env -S npx tsx
// shutdown (workspace stop): stop a run in progress, clean up if the strategy is on_stop, delete the runner token.
import { withConfig } from "../src/run/lifecycle.ts";
import { shutdown } from "../src/run/shutdown.ts";

process.exitCode = await withConfig(process.env, (cfg) => shutdown(cfg));
