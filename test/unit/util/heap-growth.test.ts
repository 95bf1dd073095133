// The ramp's tight heap growth is held while any phase dials and released once, however often release is called.
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { holdTightHeapGrowth, tightHeapGrowthHolders } from "../../../src/util/heap-growth.ts";

describe("holdTightHeapGrowth", () => {
  it("counts its holders: the default comes back when the last one releases, each release counts once", () => {
    const before = tightHeapGrowthHolders();
    const a = holdTightHeapGrowth();
    const b = holdTightHeapGrowth();
    expect(tightHeapGrowthHolders()).toBe(before + 2);
    a();
    a();
    expect(tightHeapGrowthHolders()).toBe(before + 1);
    b();
    expect(tightHeapGrowthHolders()).toBe(before);
  });

  it("holds nothing in a worker thread, whose release would cut the main thread's ramp short", async () => {
    const src = new URL("../../../src/util/heap-growth.ts", import.meta.url).href;
    const loader = import.meta.resolve("tsx/esm/api");
    // The worker loads the TypeScript module through tsx, as the traffic workers do in a checkout.
    const boot = `import(${JSON.stringify(loader)}).then(async (tsx) => {
      tsx.register();
      const { holdTightHeapGrowth, tightHeapGrowthHolders } = await import(${JSON.stringify(src)});
      holdTightHeapGrowth();
      (await import("node:worker_threads")).parentPort.postMessage(tightHeapGrowthHolders());
    })`;
    const w = new Worker(boot, { eval: true });
    const held = await new Promise((resolve, reject) => w.once("message", resolve).once("error", reject));
    await w.terminate();
    expect(held).toBe(0);
  });
});
