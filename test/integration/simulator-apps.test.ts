// Workspace apps through the whole simulator: the advertised app host, subdomain names from the API, wsec/wsra/wsdi, auth answers.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ClientOptions } from "ws";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { createMember, simApi } from "../helpers/sim-api.ts";
import { loopbackLookup, memberWithWorkspace, openRecording, upgradeRefusal } from "../helpers/traffic-host.ts";

let sim: Simulator;
let alice: { token: string; workspaceId: string; apps: Record<string, string> };

beforeEach(async () => {
  sim = await startSimulator({ knobs: { pendingMs: 5, runningMs: 10, agentConnectDelayMs: 5 } });
  const m = await memberWithWorkspace(sim, "scaletest-app-0");
  const apps = Object.fromEntries(m.agent.apps.map((a: { slug: string; subdomain_name: string }) => [a.slug, a.subdomain_name]));
  alice = { token: m.token, workspaceId: m.workspaceId, apps };
});
afterEach(async () => {
  await sim.close();
});

/** The app URL the traffic runner builds: the app host with `*` replaced by the subdomain name. */
async function appUrl(slug: string): Promise<string> {
  const host = (await simApi(sim)("GET", "/api/v2/applications/host")).body.host as string;
  return `ws://${host.replace("*", alice.apps[slug]!)}`;
}
const opts = (token: string | null): ClientOptions => ({ lookup: loopbackLookup, headers: token ? { "Coder-Session-Token": token } : {} }) as ClientOptions;

describe("simulator apps", () => {
  it("wsec echoes, wsdi discards and wsra streams, for the admin on a member's workspace", async () => {
    const echo = await openRecording(await appUrl("wsec"), opts(sim.sessionToken));
    echo.ws.send(Buffer.from("round trip"));
    expect((await echo.until((b) => b.length >= 10)).toString()).toBe("round trip");
    const discard = await openRecording(await appUrl("wsdi"), opts(sim.sessionToken));
    discard.ws.send(Buffer.alloc(2048));
    const random = await openRecording(await appUrl("wsra"), opts(sim.sessionToken));
    await random.until((b) => b.length >= 100_000);
    expect((await simApi(sim, null)("GET", "/metrics")).body).toMatch(/^coderd_api_concurrent_websockets 3$/m);
    for (const c of [echo, discard, random]) c.ws.close();
    expect(discard.received().length).toBe(0);
  });

  it("lets any signed-in user in (share authenticated) and redirects strangers to the auth redirect", async () => {
    const bob = await createMember(sim);
    const c = await openRecording(await appUrl("wsec"), opts(bob.token));
    c.ws.close();
    const r = await upgradeRefusal(await appUrl("wsec"), opts(null));
    expect(r.status).toBe(303);
    expect(String(r.headers.location)).toMatch(new RegExp(`^${sim.url}/api/v2/applications/auth-redirect\\?redirect_uri=`));
  });

  it("answers 404 for an unknown app on the app host and leaves the API alone", async () => {
    const url = (await appUrl("wsec")).replace("wsec--", "nope--");
    expect((await upgradeRefusal(url, opts(sim.sessionToken))).status).toBe(404);
    expect((await simApi(sim)("GET", "/api/v2/users/me")).status).toBe(200);
  });
});
