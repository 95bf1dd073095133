#!/usr/bin/env node
// @ts-check
// metadata <status|phase|previous-phase>: one line for the runner workspace's agent metadata. Runs every 2 s under plain node (no tsx).
import { METADATA_ITEMS, metadata } from "../src/run/metadata.js";

const what = process.argv[2] ?? "status";
const item = METADATA_ITEMS.find((i) => i === what);
if (!item) {
  process.stderr.write(`metadata: unknown item "${what}"; use ${METADATA_ITEMS.join(", ")}\n`);
  process.exitCode = 2;
} else {
  process.stdout.write(`${metadata(process.env, item)}\n`);
}
