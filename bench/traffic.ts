// `npm run bench`: our web-terminal generator against a bare `ws` loop with identical framing, on loopback, one table.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { registerSecret } from "../src/errors.ts";
import type { GenResult } from "./generator.ts";

/** Settings (env overrides keep the CLI simple): BENCH_CONNS, BENCH_DURATION_S, BENCH_BYTES, BENCH_INTERVAL_MS, BENCH_SEARCH=0. */
const CONNS = Number(process.env.BENCH_CONNS ?? 2000);
const DURATION_MS = Number(process.env.BENCH_DURATION_S ?? 30) * 1000;
const BYTES = Number(process.env.BENCH_BYTES ?? 1024);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? 100);
const SEARCH = process.env.BENCH_SEARCH !== "0";
const PROBE_MS = 6_000;
const LAG_LIMIT_MS = 50;

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const tsx = ["--import", "tsx"];

/** The running target; `token` only ever travels in files (0600) and child environments, never argv or stdout. */
interface Target {
  url: string;
  token: string;
  agentId: string;
}

async function startTarget(): Promise<Target & { child: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), "scaletest-bench-")); // mode 0700
  const credentials = join(dir, "credentials.json");
  const child = spawn(process.execPath, [...tsx, here("./target.ts"), credentials], { stdio: ["pipe", "pipe", "inherit"] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once("line", resolve);
      child.once("exit", (c) => reject(new Error(`bench target exited (${c})`)));
    });
    const { session_token: token } = JSON.parse(readFileSync(credentials, "utf8")) as { session_token: string };
    registerSecret(token);
    return { child, token, ...(JSON.parse(line) as { url: string; agentId: string }) };
  } catch (err) {
    child.kill("SIGTERM");
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function generate(target: Target, kind: "bare" | "ours", conns: number, durationMs: number): Promise<GenResult> {
  const arg = JSON.stringify({ kind, conns, durationMs, bytesPerTick: BYTES, intervalMs: INTERVAL_MS, url: target.url, agentId: target.agentId });
  const child = spawn(process.execPath, ["--expose-gc", ...tsx, here("./generator.ts"), arg], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, CODER_SESSION_TOKEN: target.token },
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (c) => reject(new Error(`${kind} generator exited (${c}) without a result`)));
  });
  await new Promise((r) => (child.exitCode !== null ? r(0) : child.once("exit", r)));
  return JSON.parse(line) as GenResult;
}

/**
 * The largest count whose bare-loop p99 tick lag stays under 50 ms, in short probes (at most 6): doubling up from
 * CONNS while it holds, halving down while it does not, then one bisection step between the last good and bad counts.
 */
async function searchMax(target: Target, first: GenResult): Promise<number> {
  const ok = (r: GenResult) => r.lagP99 < LAG_LIMIT_MS && r.opened === r.conns && r.errors === 0;
  const probe = async (n: number) => {
    const r = await generate(target, "bare", n, PROBE_MS);
    log(`probe bare ${n}: p99 lag ${r.lagP99.toFixed(1)} ms, bytes ${((r.bytesWritten / r.targetBytes) * 100).toFixed(1)}%, opened ${r.opened}, errors ${r.errors}`);
    return ok(r);
  };
  let good = ok(first) ? CONNS : 0;
  let bad = good ? 0 : CONNS;
  for (let probes = 0; probes < 5; probes++) {
    const n = good && !bad ? good * 2 : Math.floor((bad || CONNS) / 2);
    if (n < 25 || n > 16_000) break;
    if (await probe(n)) good = n;
    else bad = n;
    if (good && bad) break;
  }
  if (good && bad && bad - good > 50) {
    const mid = Math.round((good + bad) / 2 / 25) * 25;
    if (await probe(mid)) good = mid;
  }
  return good;
}

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

const pct = (v: number) => `${v.toFixed(1)}%`;
const ms = (v: number | undefined) => (v === undefined ? "-" : `${v.toFixed(2)}`);

function table(rows: GenResult[][]): string {
  const head = ["conns", "generator", "bytes achieved/target", "tick lag p50/p99 ms", "round trip p50/p99 ms", "CPU", "RSS/conn KiB", "errors", "ratio ours/bare (lag p99, CPU, RSS)"];
  const lines = [head, head.map(() => "---")];
  for (const [bare, ours] of rows) {
    for (const r of [bare!, ours!]) {
      const ratio =
        r.kind === "ours"
          ? `${(r.lagP99 / Math.max(bare!.lagP99, 0.01)).toFixed(2)}x, ${(r.cpuPercent / bare!.cpuPercent).toFixed(2)}x, ${(r.rssPerConnKiB / bare!.rssPerConnKiB).toFixed(2)}x`
          : "";
      lines.push([
        String(r.conns),
        r.kind,
        pct((r.bytesWritten / r.targetBytes) * 100),
        `${ms(r.lagP50)} / ${ms(r.lagP99)}`,
        r.kind === "ours" ? `${ms(r.rttP50)} / ${ms(r.rttP99)}` : "(none)",
        pct(r.cpuPercent),
        r.rssPerConnKiB.toFixed(1),
        String(r.errors),
        ratio,
      ]);
    }
  }
  return lines.map((l) => `| ${l.join(" | ")} |`).join("\n");
}

const target = await startTarget();
try {
  log(`target at ${target.url}; ${CONNS} connections, ${BYTES} bytes every ${INTERVAL_MS} ms for ${DURATION_MS / 1000} s`);
  const rows: GenResult[][] = [];
  const pair = async (n: number) => {
    const bare = await generate(target, "bare", n, DURATION_MS);
    log(`bare ${n}: ${JSON.stringify(bare)}`);
    const ours = await generate(target, "ours", n, DURATION_MS);
    log(`ours ${n}: ${JSON.stringify(ours)}`);
    rows.push([bare, ours]);
  };
  await pair(CONNS);
  if (SEARCH) {
    const max = await searchMax(target, rows[0]![0]!);
    log(`highest count the bare loop sustains with p99 tick lag under ${LAG_LIMIT_MS} ms: ${max || "none found"}`);
    if (max > 0 && max !== CONNS) await pair(max);
  }
  process.stdout.write(`${table(rows)}\n`);
} finally {
  target.child.kill("SIGTERM");
}
