#!/usr/bin/env -S npx tsx
// startup (the agent's startup script): report started, prepare, run, report completed/failed.
import { startup } from "../src/run/lifecycle.ts";
import { stopOnSignals } from "../src/run/signals.ts";

process.exitCode = await startup(process.env, { signal: stopOnSignals() });
