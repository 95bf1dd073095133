// takeSnapshot reads the per-workspace traffic families from their slots; it must agree with prom-client's samples.
import { describe, expect, it } from "vitest";
import type { Registry } from "prom-client";
import { createRegistry, TrafficMetrics } from "../../../src/metrics/registry.ts";
import { takeSnapshot } from "../../../src/metrics/snapshot.ts";
import { FastFamily } from "../../../src/metrics/series.ts";
import { TRAFFIC } from "../../../src/metrics/names.ts";

/** The same registry seen without the slot fast path: every family answers only through prom-client's get(). */
function throughSamples(r: Registry): Registry {
  return {
    getSingleMetric: (name: string) => {
      const m = r.getSingleMetric(name);
      return m && { get: () => m.get() };
    },
  } as unknown as Registry;
}

describe("takeSnapshot", () => {
  it("sums the traffic families by scenario from their slots exactly as from prom-client's samples", async () => {
    const runner = createRegistry();
    const traffic = createRegistry();
    const scenarios = ["SSH Traffic", "Web Terminal Traffic", "Greedy Agent"];
    scenarios.forEach((scenario, n) => {
      const t = new TrafficMetrics(traffic, { scenario });
      for (let w = 0; w < 40; w++) {
        const c = t.connMetrics({ username: `u${w}`, workspace_name: `w${w}`, agent_name: "main" });
        c.addWritten(1024 * (w + 1) + n);
        c.addRead(1000 * w);
        if (w % 7 === 0) c.readError();
        if (w % 11 === 0) c.writeError();
        for (let i = 0; i < 5; i++) c.observeRoundTrip(0.0003 * (w + 1) * (i + 1) * (n + 1));
      }
    });
    // The slot path is the one taken (else this compares the sample path with itself).
    for (const name of [TRAFFIC.bytesWritten, TRAFFIC.bytesRead, TRAFFIC.readErrors, TRAFFIC.writeErrors, TRAFFIC.roundTrip]) {
      expect(traffic.getSingleMetric(name), name).toBeInstanceOf(FastFamily);
    }
    const fast = await takeSnapshot({ runner, traffic }, 0);
    const slow = await takeSnapshot({ runner, traffic: throughSamples(traffic) }, 0);
    expect(Object.keys(fast.traffic).sort()).toEqual([...scenarios].sort());
    expect(fast.traffic).toEqual(slow.traffic);
    expect(fast.traffic["SSH Traffic"]!.written).toBe(Array.from({ length: 40 }, (_, w) => 1024 * (w + 1)).reduce((a, b) => a + b, 0));
    expect(fast.traffic["Greedy Agent"]!.rtt.at(-1)).toBe(200);
  });

  it("files the standalone command's series (no scenario label) under its own key, as the samples do", async () => {
    const traffic = createRegistry();
    const c = new TrafficMetrics(traffic, {}).connMetrics({ username: "x", workspace_name: "x", agent_name: "main" });
    c.addWritten(7);
    c.observeRoundTrip(0.01);
    const fast = await takeSnapshot({ runner: createRegistry(), traffic }, 0);
    expect(fast.traffic).toEqual((await takeSnapshot({ runner: createRegistry(), traffic: throughSamples(traffic) }, 0)).traffic);
    expect(Object.keys(fast.traffic)).toEqual(["workspace-traffic"]);
    expect(fast.traffic["workspace-traffic"]!.written).toBe(7);
  });
});
