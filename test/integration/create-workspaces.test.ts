// create-workspaces against the simulator in-process: all jobs accounted for, server messages kept, retries,
// idempotent creates under a lost response, deadlines, and cleanup that leaves nothing behind.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CoderClient } from "../../src/coder/client.ts";
import { runPhase } from "../../src/harness/harness.ts";
import { createWorkspacesHarness, WorkspaceBuildRunner } from "../../src/scenarios/create-workspaces/runner.ts";
import { defaultCreateWorkspacesConfig, type CreateWorkspacesConfig } from "../../src/scenarios/create-workspaces/config.ts";
import { prepareCreateWorkspaces } from "../../src/scenarios/create-workspaces/parameters.ts";
import { Ledger, outstanding, readLedger } from "../../src/state/ledger.ts";
import { startSimulator, type Knobs, type Simulator } from "../../src/simulator/index.ts";

let sim: Simulator | undefined;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cw-int-"));
});
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const never = () => new AbortController().signal;

/** Starts the simulator and builds the harness; `urlFor` lets a test put a proxy in front of the simulator. */
async function setup(knobs: Partial<Knobs>, over: Partial<CreateWorkspacesConfig>, urlFor: (s: Simulator) => string = (s) => s.url) {
  sim = await startSimulator({ port: 0, knobs: { pendingMs: 20, runningMs: 40, agentConnectDelayMs: 20, ...knobs } });
  const cfg: CreateWorkspacesConfig = { ...defaultCreateWorkspacesConfig(), template: sim.template.name, buildPollMs: 20, agentPollMs: 20, ...over };
  cfg.cleanup = { concurrency: 10, timeoutMs: 60_000, jobTimeoutMs: 30_000 };
  const client = new CoderClient({ url: urlFor(sim), token: sim.sessionToken, bypassRateLimit: true, retry: { retries5xx: cfg.retry, baseDelayMs: 5, maxDelayMs: 20 } });
  const me = await client.withRetry({ retries5xx: 3 }).me();
  const prepared = await prepareCreateWorkspaces(client, me, cfg);
  const ledger = await Ledger.open(dir, { url: client.url, run: "t" });
  const { harness } = createWorkspacesHarness({ admin: client, prepared, cfg, ledger });
  // The runners exist once the harness has reached their jobs.
  const runners = () => harness.runs.map((r) => r.runner as WorkspaceBuildRunner);
  return { sim, cfg, client, harness, runners, ledger };
}

function liveScaletest(s: Simulator) {
  const ws = [...s.state.workspaces.values()].filter((w) => !w.deleted && w.name.startsWith("scaletest-"));
  const users = [...s.state.users.values()].filter((u) => u.username.startsWith("scaletest-") && !(u as { deleted?: boolean }).deleted);
  return { workspaces: ws.length, users: users.length };
}

async function scaletestCounts(client: CoderClient) {
  return { workspaces: (await client.allWorkspaces('name:"scaletest-"')).length, users: (await client.allUsers("scaletest-")).length };
}

