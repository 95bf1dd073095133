// The web terminal through the whole simulator: auth by cookie, echo, knobs, faults, rate limiting and the agent metrics.
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { ptyEndpointOf } from "../../src/simulator/pty.ts";
import { trafficControls } from "../../src/simulator/traffic-host.ts";
import { createMember, simApi, until } from "../helpers/sim-api.ts";
import { memberWithWorkspace, openRecording, upgradeRefusal } from "../helpers/traffic-host.ts";

const DD = "dd if=/dev/stdin of=/dev/null bs=1024 status=none";
const frame = (data: string) => Buffer.from(`${JSON.stringify({ data })}\n`);

let sim: Simulator;
let alice: { token: string; agentId: string; workspaceId: string };

beforeEach(async () => {
  sim = await startSimulator({ knobs: { pendingMs: 5, runningMs: 10, agentConnectDelayMs: 5 } });
  const m = await memberWithWorkspace(sim, "scaletest-pty-0");
  alice = { token: m.token, agentId: m.agent.id, workspaceId: m.workspaceId };
});
afterEach(async () => {
  await sim.close();
});

const ptyUrl = (agentId = alice.agentId, reconnect = randomUUID()) => `${sim.url.replace("http", "ws")}/api/v2/workspaceagents/${agentId}/pty?command=${encodeURIComponent(DD)}&height=25&reconnect=${reconnect}&width=80`;
const cookie = (token: string) => ({ headers: { Cookie: `coder_session_token=${token}` } });

async function scrape(): Promise<string> {
  return (await simApi(sim, null)("GET", "/metrics")).body as string;
}

describe("simulator PTY", () => {
  it("serves the admin on a member's agent with echo, ^C close and agent metrics", async () => {
    const c = await openRecording(ptyUrl(), cookie(sim.sessionToken));
    c.ws.send(frame("line one\nline two\n"));
    await c.until((b) => b.toString() === "line one\r\nline two\r\n");
    const during = await scrape();
    expect(during).toMatch(/^coderd_api_concurrent_websockets 1$/m);
    expect(during).toMatch(/^coderd_agentstats_session_count_reconnecting_pty 1$/m);
    // rx/tx are the bytes of the latest window (since the previous scrape), as coderd's agent stats.
    expect(during).toMatch(/^coderd_agentstats_tx_bytes 20$/m);
    c.ws.send(frame("\u0003"));
    expect((await c.closed).code).toBe(1000);
    // The server notices the closed TCP connection independently of the client.
    await until(() => trafficControls(sim.ctx).sockets.count() === 0);
    const metrics = await scrape();
    expect(metrics).toMatch(/^coderd_api_concurrent_websockets 0$/m);
    expect(metrics).toMatch(/^agent_reconnecting_pty_connections_total 1$/m);
    expect(metrics).toMatch(/^coderd_agentstats_session_count_reconnecting_pty 0$/m);
    expect(metrics).toMatch(/^coderd_agentstats_tx_bytes 2$/m);
    expect(metrics).toMatch(/^coderd_api_websocket_durations_seconds_count\{path="\/api\/v2\/workspaceagents\/\{workspaceagent\}\/pty"\} 1$/m);
  });

  it("answers 404 to strangers and other members, 502 once the workspace is stopped", async () => {
    expect((await upgradeRefusal(ptyUrl())).status).toBe(404);
    const bob = await createMember(sim);
    expect((await upgradeRefusal(ptyUrl(), cookie(bob.token))).status).toBe(404);
    expect((await upgradeRefusal(ptyUrl(randomUUID()), cookie(alice.token))).status).toBe(404);
    const call = simApi(sim, alice.token);
    expect((await call("POST", `/api/v2/workspaces/${alice.workspaceId}/builds`, { transition: "stop" })).status).toBe(201);
    await until(async () => (await call("GET", `/api/v2/workspaces/${alice.workspaceId}`)).body.latest_build.job.status === "succeeded");
    expect((await upgradeRefusal(ptyUrl(), cookie(alice.token))).status).toBe(502);
  });

  it("applies live knobs: corrupted echo, reconnect timeout, owner access, injected 5xx", async () => {
    sim.setKnobs({ corruptEchoRate: 1 });
    const c = await openRecording(ptyUrl(), cookie(alice.token));
    c.ws.send(frame("abc"));
    expect((await c.until((b) => b.length >= 3)).toString()).not.toBe("abc");
    sim.setKnobs({ corruptEchoRate: 0, ptyReconnectTimeoutMs: 10 });
    const ended = once(ptyEndpointOf(sim.ctx)!.sessions, "ended");
    c.ws.close();
    await ended;
    sim.setKnobs({ disableOwnerWorkspaceAccess: true });
    expect((await upgradeRefusal(ptyUrl(), cookie(sim.sessionToken))).status).toBe(404);
    sim.setKnobs({ disableOwnerWorkspaceAccess: false, http5xxRate: 1 });
    expect((await upgradeRefusal(ptyUrl(), cookie(alice.token))).status).toBe(500);
  });

  it("drops every open traffic socket on request", async () => {
    const a = await openRecording(ptyUrl(), cookie(alice.token));
    const b = await openRecording(ptyUrl(), cookie(sim.sessionToken));
    expect(trafficControls(sim.ctx).sockets.dropAll({ mode: "1011" })).toBe(2);
    expect([(await a.closed).code, (await b.closed).code]).toEqual([1011, 1011]);
  });
});
