import { loadRunnerConfig } from "../../../src/run/config.ts";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { report } from "../../../src/run/lifecycle.ts";
import type { RunSummary } from "../../../src/report/summary.ts";

let dir: string;
let server: Server;
let posts: Array<{ text: string; blocks: Array<{ text: { text: string } }> }>;
let webhook: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "report-"));
  posts = [];
  server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      posts.push(JSON.parse(raw));
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  webhook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T1/B2/hooksecret42`;
});
afterEach(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({
  SCALETEST_RUN_ID: "scaletest-r",
  SCALETEST_RUN_DIR: dir,
  SCALETEST_RUN_START_TIME: "2024-09-18T11:47:53Z",
  SCALETEST_PARAM_NUM_WORKSPACES: "7",
  SCALETEST_PARAM_GRAFANA_URL: "https://grafana.example.com",
  SLACK_WEBHOOK_URL: webhook,
  CODER_USER: "scaletest",
  ...extra,
});

describe("report", () => {
  it("prints the started message in dry-run and posts nothing", async () => {
    const logs: string[] = [];
    let out = "";
    expect(await report(loadRunnerConfig(env()), "started", { log: (l) => logs.push(l), out: (t) => (out += t) })).toBe(0);
    expect(posts).toEqual([]);
    expect(out).toContain("New scaletest started at 2024-09-18T11:47:53.000Z by scaletest");
    expect(out).toContain("SCALETEST_PARAM_NUM_WORKSPACES: `7`");
    expect(out).toContain("https://grafana.example.com/d/scaletest-runner/scaletest-runner?");
    expect(logs.join("\n") + out).not.toContain("hooksecret42");
  });

  it("posts the completed message with the run's outcomes and a fixed time range", async () => {
    const summary: RunSummary = {
      runId: "scaletest-r",
      status: "Complete",
      startedAt: Date.parse("2024-09-18T11:47:53Z"),
      endedAt: Date.parse("2024-09-18T12:47:53Z"),
      resultsDir: join(dir, "results"),
      phases: [{ name: "Load scenario: App Traffic", kind: "load", startedAt: 0, outcome: "passed", scenarios: [{ name: "App Traffic", outcome: "passed" }] }],
    };
    mkdirSync(join(dir, "results"), { recursive: true });
    writeFileSync(join(dir, "results", "summary.json"), JSON.stringify(summary));
    const logs: string[] = [];
    expect(await report(loadRunnerConfig(env({ SCALETEST_PARAM_DRY_RUN: "0" })), "completed", { log: (l) => logs.push(l), out: () => {} })).toBe(0);
    expect(posts).toHaveLength(1);
    const text = posts[0]!.blocks[0]!.text.text;
    expect(text).toContain("Scaletest completed at 2024-09-18T12:47:53.000Z");
    expect(text).toContain(`to=${summary.endedAt}`);
    expect(text).toContain("• App Traffic: passed");
    expect(text).not.toContain("SCALETEST_PARAM_");
    expect(logs.join("\n")).not.toContain("hooksecret42");
  });
});
