// Memory per SSH target: K connections through the simulator's `coder` shim; runner RSS growth and the tunnel children's RSS, per target.
import { performance } from "node:perf_hooks";
import { CoderClient } from "../src/coder/client.ts";
import { waitForAgents, waitForBuild } from "../src/coder/builds.ts";
import { processRss } from "../src/metrics/health.ts";
import { chooseAgent } from "../src/scenarios/workspace-traffic/select.ts";
import { coderShimPath } from "../src/simulator/coder-shim/index.ts";
import { startSimulator } from "../src/simulator/index.ts";
import { countingConn, noMetrics } from "../src/traffic/conn.ts";
import { runTrafficJob } from "../src/traffic/job.ts";
import { makePayload } from "../src/traffic/payload.ts";
import { Scheduler } from "../src/traffic/scheduler.ts";
import { openSsh, type SshConn } from "../src/traffic/ssh.ts";

const K = Number(process.env.BENCH_SSH_TARGETS ?? 20);
const sim = await startSimulator({ knobs: { pendingMs: 0, runningMs: 0, agentConnectDelayMs: 0 } });
const client = new CoderClient({ url: sim.url, token: sim.sessionToken });
const ws = await client.createWorkspace(sim.owner.id, { template_id: sim.template.id, name: "scaletest-sshmem-0" });
await waitForBuild(client, ws.latest_build.id);
await waitForAgents(client, ws.id);
const agent = chooseAgent(await client.workspace(ws.id))!;
const payload = makePayload(1024);
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
// The simulator shares this process; its per-connection cost is part of the "runner" figure, so this is an upper bound.
const before = process.memoryUsage.rss();
const conns: SshConn[] = [];
for (let i = 0; i < K; i++) {
  conns.push(await openSsh({ coderBinary: coderShimPath(), target: `${sim.owner.username}/${ws.name}.${agent.name}`, coderUrl: sim.url, token: sim.sessionToken, payload }));
}
const scheduler = new Scheduler();
const t0 = performance.now();
const jobs = conns.map((c) =>
  runTrafficJob({ conn: countingConn(c, noMetrics), scheduler, tickIntervalMs: 100, durationMs: 5_000, metrics: noMetrics, echo: { template: payload.bytes, markerLen: payload.markerLen } }),
);
await new Promise((r) => setTimeout(r, 4_000));
gc?.();
const runner = (process.memoryUsage.rss() - before) / K;
const children = conns.reduce((sum, c) => sum + processRss(c.pid!), 0) / K;
await Promise.all(jobs);
scheduler.close();
const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
process.stdout.write(
  `${K} SSH targets over ${((performance.now() - t0) / 1000).toFixed(1)} s: runner +${mib(runner)} MiB per target (includes the in-process simulator's side), ` +
    `coder shim child ${mib(children)} MiB RSS per target, total ${mib(runner + children)} MiB per target\n`,
);
await sim.close();
process.exit(0);
