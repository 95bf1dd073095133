#!/usr/bin/env -S npx tsx
// metadata <status|phase|previous-phase>: one line for the runner workspace's agent metadata (runs every second: imports state only).
import { metadata } from "../src/run/metadata.ts";

const what = process.argv[2] ?? "status";
if (what !== "status" && what !== "phase" && what !== "previous-phase") {
  process.stderr.write(`metadata: unknown item "${what}"; use status, phase or previous-phase\n`);
  process.exitCode = 2;
} else {
  process.stdout.write(`${metadata(process.env, what)}\n`);
}
