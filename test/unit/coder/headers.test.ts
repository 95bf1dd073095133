import { describe, expect, it } from "vitest";
import { connectionEnv, connectionFromEnv, encodeHeaderEnv, parseHeaderEntries, resolveHeaders } from "../../../src/coder/headers.ts";
import { redact } from "../../../src/errors.ts";
import { splitCsvRecord } from "../../../src/util/csv.ts";

describe("header settings", () => {
  it("parses key=value at the first '=', joins repeats, and registers every value for redaction", () => {
    const h = parseHeaderEntries(["X-Auth=a=b=c-secret", "x-multi=one111", "X-Multi=two222"], "--header");
    expect(h).toEqual({ "X-Auth": "a=b=c-secret", "x-multi": "one111, two222" });
    expect(redact("value a=b=c-secret leaked")).toBe("value [REDACTED] leaked");
  });

  it("names the flag and entry, never the value, for a bad entry", () => {
    expect(() => parseHeaderEntries(["fine=1", "no-equals-hunter2"], "--header")).toThrow(/^validate --header: entry 2 must be key=value \(no "=" found\)$/);
    expect(() => parseHeaderEntries(["bad name=hunter2"], "--header")).toThrow(/entry 1 has an invalid header name "bad name"/);
    expect(() => parseHeaderEntries(["Coder-Session-Token=hunter2"], "--header")).toThrow(/may not set Coder-Session-Token/);
    expect(() => parseHeaderEntries(["X-A=hun\r\nter2"], "--header")).toThrow(/line break/);
    try {
      parseHeaderEntries(["X-A=hun\nter2secret"], "--header");
    } catch (err) {
      expect((err as Error).message).not.toContain("ter2secret");
    }
  });

  it("round-trips entries through CODER_HEADER's CSV form, commas and quotes included", () => {
    const entries = ["A=1", 'B=has,comma and "quote"', "C="];
    expect(splitCsvRecord(encodeHeaderEnv(entries))).toEqual(entries);
    const s = connectionFromEnv({ CODER_HEADER: encodeHeaderEnv(entries), CODER_HEADER_COMMAND: "true", CODER_SCALETEST_REQUEST_TIMEOUT: "45s" });
    expect(s).toEqual({ header: entries, headerCommand: "true", requestTimeoutMs: 45_000 });
    expect(connectionFromEnv(connectionEnv(s))).toEqual(s);
  });

  it("refuses a bad CODER_SCALETEST_REQUEST_TIMEOUT naming it", () => {
    expect(() => connectionFromEnv({ CODER_SCALETEST_REQUEST_TIMEOUT: "soon" })).toThrow(/validate CODER_SCALETEST_REQUEST_TIMEOUT: must be a duration/);
    expect(() => connectionFromEnv({ CODER_SCALETEST_REQUEST_TIMEOUT: "500ms" })).toThrow(/validate CODER_SCALETEST_REQUEST_TIMEOUT: must be 0 \(no deadline\) or from 1s to 1h/);
  });

  it("runs the header command with CODER_URL and the allow-listed env only, its lines after --header's", () => {
    process.env.GRAFANA_API_TOKEN = "grafana-should-not-leak";
    try {
      const r = resolveHeaders({ header: ["X-A=1"], headerCommand: 'printf "X-Url=%s\\nX-Grafana=%s\\n" "$CODER_URL" "${GRAFANA_API_TOKEN:-none}"' }, "http://127.0.0.1:9/");
      expect(r.headers).toEqual({ "X-A": "1", "X-Url": "http://127.0.0.1:9/", "X-Grafana": "none" });
      expect(r.env).toEqual({ CODER_HEADER: "X-A=1", CODER_HEADER_COMMAND: expect.stringContaining("printf") });
    } finally {
      delete process.env.GRAFANA_API_TOKEN;
    }
  });

  it("refuses a header command that fails or prints a line without '='", () => {
    expect(() => resolveHeaders({ header: [], headerCommand: "exit 4" }, "http://x/")).toThrow(/validate --header-command: exited with status 4/);
    expect(() => resolveHeaders({ header: [], headerCommand: "echo token-only-secret" }, "http://x/")).toThrow(/validate --header-command output: entry 1 must be key=value/);
  });
});
