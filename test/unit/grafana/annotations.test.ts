import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { annotationTags, Annotator } from "../../../src/grafana/annotations.ts";
import { startFakeGrafana, type FakeGrafana } from "../../helpers/grafana.ts";

let grafana: FakeGrafana;
let logs: string[];
beforeEach(async () => {
  grafana = await startFakeGrafana();
  logs = [];
});
afterEach(() => grafana.close());

const annotator = (extra: Partial<ConstructorParameters<typeof Annotator>[0]> = {}) =>
  new Annotator({ url: grafana.url, token: grafana.token, log: (l) => logs.push(l), ...extra });

describe("annotationTags", () => {
  it("builds upstream's tag sets", () => {
    expect(annotationTags(undefined)).toEqual(["scaletest", "runner"]);
    expect(annotationTags("status")).toEqual(["scaletest", "runner", "status"]);
    expect(annotationTags("phase")).toEqual(["scaletest", "runner", "phase", "phase-default"]);
    expect(annotationTags("phase", [], true)).toEqual(["scaletest", "runner", "phase", "phase-wait"]);
    expect(annotationTags("scenario", ["run-1"])).toEqual(["scaletest", "runner", "scenario", "run-1"]);
  });
});

describe("Annotator", () => {
  it("posts a span at start and patches its end time, in Grafana's documented shape", async () => {
    const a = annotator({ dashboardUid: "qLVSTR-Vz" });
    const h = a.start("phase", "Creating workspaces", { time: 1000 });
    await a.end(h, { time: 2000 });
    await a.flush();
    expect(grafana.problems()).toEqual([]);
    expect(grafana.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /api/annotations", "PATCH /api/annotations/1"]);
    expect(grafana.requests[0]!.body).toEqual({
      time: 1000,
      tags: ["scaletest", "runner", "phase", "phase-default"],
      text: "Creating workspaces",
      dashboardUID: "qLVSTR-Vz",
    });
    expect(grafana.requests[1]!.body).toEqual({ timeEnd: 2000 });
    expect(grafana.annotations.get(1)).toMatchObject({ time: 1000, timeEnd: 2000 });
    expect(a.sent).toBe(2);
    expect(a.failures).toBe(0);
  });

  it("adds the error tag to the full tag list when a span fails", async () => {
    const a = annotator();
    const h = a.start("status", "Running");
    await a.end(h, { error: true });
    expect(grafana.requests[1]!.body).toMatchObject({ tags: ["scaletest", "runner", "status", "error"] });
    expect(grafana.annotations.get(1)!.tags).toContain("error");
    expect(grafana.annotations.get(1)!.timeEnd).toBeTypeOf("number");
  });

  it("never throws when Grafana answers errors; logs once and counts", async () => {
    grafana.failWith(500);
    const a = annotator();
    for (let i = 0; i < 3; i++) await a.end(a.start("phase", `p${i}`));
    await a.flush();
    expect(a.failures).toBe(3);
    expect(logs.filter((l) => l.includes("grafana annotation failed"))).toHaveLength(1);
    // No PATCH without an id.
    expect(grafana.requests.every((r) => r.method === "POST")).toBe(true);
  });

  it("never throws when Grafana is down", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const a = new Annotator({ url: `http://127.0.0.1:${port}`, token: "t0k3n-value", log: (l) => logs.push(l) });
    await a.end(a.start("status", "Running"));
    await a.flush();
    expect(a.failures).toBe(1);
    expect(logs).toHaveLength(1);
    expect(logs[0]).not.toContain("t0k3n-value");
  });

  it("rejects a wrong token as Grafana would (401 is counted, not thrown)", async () => {
    const a = new Annotator({ url: grafana.url, token: "wrong-token", log: (l) => logs.push(l) });
    await a.end(a.start("status", "Running"));
    expect(a.failures).toBe(1);
    expect(grafana.requests[0]!.problems).toContain("missing or wrong Authorization: Bearer token");
  });

  it("sends nothing in dry-run or without a URL", async () => {
    for (const a of [annotator({ dryRun: true }), new Annotator({ log: (l) => logs.push(l) })]) {
      const h = a.start("phase", "x");
      expect(await h.id).toBeUndefined();
      await a.end(h, { error: true });
      await a.flush();
      expect(a.enabled).toBe(false);
    }
    expect(grafana.requests).toEqual([]);
  });

  describe("recorded annotations", () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "ann-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("lets another process end an annotation by tags and text", async () => {
      const recordFile = join(dir, "grafana-annotations");
      const first = annotator({ recordFile });
      first.start("workspace", "Agent running", { time: 5 });
      await first.flush();
      expect(readFileSync(recordFile, "utf8")).toBe("1:scaletest,runner,workspace:Agent running:5\n");

      const second = annotator({ recordFile });
      await second.endRecorded("workspace", "Agent running", { time: 9 });
      await second.endRecorded("workspace", "Not recorded");
      expect(grafana.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /api/annotations", "PATCH /api/annotations/1"]);
      expect(grafana.annotations.get(1)!.timeEnd).toBe(9);
    });
  });
});
