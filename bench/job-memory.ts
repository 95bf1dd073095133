// Job memory: `scaletest create-workspaces --count N --timeout 3s` as a child process against a simulator in this
// process; prints the child's peak RSS (GNU time), its wall time, and the time from spawn to its first create (JSON).
// BENCH_JOBS (default 100000), BENCH_TIMEOUT (3s), BENCH_NO_CLEANUP=1 (skip deleting what the 3 s created).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { startSimulator } from "../src/simulator/index.ts";

const COUNT = Number(process.env.BENCH_JOBS ?? 100_000);
const TIMEOUT = process.env.BENCH_TIMEOUT ?? "3s";
const REPO = resolve(import.meta.dirname, "..");

let firstCreate: number | undefined;
let t0 = 0;
const sim = await startSimulator({
  knobs: { pendingMs: 5, runningMs: 10, agentConnectDelayMs: 0 },
  onRequest: (req) => {
    if (firstCreate === undefined && req.method === "POST" && req.url === "/api/v2/users") firstCreate = performance.now() - t0;
  },
});
const dir = mkdtempSync(join(tmpdir(), "bench-jobs-"));
try {
  const timeFile = join(dir, "time.txt");
  const args = ["-f", "%M %e", "-o", timeFile, process.execPath, join(REPO, "bin/scaletest.js"), "create-workspaces", "--count", String(COUNT), "--template", sim.template.name];
  args.push("--timeout", TIMEOUT, "--job-timeout", "1m", "--no-wait-for-agents", "--concurrency", "10", ...(process.env.BENCH_NO_CLEANUP ? ["--no-cleanup"] : []), "--output", `json:${join(dir, "results.json")}`);
  // BENCH_TEXT=1 also prints the text results to stdout (upstream's default output), which holds every failure's log.
  if (process.env.BENCH_TEXT) args.push("--output", "text");
  t0 = performance.now();
  const child = spawn("/usr/bin/time", args, {
    env: { PATH: process.env.PATH, HOME: dir, CODER_URL: sim.url, CODER_SESSION_TOKEN: sim.sessionToken, SCALETEST_STATE_DIR: join(dir, "state"), CODER_CONFIG_DIR: join(dir, "cfg") },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  const wallMs = performance.now() - t0;
  const [maxRssKiB, elapsedS] = readFileSync(timeFile, "utf8").trim().split(/\s+/).slice(-2).map(Number);
  const results = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as { total_runs: number; total_pass: number; total_fail: number };
  process.stdout.write(
    `${JSON.stringify({
      jobs: COUNT,
      exitCode: code,
      peakRssMiB: Math.round(maxRssKiB! / 1024),
      wallS: Number((wallMs / 1000).toFixed(1)),
      childElapsedS: elapsedS,
      firstCreateS: firstCreate === undefined ? null : Number((firstCreate / 1000).toFixed(2)),
      totalRuns: results.total_runs,
      passed: results.total_pass,
      failed: results.total_fail,
    })}\n`,
  );
  if (code !== 0 && code !== 1) process.stderr.write(stderr);
} finally {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
