// Bench baseline: a bare `ws` loop with the CLI's framing (the same PTY input frames, one shared drift-free timer,
// replies counted, nothing verified), in its own process. Plain JavaScript that imports only `ws`, so the baseline
// pays for no TypeScript loader and no project module. Prints one JSON line when done; CPU and memory are measured
// from outside (/proc), as for the CLI. bench/traffic.ts runs it with the V8 flag the CLI sets for itself
// (--no-allocation-site-pretenuring).
//
// argv[2]: JSON {url, conns, intervalMs, durationMs, bytesPerTick, frames: base64[], command, dialBatch}; the session token
// comes in CODER_SESSION_TOKEN, out of `ps`.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";

const args = JSON.parse(process.argv[2]);
const token = process.env.CODER_SESSION_TOKEN;
if (!token) throw new Error("CODER_SESSION_TOKEN must be set (bench/traffic.ts passes it)");
const headers = { "Coder-Session-Token": token };
const frames = args.frames.map((f) => Buffer.from(f, "base64"));

// The same targets the CLI picks: the first `conns` scaletest workspaces, each one's agent as upstream chooses it
// (the first agent of the last resource that has agents).
const agents = [];
for (let offset = 0; agents.length < args.conns; offset += 100) {
  const res = await fetch(`${args.url}/api/v2/workspaces?q=${encodeURIComponent('name:"scaletest-"')}&limit=100&offset=${offset}`, { headers });
  const page = (await res.json()).workspaces;
  if (page.length === 0) break;
  for (const ws of page) {
    let agent;
    for (const r of ws.latest_build.resources) if (r.agents?.length) agent = r.agents[0].id;
    if (agent && agents.length < args.conns) agents.push(agent);
  }
}

let written = 0;
let read = 0;
let errors = 0;
let ticks = 0;
let lateTicks = 0;
const lags = [];

function dial(agentId) {
  const q = new URLSearchParams({ command: args.command, height: "25", reconnect: randomUUID(), width: "80" });
  const url = `${args.url.replace(/^http/, "ws")}/api/v2/workspaceagents/${agentId}/pty?${q}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

// Open the connections `dialBatch` at a time (0: all at once), then start the timer.
const sockets = [];
const batch = args.dialBatch > 0 ? args.dialBatch : agents.length;
for (let i = 0; i < agents.length; i += batch) {
  for (const r of await Promise.allSettled(agents.slice(i, i + batch).map(dial))) {
    if (r.status === "fulfilled") sockets.push(r.value);
    else errors++;
  }
}
for (const ws of sockets) {
  ws.on("message", (d) => (read += d.length));
  ws.on("close", (code) => {
    if (code !== 1000) errors++;
  });
}

// One timer for every socket, on a drift-free grid; a whole missed interval is dropped, as the CLI's scheduler does.
const start = performance.now();
let due = start + args.intervalMs;
await new Promise((resolve) => {
  const tick = () => {
    const now = performance.now();
    lags.push(now - due);
    for (const ws of sockets) {
      for (const f of frames) ws.send(f, { binary: true });
      written += args.bytesPerTick;
    }
    ticks++;
    due += args.intervalMs;
    if (due <= now) {
      const missed = Math.floor((now - due) / args.intervalMs) + 1;
      lateTicks += missed * sockets.length;
      due += missed * args.intervalMs;
    }
    if (due - start > args.durationMs) return resolve();
    setTimeout(tick, due - performance.now());
  };
  setTimeout(tick, args.intervalMs);
});

// Let the last echoes arrive, then end each session as the CLI does (Ctrl+C; the terminal closes with 1000).
await new Promise((r) => setTimeout(r, 500));
const ctrlC = Buffer.from('{"data":"\\u0003"}\n');
for (const ws of sockets) ws.send(ctrlC, { binary: true });
await Promise.all(sockets.map((ws) => new Promise((r) => (ws.readyState === WebSocket.CLOSED ? r(0) : ws.once("close", r)))));

lags.sort((a, b) => a - b);
const pct = (p) => (lags.length ? Math.max(0, lags[Math.min(lags.length - 1, Math.ceil((p / 100) * lags.length) - 1)]) : 0);
process.stdout.write(
  `${JSON.stringify({ opened: sockets.length, bytesWritten: written, bytesRead: read, ticks, lateTicks, lagP50: pct(50), lagP99: pct(99), errors })}\n`,
);
process.exit(0);
