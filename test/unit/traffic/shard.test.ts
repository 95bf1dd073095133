import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fnv1a32, inShard, shardOf, splitByShard } from "../../../src/traffic/shard.ts";

describe("shard split", () => {
  it("is FNV-1a 32 (the published test vectors, and UTF-8 bytes beyond ASCII)", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
    // "é" is C3 A9 in UTF-8: two rounds, not one over the UTF-16 code unit.
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193);
    expect(fnv1a32("é")).toBe(h >>> 0);
  });

  it("puts every target in exactly one group, by hash mod N, keeping order", () => {
    const ids = Array.from({ length: 1000 }, () => randomUUID());
    const groups = splitByShard(ids, 3, (id) => id);
    expect(groups.flat().sort()).toEqual([...ids].sort());
    groups.forEach((g, i) => {
      for (const id of g) expect(fnv1a32(id) % 3).toBe(i);
      expect(g).toEqual(ids.filter((id) => shardOf(id, 3) === i));
      expect(g.length).toBeGreaterThan(250); // a UUID's hash spreads evenly enough
    });
  });

  it("does not depend on the listing order, and N=1 keeps everything", () => {
    const ids = Array.from({ length: 50 }, () => randomUUID());
    const a = splitByShard(ids, 4, (id) => id).map((g) => [...g].sort());
    const b = splitByShard([...ids].reverse(), 4, (id) => id).map((g) => [...g].sort());
    expect(a).toEqual(b);
    expect(splitByShard(ids, 1, (id) => id)).toEqual([ids]);
    expect(() => shardOf("x", 0)).toThrow(/shard count must be a positive integer, got 0/);
  });

  it("splits a shard's own subset evenly over its workers (the hash's next digits), stable and disjoint", () => {
    const ids = Array.from({ length: 4000 }, () => randomUUID());
    for (const [shards, workers] of [[2, 2], [3, 6], [4, 2], [5, 3]] as const) {
      const seen = new Set<string>();
      for (let s = 0; s < shards; s++) {
        const mine = ids.filter((id) => inShard(id, { index: s, count: shards }));
        const groups = splitByShard(mine, workers, (id) => id, shards);
        // h mod workers alone would leave workers idle whenever the counts share a factor (2 shards x 2 workers: all even).
        for (const g of groups) expect(g.length, `${shards} shards x ${workers} workers`).toBeGreaterThan((0.6 * mine.length) / workers);
        expect(groups.every((g, w) => g.every((id) => Math.floor(fnv1a32(id) / shards) % workers === w))).toBe(true);
        const reversed = splitByShard([...mine].reverse(), workers, (id) => id, shards).map((g) => [...g].sort());
        expect(reversed).toEqual(groups.map((g) => [...g].sort()));
        for (const id of groups.flat()) seen.add(id);
      }
      expect(seen.size).toBe(ids.length);
    }
    // One shard (the unsharded command) keeps today's split.
    expect(splitByShard(ids, 4, (id) => id, 1)).toEqual(splitByShard(ids, 4, (id) => id));
    expect(inShard("x", undefined)).toBe(true);
    expect(() => splitByShard(ids, 2, (id) => id, 0)).toThrow(/positive integer, got 0/);
  });
});
