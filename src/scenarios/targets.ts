// Target selection: the `START:END` range syntax of `--target-workspaces` and `--target-users` (START inclusive, END exclusive, as coder exp scaletest parses it) and the slices it picks.

/** A parsed `START:END` range; `end` 0 means "to the end" (upstream's internal convention). */
export interface TargetRange {
  start: number;
  end: number;
}

/** Parses `--target-users` / `--target-workspaces` as upstream, errors included (`kind` is "users" or "workspaces"), and refuses a negative START, which upstream silently reads as 0. */
export function parseTargetRange(value: string, kind: "users" | "workspaces"): TargetRange {
  if (value === "") return { start: 0, end: 0 };
  const bad = (why = "") => new Error(`invalid target ${kind} ${JSON.stringify(value)}${why}`);
  const parts = value.split(":");
  if (parts.length !== 2 || !/^[-+]?\d+$/.test(parts[0]!) || !/^[-+]?\d+$/.test(parts[1]!)) throw bad();
  const start = Number(parts[0]);
  const end = Number(parts[1]);
  if (start < 0) throw bad(": start must be 0 or more (START:END with 0 <= START < END)");
  if (start === end) throw bad(": start and end cannot be equal");
  if (end < start) throw bad(": end cannot be less than start");
  return { start, end };
}

/** Keeps the elements whose index i satisfies start <= i < end (end 0 = to the end; beyond the list = to the end). */
export function selectRange<T>(list: readonly T[], range: TargetRange): T[] {
  return list.filter((_, i) => i >= range.start && (range.end === 0 || i < range.end));
}

/** A selected element with its index in the filtered list (the job ID; gaps stay gaps, as upstream). */
export interface Indexed<T> {
  index: number;
  item: T;
}

/**
 * workspace-traffic's selection: fails on an empty list (`no scaletest workspaces exist`) and on an END past
 * the list (`target workspace end N is greater than the number of workspaces M`); keeps START <= i < END.
 */
export function selectTargetWorkspaces<T>(list: readonly T[], range: TargetRange): Indexed<T>[] {
  if (list.length === 0) throw new Error("no scaletest workspaces exist");
  if (range.end > list.length) throw new Error(`target workspace end ${range.end} is greater than the number of workspaces ${list.length}`);
  const out: Indexed<T>[] = [];
  list.forEach((item, index) => {
    if (index >= range.start && (range.end === 0 || index < range.end)) out.push({ index, item });
  });
  return out;
}

/**
 * The `START:END` slice that `percentage` % of `total` targets, starting at `start` and wrapping to 0 when it
 * would pass the end (upstream run.sh's rule; the staged plan in src/config/slices.ts lays these end to end).
 */
export function percentageSlice(total: number, percentage: number, start = 0): { start: number; end: number; target: string } {
  if (!(percentage >= 0 && percentage <= 100)) throw new RangeError(`percentage must be between 0 and 100, got ${percentage}`);
  const count = Math.floor((percentage * total) / 100);
  const s = start + count > total ? 0 : start;
  return { start: s, end: s + count, target: `${s}:${s + count}` };
}
