// Target selection shared by the traffic scenarios: `--target-workspaces` ranges (§1.7) and the indexed slice they pick.
import { parseTargetRange, selectRange, type TargetRange } from "./dashboard-setup.ts";

// One implementation of the range syntax: the dashboard scenario's, which is upstream-exact (errors included).
export { parseTargetRange, selectRange, type TargetRange };

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
