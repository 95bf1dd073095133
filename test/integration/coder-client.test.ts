import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RetryEvent } from "../../src/coder/retry.ts";
import { BuildFailedError, deleteWorkspace, waitForAgents, waitForBuild } from "../../src/coder/builds.ts";
import { CoderClient, retryAfterMs } from "../../src/coder/client.ts";
import { CoderApiError, CoderConnectionError } from "../../src/coder/errors.ts";
import { NIL_UUID, type ProvisionerJobLog } from "../../src/coder/types.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";

let sim: Simulator;
let client: CoderClient;

beforeEach(async () => {
  sim = await startSimulator({ knobs: { pendingMs: 20, runningMs: 60, agentConnectDelayMs: 20 } });
  client = new CoderClient({ url: sim.url, token: sim.sessionToken, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
});
afterEach(async () => {
  await sim.close();
});

async function createWorkspace(name = "scaletest-client-0") {
  const me = await client.me();
  return client.createWorkspace(me.id, { template_id: sim.template.id, template_version_id: NIL_UUID, name, autostart_schedule: null });
}

describe("CoderClient against the simulator", () => {
  it("reads the owner and resolves templates by name, failing clearly for an unknown one", async () => {
    const me = await client.me();
    expect(me.roles.map((r) => r.name)).toContain("owner");
    const t = await client.resolveTemplate(sim.template.name);
    expect(t.id).toBe(sim.template.id);
    expect((await client.resolveTemplate(sim.template.id)).name).toBe(sim.template.name);
    await expect(client.resolveTemplate("no-such-template")).rejects.toThrow('could not find template "no-such-template" in any organization');
  });

  it("turns a bad token into a CoderApiError carrying the server's message", async () => {
    const bad = client.withToken("abcdefghij-abcdefghijklmnopqrstuv");
    const err = await bad.me().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoderApiError);
    expect((err as CoderApiError).status).toBe(401);
    expect((err as CoderApiError).message).toMatch(/GET \/api\/v2\/users\/me: unexpected status 401: .+/);
    expect((err as CoderApiError).message).not.toContain("abcdefghijklmnopqrstuv");
  });

  it("reports an unreachable deployment as a connection error", async () => {
    const url = sim.url;
    await sim.close();
    const err = await new CoderClient({ url, token: "x" }).buildInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoderConnectionError);
    expect((err as Error).message).toMatch(/cannot reach the deployment: ECONNREFUSED/);
    sim = await startSimulator();
  });

  it("fails at once on an injected 500 without retries, and rides it out with retries", async () => {
    sim.setKnobs({ http5xxRate: 1 });
    const err = await client.buildInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoderApiError);
    expect((err as CoderApiError).status).toBe(500);
    expect((err as CoderApiError).detail).toBe("simulated fault: http5xxRate");
    sim.setKnobs({ http5xxRate: 0.5, seed: 7 });
    const before = sim.requests.length;
    const retrying = client.withRetry({ retries5xx: 20, baseDelayMs: 1, maxDelayMs: 2 });
    for (let i = 0; i < 10; i++) await retrying.buildInfo();
    const seen = sim.requests.slice(before);
    expect(seen.filter((r) => r.status === 500).length).toBeGreaterThan(0);
    expect(seen.filter((r) => r.status === 200)).toHaveLength(10);
  });

  it("retries 429 a bounded number of times", async () => {
    sim.setKnobs({ http429Rate: 1 });
    const before = sim.requests.length;
    const err = await client.withRetry({ retries429: 2, baseDelayMs: 1, maxDelayMs: 2 }).buildInfo().catch((e: unknown) => e);
    expect((err as CoderApiError).status).toBe(429);
    expect((err as CoderApiError).message).toMatch(/rate limited/);
    expect(sim.requests.slice(before).filter((r) => r.path === "/api/v2/buildinfo")).toHaveLength(3);
  });

  it("waits the Retry-After of a 429 (1 s), not its own backoff (under 250 ms for a first retry)", async () => {
    // The simulator's 429s carry no Retry-After: a bare server answers this one.
    const arrivals: number[] = [];
    const server = createServer((_req, res) => {
      arrivals.push(performance.now());
      if (arrivals.length === 1) return void res.writeHead(429, { "Retry-After": "1", "Content-Type": "application/json" }).end('{"message":"slow down"}');
      res.writeHead(200, { "Content-Type": "application/json" }).end('{"version":"v2.0.0"}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const retries: RetryEvent[] = [];
      const bare = new CoderClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: "x", onRetry: (e) => retries.push(e) });
      expect(await bare.request<{ version: string }>("GET", "/api/v2/buildinfo")).toEqual({ version: "v2.0.0" });
      expect(retries).toEqual([{ kind: "rest", reason: "429", attempt: 1 }]);
      expect(arrivals).toHaveLength(2);
      const waited = arrivals[1]! - arrivals[0]!;
      expect(waited).toBeGreaterThanOrEqual(990);
      expect(waited).toBeLessThan(2_500);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("stops a request when its signal aborts", async () => {
    sim.setKnobs({ slowResponseMs: 5_000 });
    const ctl = new AbortController();
    const pending = client.buildInfo({ signal: ctl.signal });
    ctl.abort(new Error("stop now"));
    await expect(pending).rejects.toThrow("stop now");
  });

  it("follows build logs until the server closes the stream normally", async () => {
    const ws = await createWorkspace();
    const logs: ProvisionerJobLog[] = [];
    const build = await waitForBuild(client, ws.latest_build.id, { pendingPollMs: 10, log: () => undefined });
    expect(build.job.status).toBe("succeeded");
    const res = await client.followBuildLogs(ws.latest_build.id, { onLog: (l) => logs.push(l) });
    expect(res.code).toBe(1000);
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.map((l) => l.id)).toEqual([...logs.map((l) => l.id)].sort((a, b) => a - b));
    await waitForAgents(client, ws.id, { pollMs: 10 });
    const again = await client.workspace(ws.id);
    expect(again.latest_build.resources.flatMap((r) => r.agents ?? []).every((a) => a.status === "connected")).toBe(true);
  });

  it("reports a failed build with the server's job error", async () => {
    sim.setKnobs({ buildFailureRate: 1 });
    const ws = await createWorkspace();
    const err = await waitForBuild(client, ws.latest_build.id, { pendingPollMs: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildFailedError);
    const job = (await client.workspaceBuild(ws.latest_build.id)).job;
    expect((err as Error).message).toBe(`build failed with status "failed": ${job.error}`);
    expect(job.error).toBeTruthy();
  });

  it("deletes a workspace, then treats it as already gone (410)", async () => {
    const ws = await createWorkspace();
    expect(await deleteWorkspace(client, ws.id, { pendingPollMs: 10 })).toBe("deleted");
    const gone = await client.workspace(ws.id).catch((e: unknown) => e);
    expect((gone as CoderApiError).status).toBe(410);
    expect(await deleteWorkspace(client, ws.id, { pendingPollMs: 10 })).toBe("already-gone");
    expect(await client.allWorkspaces('name:"scaletest-client"')).toHaveLength(0);
  });

  it("cancels an active build before deleting", async () => {
    sim.setKnobs({ pendingMs: 10, runningMs: 5_000 });
    const ws = await createWorkspace();
    // The start build's timer is already set for 5 s; the delete build that follows runs fast.
    sim.setKnobs({ runningMs: 60 });
    const lines: string[] = [];
    expect(await deleteWorkspace(client, ws.id, { pendingPollMs: 10, log: (l) => lines.push(l) })).toBe("deleted");
    expect(lines.some((l) => l.startsWith("canceling active start build"))).toBe(true);
    expect((await client.workspaceBuild(ws.latest_build.id)).job.status).toBe("canceled");
  });
});

describe("retryAfterMs", () => {
  it("reads seconds and HTTP dates", () => {
    expect(retryAfterMs("3")).toBe(3000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs("soon")).toBeUndefined();
    const at = new Date(Date.now() + 10_000).toUTCString();
    expect(retryAfterMs(at)).toBeGreaterThan(8000);
  });
});
