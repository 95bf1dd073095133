// report.html opened in a real Chromium: no console errors, no network requests, every plot an SVG with data marks.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { findChromium, launchChromium } from "../../src/browser/chromium.ts";
import { main } from "../../src/cli.ts";
import { writeReport } from "../../src/report/html.ts";
import { writeRunFixture } from "../helpers/run-fixture.ts";

describe("report.html in Chromium", () => {
  let dir: string;
  let browser: Browser;
  let path: string;
  let html: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "report-html-"));
    await writeRunFixture(join(dir, "run"));
    path = await writeReport(join(dir, "run"));
    html = await readFile(path, "utf8");
    browser = (await launchChromium({ executablePath: findChromium() })).browser;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("is one file next to results/, with no script and nothing fetched", () => {
    expect(path).toBe(join(dir, "run", "report.html"));
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|src=/i);
    expect(html).toContain("Content-Security-Policy");
  });

  it("renders without console errors or network requests, every plot an SVG with data marks", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    const url = pathToFileURL(path).href;
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => {
      if (r.url() !== url) requests.push(r.url());
    });
    await page.goto(url, { waitUntil: "load" });
    const figures = await page.$$eval("figure", (fs) =>
      fs.map((f) => ({
        id: f.id,
        svgs: f.querySelectorAll("svg").length,
        // Vega draws data in groups of role "mark"; axes, legends and titles have other roles.
        marks: Array.from(f.querySelectorAll("g.role-mark")).reduce((n: number, g) => n + g.querySelectorAll("path, rect, line").length, 0),
        width: f.querySelector("svg")?.getBoundingClientRect().width ?? 0,
      })),
    );
    await page.close();
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(figures.map((f) => f.id)).toEqual(["plot-phases", "plot-bytes", "plot-round-trip", "plot-errors", "plot-jobs", "plot-builds", "plot-dashboard"]);
    for (const f of figures) {
      expect(f.svgs, f.id).toBe(1);
      expect(f.marks, f.id).toBeGreaterThan(0);
      expect(f.width, f.id).toBeGreaterThan(100);
    }
  });

  it("shows the verdict, the saturation warning, the settings and a Grafana link for the run's time range", () => {
    expect(html).toMatch(/<span class="badge fail" id="verdict">FAIL<\/span>/);
    expect(html).toContain("ssh.round_trip.p95 &lt; 10ms");
    expect(html).toContain("wrote 83% of the target bytes");
    expect(html).toContain("https://grafana.example.test/d/scaletest-runner/scaletest-runner?orgId=1&amp;from=1772445600000&amp;to=1772445725000&amp;var-run=scaletest-fixture");
    expect(html).toContain("SCALETEST_PARAM_NUM_WORKSPACES");
    // Jobs per scenario come back from results/ (summary.json leaves them out).
    expect(html).toContain("<td>3/4</td>");
  });

  it("is what `scaletest report RUN_DIR` writes; a bad threshold is exit 2 and writes nothing new", async () => {
    await rm(path);
    expect(await main(["report", join(dir, "run")])).toBe(0);
    const written = await readFile(path, "utf8");
    expect(written.length).toBeGreaterThan(10_000);
    // The fixture's summary has no row: the command adds the cells the run measured.
    expect(written).toMatch(/<div id="scale-test-row">.*<td>9<\/td><td>10<\/td><td>4 SSH, 2 dashboard<\/td><td>unknown<\/td><td>Mar 2, 2026<\/td>/);
    await rm(path);
    expect(await main(["report", join(dir, "run"), "--threshold", "ssh.round_trip.p95 < 10"])).toBe(2);
    await expect(readFile(path)).rejects.toThrow(/ENOENT/);
    expect(await main(["report", join(dir, "missing")])).toBe(2);
  });

  it("evaluates thresholds on the finished run: exit 3 when one fails, 0 when all pass", async () => {
    expect(await main(["report", join(dir, "run"), "--threshold", "ssh.round_trip.p99 < 10ms", "--threshold", "build.p95 < 1m"])).toBe(3);
    expect(await readFile(path, "utf8")).toMatch(/ssh\.round_trip\.p99 &lt; 10ms<\/td><td>14\.0ms<\/td><td>fail/);
    expect(await main(["report", join(dir, "run"), "--threshold", "ssh.round_trip.p99 < 1s", "--threshold", "build.error_rate <= 10%"])).toBe(0);
  });
});
