import { describe, expect, it } from "vitest";
import { THRESHOLD_METRICS } from "../../../src/verdict/catalog.ts";
import { formatValue, parseThreshold, splitThresholdSetting, validateThresholds, valueKey } from "../../../src/verdict/threshold.ts";

describe("parseThreshold", () => {
  it.each([
    ["ssh.round_trip.p95 < 200ms", "ssh.round_trip.p95", "<", 200, false, 0],
    ["error_rate<1%", "error_rate", "<", 0.01, false, 0],
    ["bytes.achieved_ratio > 0.99", "bytes.achieved_ratio", ">", 0.99, false, 0],
    ["build.p95 <= 2m abortOnFail", "build.p95", "<=", 120_000, true, 0],
    ["web_terminal.round_trip.p99 < 1.5s abortOnFail=30s", "web_terminal.round_trip.p99", "<", 1500, true, 30_000],
    ["dashboard.action.p95 < 3s", "dashboard.action.p95", "<", 3000, false, 0],
    ["coderd.memory < 2GiB", "coderd.memory", "<", 2 * 1024 ** 3, false, 0],
    ["coderd.cpu <= 3.5", "coderd.cpu", "<=", 3.5, false, 0],
    ["coderd.provisioner_queue >= 0", "coderd.provisioner_queue", ">=", 0, false, 0],
  ])("%s", (text, metric, op, value, abort, grace) => {
    const t = parseThreshold(text);
    expect([t.metric.name, t.op, t.value, t.abortOnFail, t.abortGraceMs]).toEqual([metric, op, value, abort, grace]);
    expect(t.text).toBe(text);
  });

  it("reads label matchers, maps them into the value key, and keeps their order", () => {
    const t = parseThreshold('coderd.api_latency.p95{route="/api/v2/workspaces", method=~"GET|POST"} < 500ms');
    expect(t.labels).toEqual([
      { label: "route", op: "=", value: "/api/v2/workspaces" },
      { label: "method", op: "=~", value: "GET|POST" },
    ]);
    expect(valueKey(t)).toBe('coderd.api_latency.p95{route="/api/v2/workspaces",method=~"GET|POST"}');
  });

  it("reads a route pattern with braces inside its quotes", () => {
    const t = parseThreshold('coderd.api_latency.p99{route="/api/v2/users/{user}/workspaces"}<2s');
    expect([t.labels, t.value]).toEqual([[{ label: "route", op: "=", value: "/api/v2/users/{user}/workspaces" }], 2000]);
  });

  it.each([
    ["ssh.round_trip.p96 < 200ms", /unknown metric "ssh\.round_trip\.p96"; did you mean "ssh\.round_trip\.p9[59]".*allowed metrics: .*ssh\.round_trip\.p95/],
    ["sssh.round_trip.p95 < 200ms", /did you mean "ssh\.round_trip\.p95"/],
    ["ssh.round_trip.p95 < 200", /value "200" needs a unit, e\.g\. 200ms or 200s/],
    ["ssh.round_trip.p95 < fast", /value "fast" must be a duration with its unit/],
    ["error_rate < 150%", /value "150%" must be a percentage \(1%\) or a fraction from 0 to 1/],
    ["error_rate = 1%", /after "error_rate" expected one of <= >= < >, got "="/],
    ["error_rate <", /no value after "<"/],
    ["error_rate < 1% abortOnFial", /unknown option "abortOnFial"; allowed: abortOnFail/],
    ["error_rate < 1% abortOnFail=soon", /abortOnFail=soon: the grace must be a duration/],
    ['error_rate{route="/x"} < 1%', /error_rate takes no labels, got "route"/],
    ['coderd.api_latency.p95{path="/x"} < 1s', /has no label "path"; allowed labels: route, method/],
    ['coderd.api_latency.p95{route="/x" < 1s', /must be separated by ",", got "< 1s"/],
    ['coderd.api_latency.p95{route="/x"', /no closing "}"/],
    ["coderd.api_latency.p95{route=/x} < 1s", /label matcher "route=\/x" must look like route=/],
    ['coderd.db_query.p95{query=~"(("} < 1s', /not a valid regular expression/],
    ["coderd.memory < lots", /value "lots" must be bytes/],
    ["", /empty threshold/],
    ["< 5ms", /must start with a metric name/],
  ])("rejects %j", (text, message) => {
    expect(() => parseThreshold(text)).toThrow(message);
  });
});

describe("validateThresholds", () => {
  it("names the source and index of each bad threshold and keeps the good ones", () => {
    const { thresholds, problems } = validateThresholds(
      [
        { from: "--threshold", texts: ["ssh.round_trip.p95 < 200ms", "ssh.rount_trip.p95 < 200ms"] },
        { from: "SCALETEST_PARAM_THRESHOLDS", texts: ["app.error_rate < 1%", "coderd.api_5xx_rate < 1%"] },
      ],
      { scenarios: ["SSH Traffic", "Web Terminal Traffic"], prometheus: false },
    );
    expect(thresholds.map((t) => t.text)).toEqual(["ssh.round_trip.p95 < 200ms"]);
    expect(problems.map((p) => p.path)).toEqual(["--threshold[1]", "SCALETEST_PARAM_THRESHOLDS[0]", "SCALETEST_PARAM_THRESHOLDS[1]"]);
    expect(problems[0]!.message).toMatch(/unknown metric "ssh\.rount_trip\.p95"/);
    expect(problems[1]!.message).toBe('app.error_rate is measured by "App Traffic", which is not among the load scenarios (SSH Traffic, Web Terminal Traffic)');
    expect(problems[2]!.message).toMatch(/coderd\.api_5xx_rate is read from coderd's metrics and needs a Prometheus URL \(SCALETEST_PARAM_PROMETHEUS_URL\)/);
  });

  it("accepts coderd thresholds once a Prometheus URL is set", () => {
    const { problems } = validateThresholds([{ from: "--threshold", texts: ["coderd.api_5xx_rate < 1%"] }], { prometheus: true });
    expect(problems).toEqual([]);
  });
});

describe("splitThresholdSetting", () => {
  it("reads a JSON array (Coder's list(string) parameter) or one threshold per line", () => {
    expect(splitThresholdSetting('["error_rate < 1%", "build.p95 < 2m"]')).toEqual(["error_rate < 1%", "build.p95 < 2m"]);
    expect(splitThresholdSetting("error_rate < 1%\n\nbuild.p95 < 2m\n")).toEqual(["error_rate < 1%", "build.p95 < 2m"]);
    expect(splitThresholdSetting("  ")).toEqual([]);
    expect(() => splitThresholdSetting("[1, 2]")).toThrow(/JSON array of threshold strings/);
  });
});

describe("the catalog", () => {
  it("has unique names, and every client metric of a scenario starts with that scenario's key", () => {
    const names = THRESHOLD_METRICS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of THRESHOLD_METRICS) if (m.name.startsWith("coderd.")) expect(m.side).toBe("coderd");
    expect(names).toContain("coderd.api_latency.p95");
  });

  it("formats values in their unit", () => {
    expect(formatValue("duration", 183.4)).toBe("183ms");
    expect(formatValue("duration", 2.345)).toBe("2.35ms");
    expect(formatValue("duration", 1500)).toBe("1.50s");
    expect(formatValue("ratio", 0.004)).toBe("0.40%");
    expect(formatValue("bytes", 1536)).toBe("1.5 KiB");
  });
});
