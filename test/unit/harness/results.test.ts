import { describe, expect, it } from "vitest";
import { formatRfc3339Nano } from "../../../src/harness/clock.ts";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeResultsJson, goJsonString, resultsToText, writeResultsJson, type Results } from "../../../src/harness/results.ts";

const sample: Results = {
  total_runs: 3,
  total_pass: 2,
  total_fail: 1,
  elapsed: "1m3.2s",
  elapsed_ms: 63200,
  runs: {
    "workspacebuild/2": {
      full_id: "workspacebuild/2",
      test_name: "workspacebuild",
      id: "2",
      logs: "a\n",
      started_at: "2024-09-18T11:00:00.125Z",
      duration: "1s",
      duration_ms: 1000,
      error: "<nil>",
    },
    "workspacebuild/10": {
      full_id: "workspacebuild/10",
      test_name: "workspacebuild",
      id: "10",
      logs: "create user\nwait <build> & \"agents\"\n\tlast line without newline",
      started_at: "2024-09-18T11:00:00.124Z",
      duration: "58.1s",
      duration_ms: 58100,
      error: 'create workspace: build failed with status "failed": boom',
    },
    "workspacebuild/1": {
      full_id: "workspacebuild/1",
      test_name: "workspacebuild",
      id: "1",
      logs: "",
      started_at: "2024-09-18T11:00:00.123456789Z",
      duration: "2.000000001s",
      duration_ms: 2000,
      error: "<nil>",
    },
  },
};

