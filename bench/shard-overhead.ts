// Shard overhead: the same web-terminal load (BENCH_WORKSPACES connections, 1 KiB / 100 ms, BENCH_SECONDS long) from
// one `scaletest workspace-traffic` process, then from BENCH_SHARDS shard processes (--shard-count, a shared
// --start-at), against a simulator in this process. Prints each process's CPU (user + sys) and peak RSS (GNU time)
// and the totals, as JSON. What N shards cost beyond one process is what a coordinator's Job adds per pod.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { waitForAgents, waitForBuild } from "../src/coder/builds.ts";
import { CoderClient } from "../src/coder/client.ts";
import { parseShardResultsLog } from "../src/harness/shard-results.ts";
import { startSimulator } from "../src/simulator/index.ts";

const WORKSPACES = Number(process.env.BENCH_WORKSPACES ?? 60);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const SHARDS = Number(process.env.BENCH_SHARDS ?? 3);
const REPO = resolve(import.meta.dirname, "..");

const sim = await startSimulator({ knobs: { pendingMs: 0, runningMs: 10, agentConnectDelayMs: 0 } });
const client = new CoderClient({ url: sim.url, token: sim.sessionToken });
for (let i = 0; i < WORKSPACES; i++) {
  const ws = await client.createWorkspace(sim.owner.id, { template_id: sim.template.id, name: `scaletest-bench-${i}` });
  await waitForBuild(client, ws.latest_build.id);
  await waitForAgents(client, ws.id);
}
const dir = mkdtempSync(join(tmpdir(), "bench-shards-"));

interface Proc {
  cpuS: number;
  rssMiB: number;
  runs: number;
  pass: number;
}

/** One `scaletest workspace-traffic` under GNU time; the shard flags when `shard` is given. */
async function traffic(name: string, shard?: { index: number; startAt: string }): Promise<Proc> {
  const timeFile = join(dir, `${name}.time`);
  const args = ["-f", "%U %S %M", "-o", timeFile, process.execPath, join(REPO, "bin/scaletest.js"), "workspace-traffic"];
  args.push("--timeout", `${SECONDS}s`, "--job-timeout", `${SECONDS + 30}s`, "--concurrency", "0", "--bytes-per-tick", "1024", "--tick-interval", "100ms");
  args.push("--scaletest-prometheus-address", "127.0.0.1:0", "--scaletest-prometheus-wait", "0s", "--output", `json:${join(dir, `${name}.json`)}`, "--workers", "1");
  if (shard) args.push("--shard-count", String(SHARDS), "--shard-index", String(shard.index), "--start-at", shard.startAt);
  const child = spawn("/usr/bin/time", args, {
    env: { PATH: process.env.PATH, HOME: dir, CODER_URL: sim.url, CODER_SESSION_TOKEN: sim.sessionToken, CODER_CONFIG_DIR: join(dir, "cfg") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  if (code !== 0) throw new Error(`${name} exited ${code}: ${stderr}`);
  const [user, sys, rssKiB] = readFileSync(timeFile, "utf8").trim().split("\n").at(-1)!.split(/\s+/).map(Number);
  const results = shard ? parseShardResultsLog(stdout)!.results : (JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as { total_runs: number; total_pass: number });
  return { cpuS: user! + sys!, rssMiB: rssKiB! / 1024, runs: results.total_runs, pass: results.total_pass };
}

const round = (x: number) => Math.round(x * 100) / 100;
try {
  const load: number[] = [loadavg()[0]!];
  const single = await traffic("single");
  load.push(loadavg()[0]!);
  const startAt = new Date(Date.now() + 8000).toISOString();
  const shards = await Promise.all(Array.from({ length: SHARDS }, (_, i) => traffic(`shard-${i}`, { index: i, startAt })));
  load.push(loadavg()[0]!);
  const sum = (f: (p: Proc) => number) => round(shards.reduce((a, p) => a + f(p), 0));
  console.log(
    JSON.stringify(
      {
        connections: WORKSPACES,
        seconds: SECONDS,
        single: { cpuS: round(single.cpuS), rssMiB: round(single.rssMiB), runs: single.runs, pass: single.pass },
        shards: shards.map((p) => ({ cpuS: round(p.cpuS), rssMiB: round(p.rssMiB), runs: p.runs })),
        shardsTotal: { cpuS: sum((p) => p.cpuS), rssMiB: sum((p) => p.rssMiB), runs: sum((p) => p.runs), pass: sum((p) => p.pass) },
        loadavg1: load.map(round),
      },
      null,
      2,
    ),
  );
} finally {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
