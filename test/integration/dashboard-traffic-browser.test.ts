// The dashboard's browser: launched from the system Chromium, kept on the deployment's origin, measured, and fully closed.
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM_ENV, findChromium, launchChromium, restrictToOrigin } from "../../src/browser/chromium.ts";
import { browserMemory } from "../../src/browser/memory.ts";
import { DASHBOARD_TRAFFIC } from "../../src/scenarios/dashboard/row.ts";

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

describe("Dashboard Traffic's pre-run check", () => {
  const values = { dashboardDuration: 60_000, dashboardPercentage: 100, dashboardInterval: 10_000, dashboardJitter: 0 };
  const saved = process.env[CHROMIUM_ENV];
  afterAll(() => {
    if (saved === undefined) delete process.env[CHROMIUM_ENV];
    else process.env[CHROMIUM_ENV] = saved;
  });

  it("launches and closes the browser it found: a working one passes", async () => {
    process.env[CHROMIUM_ENV] = findChromium();
    const t0 = Date.now();
    expect(await DASHBOARD_TRAFFIC.preflight!(values)).toBeUndefined();
    console.log(`preflight launch+close: ${Date.now() - t0} ms`);
  });

  it("refuses a browser that is found but cannot start, with the browser's own reason", async () => {
    const dir = await mkdtemp(join(tmpdir(), "broken-chromium-"));
    try {
      // An executable that fails as a Chromium without its libraries does.
      const broken = join(dir, "chromium");
      await writeFile(broken, "#!/bin/sh\necho 'error while loading shared libraries: libnss3.so: cannot open shared object file' >&2\nexit 127\n");
      await chmod(broken, 0o755);
      process.env[CHROMIUM_ENV] = broken;
      expect(await DASHBOARD_TRAFFIC.preflight!(values)).toBe(
        `Dashboard Traffic needs a browser: ${broken} does not start: error while loading shared libraries: libnss3.so: cannot open shared object file (exit code 127)`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
