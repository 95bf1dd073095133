import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { buildSlackMessage, escapeMrkdwn, grafanaRunUrl, postSlack, type ReportInput } from "../../../src/report/slack.ts";

const base: ReportInput = {
  event: "started",
  runId: "scaletest-2024-09-18T11-47-53Z",
  comment: "Baseline for <v2.15> & friends",
  initiator: "scaletest",
  coderUrl: "https://coder.example.com/",
  version: "v2.15.0",
  workspaceUrl: "https://coder.example.com/@scaletest/runner",
  grafanaUrl: "https://grafana.example.com/",
  startedAt: Date.UTC(2024, 8, 18, 11, 47, 53),
  parameters: { SCALETEST_PARAM_NUM_WORKSPACES: "100", SCALETEST_PARAM_CLEANUP_STRATEGY: "always" },
};

describe("buildSlackMessage", () => {
  it("announces a start with parameters, run ID and a live Grafana link", () => {
    const msg = buildSlackMessage(base);
    const text = msg.blocks[0]!.text.text;
    expect(msg.text).toBe("New scaletest started at 2024-09-18T11:47:53.000Z by scaletest on https://coder.example.com (v2.15.0)");
    expect(text).toContain("• Comment: Baseline for &lt;v2.15&gt; &amp; friends");
    expect(text).toContain("• Run ID: `scaletest-2024-09-18T11-47-53Z`");
    expect(text).toContain("to=now");
    expect(text).toContain("var-run=scaletest-2024-09-18T11-47-53Z");
    // Parameters sorted by name.
    expect(text.indexOf("CLEANUP_STRATEGY")).toBeLessThan(text.indexOf("NUM_WORKSPACES"));
  });

  it("fixes the Grafana time range and lists outcomes when the run ends", () => {
    const endedAt = base.startedAt + 3_723_000;
    const msg = buildSlackMessage({ ...base, event: "failed", endedAt, outcomes: ["SSH Traffic: failed, 3/5 jobs passed"], resultsDir: "/r" });
    const text = msg.blocks[0]!.text.text;
    expect(text.startsWith(":x: *Scaletest failed at 2024-09-18T12:49:56.000Z")).toBe(true);
    expect(text).toContain(`from=${base.startedAt}&to=${endedAt}`);
    expect(text).toContain("• Duration: 1h2m3s");
    expect(text).toContain("• SSH Traffic: failed, 3/5 jobs passed");
    expect(text).toContain("• Results: `/r`");
    expect(text).not.toContain("NUM_WORKSPACES");
  });

  it("sends the verdict in its own section: the headline, then each threshold with its observed value", () => {
    const endedAt = base.startedAt + 60_000;
    const verdict = ["Verdict: FAIL", "  ok   error_rate < 1%: observed 0.00%", "  FAIL ssh.round_trip.p95 < 200ms: observed 350ms [abortOnFail]"];
    const msg = buildSlackMessage({ ...base, event: "failed", endedAt, outcomes: ["SSH Traffic: failed"], verdict });
    expect(msg.blocks).toHaveLength(2);
    expect(msg.blocks[1]!.text.text).toBe("*Verdict: FAIL*\n• ok   error_rate &lt; 1%: observed 0.00%\n• FAIL ssh.round_trip.p95 &lt; 200ms: observed 350ms [abortOnFail]");
    // Not on a start.
    expect(buildSlackMessage({ ...base, verdict }).blocks).toHaveLength(1);
  });

  it("keeps the verdict section under Slack's 3000 characters, counting what it leaves out", () => {
    const many = ["Verdict: PASS", ...Array.from({ length: 100 }, (_, i) => `  ok   coderd.api_latency.p95{route="/api/v2/workspaces/${i}"} < 500ms: observed 12.0ms`)];
    const text = buildSlackMessage({ ...base, event: "completed", endedAt: base.startedAt + 1, verdict: many }).blocks[1]!.text.text;
    expect(text.length).toBeLessThanOrEqual(3000);
    const sent = text.split("\n").filter((l) => l.includes("observed")).length;
    expect(sent).toBeGreaterThan(10);
    expect(text.endsWith(`• …and ${100 - sent} more (see summary.json)`)).toBe(true);
  });

  it("omits the Grafana link without a Grafana URL", () => {
    expect(grafanaRunUrl({ ...base, grafanaUrl: undefined })).toBeUndefined();
    expect(buildSlackMessage({ ...base, grafanaUrl: undefined }).blocks[0]!.text.text).not.toContain("Grafana");
  });

  it("escapes mrkdwn control characters", () => {
    expect(escapeMrkdwn("a<b>&c")).toBe("a&lt;b&gt;&amp;c");
  });
});

describe("postSlack", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function webhook(status: number) {
    const bodies: unknown[] = [];
    const server = createServer((req, res) => {
      let raw = "";
      req.on("data", (c) => (raw += c));
      req.on("end", () => {
        bodies.push(JSON.parse(raw));
        res.writeHead(status).end(status === 200 ? "ok" : "invalid_token");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    close = () => new Promise((r) => server.close(() => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/secretpart123`;
    return { url, bodies };
  }

  it("posts the message and never logs the webhook URL", async () => {
    const { url, bodies } = await webhook(200);
    const logs: string[] = [];
    const msg = buildSlackMessage(base);
    expect(await postSlack(url, msg, { log: (l) => logs.push(l) })).toBe(true);
    expect(bodies).toEqual([msg]);
    expect(logs.join("\n")).not.toContain("secretpart123");
  });

  it("reports a rejected post without the URL and without throwing", async () => {
    const { url } = await webhook(403);
    const logs: string[] = [];
    expect(await postSlack(url, buildSlackMessage(base), { log: (l) => logs.push(l) })).toBe(false);
    expect(logs.join("\n")).toContain("HTTP 403");
    expect(logs.join("\n")).not.toContain("secretpart123");
  });

  it("sends nothing in dry-run", async () => {
    const { url, bodies } = await webhook(200);
    const logs: string[] = [];
    expect(await postSlack(url, buildSlackMessage(base), { dryRun: true, log: (l) => logs.push(l) })).toBe(false);
    expect(bodies).toEqual([]);
    expect(logs[0]).toContain("dry-run");
    expect(logs.join("\n")).not.toContain("secretpart123");
  });
});
