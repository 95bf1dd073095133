// The dashboard's browser: launched from the system Chromium, kept on the deployment's origin, measured, and fully closed.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findChromium, launchChromium, restrictToOrigin } from "../../src/browser/chromium.ts";
import { browserMemory } from "../../src/browser/memory.ts";

let server: Server;
let origin: string;
const hits: string[] = [];
/** Loopback servers that are not the deployment: any request reaching them means the browser got out. */
const decoys: { server: Server; url: string }[] = [];
const decoyHits: string[] = [];

async function listen(host: string, onRequest: (url: string) => void): Promise<{ server: Server; url: string }> {
  const srv = createServer((req, res) => {
    onRequest(req.url ?? "");
    res.writeHead(200, { "Content-Type": "text/html", "Access-Control-Allow-Origin": "*" }).end("<!doctype html><title>t</title><p id=ok>ok</p>");
  });
  await new Promise<void>((resolve) => srv.listen(0, host, resolve));
  return { server: srv, url: `http://${host}:${(srv.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  ({ server, url: origin } = await listen("127.0.0.1", (u) => hits.push(u)));
  for (const host of ["127.0.0.1", "127.0.0.2"]) decoys.push(await listen(host, (u) => decoyHits.push(`${host} ${u}`)));
});

afterAll(async () => {
  for (const s of [server, ...decoys.map((d) => d.server)]) await new Promise<void>((resolve) => s?.close(() => resolve()));
});

describe("dashboard browser", () => {
  it("reaches the deployment, nothing else, and leaves no process behind", async () => {
    const { browser, marker } = await launchChromium({ executablePath: findChromium(), allowHosts: ["127.0.0.1"] });
    try {
      const context = await browser.newContext();
      await restrictToOrigin(context, origin);
      const page = await context.newPage();
      await page.goto(`${origin}/`);
      expect(await page.textContent("#ok")).toBe("ok");
      // Same origin works. A host name for the deployment's own server, a host name under .localhost, another
      // loopback address and another loopback port (all listening, all loopback) are refused before any packet leaves.
      const port = new URL(origin).port;
      const [other, otherAddress] = decoys.map((d) => d.url);
      const outcomes = await page.evaluate(async (urls) => {
        const out: string[] = [];
        for (const u of urls) out.push(await fetch(u).then((r) => `status ${r.status}`, (e: Error) => `error ${e.name}`));
        return out;
      }, [`${origin}/same`, `http://localhost:${port}/by-name`, `http://decoy.localhost:${new URL(other!).port}/by-name`, `${otherAddress}/other-address`, `${other}/other-port`]);
      expect(outcomes).toEqual(["status 200", "error TypeError", "error TypeError", "error TypeError", "error TypeError"]);
      expect(hits).toContain("/same");
      expect(hits).not.toContain("/by-name");
      expect(decoyHits).toEqual([]);
      const m = browserMemory(marker);
      expect(m.processes).toBeGreaterThanOrEqual(2);
      expect(m.rssBytes).toBeGreaterThan(50 * 2 ** 20);
      expect(m.pssBytes).toBeGreaterThan(0);
      expect(m.pssBytes).toBeLessThanOrEqual(m.rssBytes);
    } finally {
      await browser.close();
    }
    await expect.poll(() => browserMemory(marker).processes, { timeout: 5_000, interval: 50 }).toBe(0);
  });

  it("an aborted signal launches nothing", async () => {
    const ctl = new AbortController();
    ctl.abort(new Error("stop"));
    await expect(launchChromium({ executablePath: findChromium(), signal: ctl.signal })).rejects.toThrow("stop");
  });
});