describe("results JSON", () => {
  it("matches Go's encoder byte for byte: key order, byte-sorted run keys, HTML escaping, trailing newline", () => {
    const expected =
      '{"total_runs":3,"total_pass":2,"total_fail":1,"elapsed":"1m3.2s","elapsed_ms":63200,"runs":{' +
      '"workspacebuild/1":{"full_id":"workspacebuild/1","test_name":"workspacebuild","id":"1","logs":"",' +
      '"started_at":"2024-09-18T11:00:00.123456789Z","duration":"2.000000001s","duration_ms":2000,"error":"\\u003cnil\\u003e"},' +
      '"workspacebuild/10":{"full_id":"workspacebuild/10","test_name":"workspacebuild","id":"10",' +
      '"logs":"create user\\nwait \\u003cbuild\\u003e \\u0026 \\"agents\\"\\n\\tlast line without newline",' +
      '"started_at":"2024-09-18T11:00:00.124Z","duration":"58.1s","duration_ms":58100,' +
      '"error":"create workspace: build failed with status \\"failed\\": boom"},' +
      '"workspacebuild/2":{"full_id":"workspacebuild/2","test_name":"workspacebuild","id":"2","logs":"a\\n",' +
      '"started_at":"2024-09-18T11:00:00.125Z","duration":"1s","duration_ms":1000,"error":"\\u003cnil\\u003e"}}}\n';
    expect(encodeResultsJson(sample)).toBe(expected);
    // And it is still JSON that round-trips to the same data.
    expect(JSON.parse(encodeResultsJson(sample))).toEqual(sample);
  });

  it("writes an empty runs object as {}", () => {
    const r: Results = { total_runs: 0, total_pass: 0, total_fail: 0, elapsed: "0s", elapsed_ms: 0, runs: {} };
    expect(encodeResultsJson(r)).toBe('{"total_runs":0,"total_pass":0,"total_fail":0,"elapsed":"0s","elapsed_ms":0,"runs":{}}\n');
  });

  it("escapes strings like Go's encoding/json", () => {
    expect(goJsonString("\b\f\n\r\t\u0001\u001f\u007f")).toBe('"\\b\\f\\n\\r\\t\\u0001\\u001f\u007f"');
    expect(goJsonString("\u2028\u2029 µs é 😀")).toBe('"\\u2028\\u2029 µs é 😀"');
    expect(goJsonString("lone \ud800 x")).toBe('"lone \ufffd x"');
    // Plain stretches between escapes, a pair at the start of one, a lone low surrogate at the very end.
    expect(goJsonString("line one\n😀 two\t<end>\udc00")).toBe('"line one\\n😀 two\\t\\u003cend\\u003e\ufffd"');
    expect(goJsonString("\\ \" < > &")).toBe('"\\\\ \\" \\u003c \\u003e \\u0026"');
  });

  it("writes a file of thousands of runs chunk by chunk, byte for byte as the one-string encoding", () => {
    const many: Results = { total_runs: 4500, total_pass: 0, total_fail: 4500, elapsed: "1s", elapsed_ms: 1000, runs: {} };
    for (let i = 0; i < 4500; i++) {
      const full = `workspacebuild/${i}`;
      many.runs[full] = { full_id: full, test_name: "workspacebuild", id: String(i), logs: i % 7 ? "" : "a <b> & \"c\"\n", started_at: "0001-01-01T00:00:00Z", duration: "0s", duration_ms: 0, error: "context deadline exceeded" };
    }
    const dir = mkdtempSync(join(tmpdir(), "results-"));
    try {
      writeResultsJson(join(dir, "r.json"), many);
      const text = readFileSync(join(dir, "r.json"), "utf8");
      expect(text).toBe(encodeResultsJson(many));
      expect(Object.keys(JSON.parse(text).runs)).toHaveLength(4500);
      expect(text).toContain('"logs":"a \\u003cb\\u003e \\u0026 \\"c\\"\\n"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("sorts run keys by UTF-8 bytes, as Go does", () => {
    const run = sample.runs["workspacebuild/1"]!;
    const r: Results = { ...sample, runs: { "t/\uffff": run, "t/😀": run, "t/B": run, "t/a": run } };
    const keys = [...encodeResultsJson(r).matchAll(/"(t\/[^"]+)":\{/g)].map((m) => m[1]);
    expect(keys).toEqual(["t/B", "t/a", "t/\uffff", "t/😀"]);
  });
});

describe("results text", () => {
  it("prints failed runs with indented logs, then totals and the average duration", () => {
    expect(resultsToText(sample)).toBe(
      "\n== FAIL: workspacebuild/10\n\n" +
        '\tError: create workspace: build failed with status "failed": boom\n\n' +
        "\tLog:\n" +
        "\t\tcreate user\n" +
        '\t\twait <build> & "agents"\n' +
        "\t\t\tlast line without newline\n" + // upstream drops this line; we keep it (documented)
        "\n\nTest results:\n" +
        "\tPass:  2\n\tFail:  1\n\tTotal: 3\n\n" +
        "\tTotal duration: 1m3.2s\n" +
        "\tAvg. duration:  20.366666667s\n",
    );
  });

  it("says No tests run for an empty harness", () => {
    const r: Results = { total_runs: 0, total_pass: 0, total_fail: 0, elapsed: "0s", elapsed_ms: 0, runs: {} };
    expect(resultsToText(r)).toBe("\n\nTest results:\n\tNo tests run\n");
  });
});

describe("started_at", () => {
  const ns = 1_726_657_200_123_456_789n; // 2024-09-18T11:00:00.123456789Z
  it("formats RFC 3339 with trimmed nanoseconds", () => {
    expect(formatRfc3339Nano(ns, 0)).toBe("2024-09-18T11:00:00.123456789Z");
    expect(formatRfc3339Nano(1_726_657_200_120_000_000n, 0)).toBe("2024-09-18T11:00:00.12Z");
    expect(formatRfc3339Nano(1_726_657_200_000_000_000n, 0)).toBe("2024-09-18T11:00:00Z");
  });
  it("uses the zone offset, as Go prints local time", () => {
    expect(formatRfc3339Nano(ns, 120)).toBe("2024-09-18T13:00:00.123456789+02:00");
    expect(formatRfc3339Nano(ns, -330)).toBe("2024-09-18T05:30:00.123456789-05:30");
  });
});