describe("create-workspaces (in-process simulator)", () => {
  it("creates users and workspaces with connected agents, records them in the ledger, and cleans up to zero", async () => {
    const t = await setup({}, { count: 8, strategy: { concurrency: 4, timeoutMs: 60_000, jobTimeoutMs: 30_000 } });
    await runPhase(t.harness, "run", never(), t.cfg.strategy.timeoutMs);
    const r = t.harness.results();
    expect(r).toMatchObject({ total_runs: 8, total_pass: 8, total_fail: 0 });
    expect(Object.keys(r.runs).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `workspacebuild/${i}`).sort());
    expect(t.runners()).toHaveLength(8);
    for (const run of t.runners()) {
      expect(run.agent?.status).toBe("connected");
      expect(run.workspace?.name).toMatch(new RegExp(`^scaletest-[0-9A-Za-z]{8}-${run.index}$`));
      expect(run.user?.email).toMatch(new RegExp(`^[0-9A-Za-z]{8}-${run.index}@scaletest\\.local$`));
    }
    expect(await scaletestCounts(t.client)).toEqual({ workspaces: 8, users: 8 });
    expect(outstanding(await readLedger(dir), t.client.url)).toMatchObject({ users: { length: 8 }, workspaces: { length: 8 } });
    await runPhase(t.harness, "cleanup", never(), 60_000);
    expect(await scaletestCounts(t.client)).toEqual({ workspaces: 0, users: 0 });
    expect(outstanding(await readLedger(dir), t.client.url)).toEqual({ users: [], workspaces: [] });
    await t.ledger.close();
  });

  it("with injected build failures and 500s, accounts for every job and keeps the server's message in each failure", async () => {
    const t = await setup({ buildFailureRate: 0.1, http5xxRate: 0.05, seed: 42 }, { count: 30, strategy: { concurrency: 10, timeoutMs: 60_000, jobTimeoutMs: 30_000 } });
    await runPhase(t.harness, "run", never(), 60_000);
    const r = t.harness.results();
    expect(r.total_pass + r.total_fail).toBe(30);
    expect(r.total_fail).toBeGreaterThan(0);
    for (const run of Object.values(r.runs)) {
      if (run.error === "<nil>") continue;
      // Either coderd's 500 body (message and detail) or the provisioner's error text.
      expect(run.error).toMatch(/unexpected status 500: An internal error occurred.*simulated fault|build failed with status "failed": \S+/);
    }
    await runPhase(t.harness, "cleanup", never(), 60_000);
    expect(liveScaletest(t.sim)).toEqual({ workspaces: 0, users: 0 });
    await t.ledger.close();
  });

  it("--retry 3 turns transient 500s and failed builds into passes", async () => {
    const t = await setup({ buildFailureRate: 0.1, http5xxRate: 0.05, seed: 42 }, { count: 30, retry: 3, strategy: { concurrency: 10, timeoutMs: 60_000, jobTimeoutMs: 30_000 } });
    await runPhase(t.harness, "run", never(), 60_000);
    const r = t.harness.results();
    const failures = Object.values(r.runs).filter((x) => x.error !== "<nil>").map((x) => x.error);
    expect(failures).toEqual([]);
    expect(Object.values(r.runs).some((x) => x.logs.includes("Retrying with a new start build"))).toBe(true);
    await runPhase(t.harness, "cleanup", never(), 60_000);
    expect(liveScaletest(t.sim)).toEqual({ workspaces: 0, users: 0 });
    await t.ledger.close();
  });

  it("a create whose response was lost is found again through the 409 of the retried request", async () => {
    // A proxy that forwards the first POST /users and POST /users/{id}/workspaces to the simulator, then
    // answers 502 instead of the 201, as a gateway that dropped the response would.
    const dropped = new Set<string>();
    let target = "";
    const proxy: Server = createServer((req, res) => {
      const key = req.method === "POST" && /^\/api\/v2\/users(\/[^/]+\/workspaces)?$/.exec(req.url ?? "")?.[0];
      const kind = key ? (key.endsWith("workspaces") ? "workspace" : "user") : undefined;
      const u = new URL(req.url ?? "/", target);
      const up = httpRequest(u, { method: req.method, headers: req.headers }, (upRes) => {
        if (kind && !dropped.has(kind) && upRes.statusCode === 201) {
          dropped.add(kind);
          upRes.resume();
          res.writeHead(502, { "content-type": "application/json" }).end('{"message":"bad gateway"}');
          return;
        }
        res.writeHead(upRes.statusCode ?? 500, upRes.headers);
        upRes.pipe(res);
      });
      req.pipe(up);
    });
    // WebSockets (build logs) pass through untouched.
    proxy.on("upgrade", (req, socket, head) => {
      const t = new URL(target);
      const up = connect(Number(t.port), t.hostname, () => {
        let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
        for (let i = 0; i < req.rawHeaders.length; i += 2) raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
        up.write(`${raw}\r\n`);
        up.write(head);
        socket.pipe(up).pipe(socket);
      });
      up.on("error", () => socket.destroy());
      socket.on("error", () => up.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const port = (proxy.address() as { port: number }).port;
    try {
      const t = await setup({}, { count: 1, retry: 2 }, (s) => {
        target = s.url;
        return `http://127.0.0.1:${port}`;
      });
      await runPhase(t.harness, "run", never(), 60_000);
      const r = t.harness.results();
      expect(r.runs["workspacebuild/0"]!.error).toBe("<nil>");
      expect(dropped).toEqual(new Set(["user", "workspace"]));
      expect(r.runs["workspacebuild/0"]!.logs).toContain("user already exists from an earlier attempt");
      expect(r.runs["workspacebuild/0"]!.logs).toContain("workspace already exists from an earlier attempt");
      expect(liveScaletest(t.sim)).toEqual({ workspaces: 1, users: 1 });
      await runPhase(t.harness, "cleanup", never(), 60_000);
      expect(liveScaletest(t.sim)).toEqual({ workspaces: 0, users: 0 });
      await t.ledger.close();
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });

  it("a job that exceeds --job-timeout is timed out, not failed, and its half-made resources are still cleaned up", async () => {
    const t = await setup({ runningMs: 5_000 }, { count: 3, strategy: { concurrency: 0, timeoutMs: 60_000, jobTimeoutMs: 300 } });
    await runPhase(t.harness, "run", never(), 60_000);
    expect(t.harness.outcomes()).toMatchObject({ timed_out: 3, ok: 0, failed: 0 });
    expect(t.harness.results().runs["workspacebuild/0"]!.error).toMatch(/context deadline exceeded/);
    expect(liveScaletest(t.sim).workspaces).toBe(3);
    t.sim.setKnobs({ runningMs: 20 });
    await runPhase(t.harness, "cleanup", never(), 60_000);
    expect(liveScaletest(t.sim)).toEqual({ workspaces: 0, users: 0 });
    await t.ledger.close();
  });

  it("--use-host-login creates no users and sends the resolved rich parameters", async () => {
    const t = await setup({}, { count: 2, useHostLogin: true, parameters: { cpu: "4", image: "debian" } });
    await runPhase(t.harness, "run", never(), 60_000);
    expect(t.harness.results().total_pass).toBe(2);
    const mine = [...t.sim.state.workspaces.values()].filter((w) => !w.deleted);
    expect(mine.map((w) => w.ownerId)).toEqual([t.sim.owner.id, t.sim.owner.id]);
    expect(liveScaletest(t.sim).users).toBe(0);
    expect(mine[0]!.builds[0]!.parameters).toEqual([
      { name: "cpu", value: "4" },
      { name: "image", value: "debian" },
      { name: "dotfiles_uri", value: "" },
    ]);
    await runPhase(t.harness, "cleanup", never(), 60_000);
    expect(liveScaletest(t.sim)).toEqual({ workspaces: 0, users: 0 });
    expect([...t.sim.state.users.values()].filter((u) => !u.deleted).map((u) => u.username)).toEqual(["admin"]);
    await t.ledger.close();
  });
});
