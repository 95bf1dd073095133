// The simulated workspace apps: routing by Host and path, coderd's auth answers, and the wsec/wsra/wsdi servers.
import { once } from "node:events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ClientOptions } from "ws";
import { AppsEndpoint, RANDOM_CHUNK, RANDOM_HIGH_WATER, appMode, matchAppHost } from "../../../src/simulator/apps.ts";
import { ALICE, BOB, OFFLINE_AGENT, OWNER, fakeHost, loopbackLookup, openRecording, serveEndpoints, upgradeRefusal } from "../../helpers/traffic-host.ts";

describe("app host matching", () => {
  it("matches the wildcard label and ignores ports", () => {
    expect(matchAppHost("*.apps.sim.localhost:4000", "wsec--m--ws1--alice.apps.sim.localhost:4000")).toBe("wsec--m--ws1--alice");
    expect(matchAppHost("*.apps.sim.localhost:4000", "WSEC--m--ws1--alice.APPS.sim.localhost")).toBe("wsec--m--ws1--alice");
    expect(matchAppHost("*--apps.example.com", "wsec--m--ws1--alice--apps.example.com")).toBe("wsec--m--ws1--alice");
    expect(matchAppHost("*.apps.sim.localhost", "sim.localhost:4000")).toBeUndefined();
    expect(matchAppHost("", "a.apps.sim.localhost")).toBeUndefined();
  });

  it("picks the server by the port of the app URL", () => {
    const app = (url: string) => ({ slug: "x", url, subdomain: true, sharingLevel: "owner" as const });
    expect([appMode(app("http://localhost:1234")), appMode(app("http://localhost:1235")), appMode(app("http://localhost:1236")), appMode(app("http://localhost:8080"))]).toEqual(["echo", "random", "discard", undefined]);
  });
});

