#!/usr/bin/env -S npx tsx
// cleanup <manual|on_stop|on_success|on_error|prepare> [--yes]: delete scaletest workspaces and users as the strategy says.
import { argv, question } from "zx";
import { CLEANUP_EVENTS, isCleanupEvent } from "../src/run/cleanup-policy.ts";
import { cleanup, EXIT, withConfig } from "../src/run/lifecycle.ts";
import { stopOnSignals } from "../src/util/signals.ts";

const event = String(argv._[0] ?? "manual");
if (!isCleanupEvent(event)) {
  process.stderr.write(`cleanup: unknown event "${event}"; use one of ${CLEANUP_EVENTS.join(", ")}\n`);
  process.exitCode = EXIT.usage;
} else {
  process.exitCode = await withConfig(process.env, (cfg) => cleanup(cfg, event, {
    yes: Boolean(argv.yes || argv.y),
    isTTY: Boolean(process.stdin.isTTY),
    ask: (q) => question(q),
    ...stopOnSignals(),
  }));
}
