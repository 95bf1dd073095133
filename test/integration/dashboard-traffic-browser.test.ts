// The dashboard's browser: launched from the system Chromium, kept on the deployment's origin, measured, and fully closed.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findChromium, launchChromium, restrictToOrigin } from "../../src/browser/chromium.ts";
import { browserMemory } from "../../src/browser/memory.ts";

let server: Server;
let origin: string;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? "");
    res.writeHead(200, { "Content-Type": "text/html" }).end("<!doctype html><title>t</title><p id=ok>ok</p>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
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
      // Same origin works; a host name, a public IP and another loopback port are all refused before any packet leaves.
      const outcomes = await page.evaluate(async (urls) => {
        const out: string[] = [];
        for (const u of urls) out.push(await fetch(u).then((r) => `status ${r.status}`, (e: Error) => `error ${e.name}`));
        return out;
      }, [`${origin}/same`, "http://example.com/", "http://93.184.216.34/", "http://127.0.0.1:9/"]);
      expect(outcomes).toEqual(["status 200", "error TypeError", "error TypeError", "error TypeError"]);
      expect(hits).toContain("/same");
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
