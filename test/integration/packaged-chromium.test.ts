// The Chromium `npm ci` brings (@sparticuz/chromium), with the system one hidden by an empty PATH: unpacked on first
// launch into a fresh cache, driven by playwright-core (load, click, screenshot), measured, and fully closed.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findChromium, launchChromium, restrictToOrigin } from "../../src/browser/chromium.ts";
import { browserMemory } from "../../src/browser/memory.ts";
import { packagedChromium, unpackPackagedChromium } from "../../src/browser/packaged-chromium.ts";

const run = promisify(execFile);

let server: Server;
let origin: string;
let cache: string;

beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), "packaged-chromium-"));
  server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" }).end(`<!doctype html><title>before</title><button id=go onclick="document.title='clicked'">Go</button>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await rm(cache, { recursive: true, force: true });
});

describe("packaged Chromium", () => {
  it("is chosen when PATH has no Chromium, unpacks on first launch, and loads, clicks and screenshots a page", async () => {
    const pkg = packagedChromium()!;
    const executablePath = findChromium({ env: { PATH: "", XDG_CACHE_HOME: cache } });
    expect(executablePath).toBe(join(cache, "scaletest-runner", `chromium-${pkg.version}`, "chromium"));
    // A second caller asking while the launch unpacks shares that one unpack.
    const [{ browser, marker }, unpacked] = await Promise.all([
      launchChromium({ executablePath, allowHosts: ["127.0.0.1"] }),
      unpackPackagedChromium(pkg, dirname(executablePath)),
    ]);
    expect(unpacked).toBe(executablePath);
    try {
      expect(browser.version()).toMatch(/^\d+\./);
      const context = await browser.newContext();
      await restrictToOrigin(context, origin);
      const page = await context.newPage();
      await page.goto(`${origin}/`);
      await page.click("#go");
      expect(await page.title()).toBe("clicked");
      const png = await page.screenshot();
      expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
      // The wrapper script execs the browser, so the memory probe finds it by its marker like a system Chromium.
      expect(browserMemory(marker).processes).toBeGreaterThanOrEqual(1);
    } finally {
      await browser.close();
    }
    await expect.poll(() => browserMemory(marker).processes, { timeout: 5_000, interval: 50 }).toBe(0);
    // Only the finished folder is left (no staging folder), and asking again finds it without unpacking.
    expect(await readdir(dirname(dirname(executablePath)))).toEqual([`chromium-${pkg.version}`]);
    expect(await unpackPackagedChromium(pkg, dirname(executablePath))).toBe(executablePath);
    // The wrapper needs nothing from PATH (a bare machine may lack even coreutils there).
    const { stdout } = await run(executablePath, ["--version"], { env: { PATH: "" } });
    expect(stdout).toMatch(/^Chromium \d+\./);
  });
});