describe("apps endpoint", () => {
  let host: ReturnType<typeof fakeHost>;
  let srv: Awaited<ReturnType<typeof serveEndpoints>>;
  let apps: AppsEndpoint;

  beforeEach(async () => {
    host = fakeHost();
    srv = await serveEndpoints(host, (sockets) => [(apps = new AppsEndpoint(host, sockets))]);
    host.setKnobs({ appHost: `*.apps.sim.localhost:${srv.port}` });
    host.setAccessUrl(srv.url);
  });
  afterEach(async () => {
    await srv.close();
  });

  const auth = (token: string | null): Record<string, string> => (token ? { "Coder-Session-Token": token } : {});
  const sub = (label: string, token: string | null = OWNER.token): { url: string; opts: ClientOptions } => ({
    url: `ws://${label}.apps.sim.localhost:${srv.port}/`,
    // ws passes `lookup` through to http.request; its types do not list it.
    opts: { lookup: loopbackLookup, headers: auth(token) } as ClientOptions,
  });
  const path = (p: string, token: string | null = ALICE.token): { url: string; opts: ClientOptions } => ({ url: `${srv.url.replace("http", "ws")}${p}`, opts: { headers: auth(token) } });

  it("wsec echoes every binary message back, reached by Host header through a DNS override", async () => {
    const { url, opts } = sub("wsec--m--ws1--alice");
    const c = await openRecording(url, opts);
    const payload = Buffer.from([0, 1, 2, 255, 10, 13]);
    c.ws.send(payload);
    c.ws.send(Buffer.alloc(1024, 7));
    const got = await c.until((b) => b.length >= 1030);
    expect(got.equals(Buffer.concat([payload, Buffer.alloc(1024, 7)]))).toBe(true);
    expect(host.counters.bytesIn.app).toBe(1030);
    expect(host.counters.bytesOut.app).toBe(1030);
    c.ws.close();
    expect((await c.closed).code).toBe(1005);
  });

  it("also routes a plain loopback connection with an explicit Host header", async () => {
    const c = await openRecording(`ws://127.0.0.1:${srv.port}/`, { headers: { Host: `wsec--m--ws1--alice.apps.sim.localhost:${srv.port}`, "Coder-Session-Token": BOB.token } });
    c.ws.send(Buffer.from("hi"));
    expect((await c.until((b) => b.length >= 2)).toString()).toBe("hi");
    c.ws.close();
  });

  it("wsdi discards input and sends nothing; a text frame closes with 1003", async () => {
    const { url, opts } = sub("wsdi--m--ws1--alice");
    const c = await openRecording(url, opts);
    c.ws.send(Buffer.alloc(4096, 1));
    c.ws.send("text");
    expect((await c.closed).code).toBe(1003);
    expect(c.received().length).toBe(0);
    expect(host.counters.bytesIn.app).toBe(4096);
  });

  it("wsra streams random bytes and stops queueing at the high-water mark while the reader is paused", async () => {
    const { url, opts } = sub("wsra--m--ws1--alice");
    const c = await openRecording(url, opts);
    const first = await c.until((b) => b.length >= 4 * RANDOM_CHUNK);
    expect(new Set(first.subarray(0, 4096)).size).toBeGreaterThan(200);
    c.ws.pause();
    const [buffered] = (await once(apps, "backpressure")) as [number];
    expect(buffered).toBeGreaterThanOrEqual(RANDOM_HIGH_WATER);
    expect(buffered).toBeLessThan(RANDOM_HIGH_WATER + RANDOM_CHUNK);
    const before = c.received().length;
    c.ws.resume();
    await c.until((b) => b.length >= before + 8 * RANDOM_CHUNK);
    c.ws.close();
  });

  it("wsra honours the bytes-per-second cap", async () => {
    host.setKnobs({ wsraBytesPerSecond: 200_000 });
    const { url, opts } = sub("wsra--m--ws1--alice");
    const started = performance.now();
    const c = await openRecording(url, opts);
    await c.until((b) => b.length >= 40_000);
    const elapsed = (performance.now() - started) / 1000;
    // The bucket holds at most one 16 KiB chunk, so the total can never exceed rate * time + one chunk.
    expect(c.received().length).toBeLessThanOrEqual(200_000 * elapsed + RANDOM_CHUNK + 8_000);
    c.ws.close();
  });

  it("redirects an unauthenticated subdomain request to the auth redirect (303)", async () => {
    const { url, opts } = sub("wsec--m--ws1--alice", null);
    const r = await upgradeRefusal(url, opts);
    expect(r.status).toBe(303);
    const loc = new URL(String(r.headers.location));
    expect(`${loc.origin}${loc.pathname}`).toBe(`${srv.url}/api/v2/applications/auth-redirect`);
    expect(loc.searchParams.get("redirect_uri")).toBe(`http://wsec--m--ws1--alice.apps.sim.localhost:${srv.port}/`);
  });

  it("answers 404 for unknown apps and forbidden owner-shared apps, 502 when the agent is offline", async () => {
    for (const label of ["nope--m--ws1--alice", "wsec--x--ws1--alice", "not-an-app-label"]) {
      const { url, opts } = sub(label);
      expect((await upgradeRefusal(url, opts)).status).toBe(404);
    }
    const secret = sub("secret--m--ws1--alice", BOB.token);
    expect((await upgradeRefusal(secret.url, secret.opts)).status).toBe(404);
    const asOwner = sub("secret--m--ws1--alice", OWNER.token);
    (await openRecording(asOwner.url, asOwner.opts)).ws.close();
    const offline = sub(`wsec--m--${OFFLINE_AGENT.workspaceName}--alice`);
    const r = await upgradeRefusal(offline.url, offline.opts);
    expect(r.status).toBe(502);
    expect(r.body).toMatch(/Application Unavailable/);
  });

  it("serves path apps with a trailing slash and redirects without one (307)", async () => {
    const res = await fetch(`${srv.url}/@alice/ws1.m/apps/pecho?x=1`, { redirect: "manual" });
    expect(res.status).toBe(307);
    expect(res.headers.get("location")).toBe("/@alice/ws1.m/apps/pecho/?x=1");
    const { url, opts } = path("/@alice/ws1.m/apps/pecho/");
    const c = await openRecording(url, opts);
    c.ws.send(Buffer.from("path"));
    expect((await c.until((b) => b.length >= 4)).toString()).toBe("path");
    c.ws.close();
    const noAgent = path("/@me/ws1/apps/pecho/");
    (await openRecording(noAgent.url, noAgent.opts)).ws.close();
  });

  it("blocks site owners and other users on path apps unless the dangerous knob allows owners", async () => {
    const asOwner = path("/@alice/ws1.m/apps/pecho/", OWNER.token);
    expect((await upgradeRefusal(asOwner.url, asOwner.opts)).status).toBe(404);
    const asBob = path("/@alice/ws1.m/apps/pecho/", BOB.token);
    expect((await upgradeRefusal(asBob.url, asBob.opts)).status).toBe(404);
    const anon = path("/@alice/ws1.m/apps/pecho/", null);
    const r = await upgradeRefusal(anon.url, anon.opts);
    expect(r.status).toBe(307);
    expect(String(r.headers.location)).toMatch(/^\/login\?redirect=/);
    host.setKnobs({ allowPathAppSiteOwnerAccess: true });
    (await openRecording(asOwner.url, asOwner.opts)).ws.close();
  });

  it("answers a plain HTTP request to a resolved app like websocat", async () => {
    const res = await fetch(`${srv.url}/@alice/ws1.m/apps/pecho/`, { headers: { "Coder-Session-Token": ALICE.token } });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe("Only WebSocket connections are welcome here\n");
  });

  it("drops app sockets abnormally on request", async () => {
    const { url, opts } = sub("wsec--m--ws1--alice");
    const c = await openRecording(url, opts);
    expect(srv.sockets.dropAll({ kind: "app" })).toBe(1);
    expect((await c.closed).code).toBe(1006);
  });
});
