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

/** One process's part of a sharded run: shard `index` (0-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** Whether the target with this ID belongs to `shard` (an unsharded run owns every target). */
export function inShard(id: string, shard: Shard | undefined): boolean {
  return shard === undefined || shardOf(id, shard.count) === shard.index;
}

/**
 * Splits `items` into `count` groups by `shardOf(idOf(item), count)`, keeping their order within each group.
 * `within` is the shard count the items were already split by (worker threads inside one shard): the split then
 * takes the hash's next digits, floor(h / within) mod count, since h mod count alone would put shard 0 of 2's
 * targets (all even hashes) on the even workers only.
 */
export function splitByShard<T>(items: readonly T[], count: number, idOf: (item: T) => string, within = 1): T[][] {
  if (!Number.isInteger(within) || within < 1) throw new RangeError(`shard count must be a positive integer, got ${within}`);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count must be a positive integer, got ${count}`);
  const groups = Array.from({ length: count }, (): T[] => []);
  for (const item of items) groups[Math.floor(fnv1a32(idOf(item)) / within) % count]!.push(item);
  return groups;
}
