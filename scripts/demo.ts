// `npm run demo`: the whole staged scale test against the built-in simulator (about two minutes), or with DEMO=create
// the create-and-clean-up demo: 20 workspaces created and cleaned up, a summary.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoderClient } from "../src/coder/client.ts";
import { renderDemoSummary, runDemo } from "../src/demo.ts";
import { getErrorMessage } from "../src/errors.ts";
import { runStagedDemo } from "../src/run/demo.ts";
import { coderShimPath } from "../src/simulator/coder-shim/index.ts";
import { startSimulator } from "../src/simulator/index.ts";

const count = Number(process.env.DEMO_COUNT || 20);
const concurrency = Number(process.env.DEMO_CONCURRENCY || 5);

// Provisioning takes a second or two, a few builds fail, agents connect half a second after the build.
const sim = await startSimulator({
  port: 0,
  knobs: { pendingMs: 250, runningMs: 900, jitterMs: 600, agentConnectDelayMs: 400, buildFailureRate: 0.05, seed: 2024 },
});
const stateDir = mkdtempSync(join(tmpdir(), "scaletest-demo-"));
const ctl = new AbortController();
process.once("SIGINT", () => ctl.abort(new Error("interrupted")));
process.stderr.write(`Coder simulator on ${sim.url}\n`);

let exitCode = 1;
try {
  if (process.env.DEMO !== "create") {
    // Results stay after the demo (their path is printed last); only the ledger's temp dir goes.
    const runDir = mkdtempSync(join(tmpdir(), "scaletest-demo-run-"));
    const settings = { workspaces: Number(process.env.DEMO_COUNT || 8), scenarioDuration: process.env.DEMO_SCENARIO_DURATION || "20s", baseline: "5s" };
    exitCode = await runStagedDemo(sim, { ...settings, runDir, ledgerDir: join(stateDir, "ledger"), coderBinary: coderShimPath() }, {
      signal: ctl.signal,
      log: (l) => process.stderr.write(`${l}\n`),
      out: (t) => process.stdout.write(t),
    });
    // runStagedTest has already counted what is left on the simulator and failed the run if anything is.
  } else {
    const client = new CoderClient({ url: sim.url, token: sim.sessionToken, bypassRateLimit: true, retry: { retries5xx: 2 } });
    const summary = await runDemo(
      client,
      { template: sim.template.name, count, concurrency, retry: 2, stateDir, buildPollMs: 250, agentPollMs: 250 },
      { stderr: process.stderr, signal: ctl.signal },
    );
    process.stdout.write(renderDemoSummary(summary));
    const clean = summary.leftover.workspaces === 0 && summary.leftover.users === 0;
    if (!clean) process.stderr.write("demo: the simulator still has scaletest resources after cleanup\n");
    exitCode = clean && summary.outcomes.ok === summary.outcomes.total ? 0 : 1;
  }
} catch (err) {
  process.stderr.write(`demo failed: ${getErrorMessage(err)}\n`);
} finally {
  await sim.close();
  rmSync(stateDir, { recursive: true, force: true });
}
process.exitCode = exitCode;
