// The one stable split of targets over worker threads and shard pods: a target goes to FNV-1a(its ID) mod N.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32 bits, over the UTF-8 bytes of `s` (as Go's hash/fnv New32a over []byte(s)). */
export function fnv1a32(s: string): number {
  let h = FNV_OFFSET;
  for (const b of Buffer.from(s, "utf8")) h = Math.imul(h ^ b, FNV_PRIME);
  return h >>> 0;
}

/** Which of `count` shards (or workers) owns the target with this ID (a workspace ID; a user ID for dashboard traffic). */
export function shardOf(id: string, count: number): number {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count must be a positive integer, got ${count}`);
  return fnv1a32(id) % count;
}

/** Splits `items` into `count` groups by `shardOf(idOf(item), count)`, keeping their order within each group. */
export function splitByShard<T>(items: readonly T[], count: number, idOf: (item: T) => string): T[][] {
  const groups = Array.from({ length: count }, (): T[] => []);
  for (const item of items) groups[shardOf(idOf(item), count)]!.push(item);
  return groups;
}
