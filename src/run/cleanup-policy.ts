// The cleanup-strategy matrix (as upstream's runner template): which event cleans up under which strategy. The one place that decides.
import type { CleanupStrategy } from "./settings.ts";

/**
 * What happened: the run ended well or badly, the workspace is stopping, an operator asked, or prepare is
 * removing an earlier run's leftovers. These are also the `cleanup <event>` script arguments.
 */
export const CLEANUP_EVENTS = ["manual", "on_stop", "on_success", "on_error", "prepare"] as const;
export type CleanupEvent = (typeof CLEANUP_EVENTS)[number];

/** True when `event` is a known cleanup event. */
export function isCleanupEvent(v: string): v is CleanupEvent {
  return (CLEANUP_EVENTS as readonly string[]).includes(v);
}

/** What can call for a cleanup: a script event, or the run stopped by SIGTERM (it ended failed AND the workspace is stopping). */
export type CleanupTrigger = CleanupEvent | "terminated";

/**
 * Whether to delete the run's workspaces and users. `manual` always does (after confirmation); `prepare`
 * does when "Cleanup before scaletest" is on; the others follow the strategy:
 *
 * | strategy   | on_success | on_error | on_stop |
 * | always     | yes        | yes      | no (already done at the end) |
 * | on_success | yes        | no       | no      |
 * | on_error   | no         | yes      | no      |
 * | on_stop    | no         | no       | yes     |
 *
 * Stopped by SIGTERM ("terminated"): clean up if on_error or on_stop would (always, on_error, on_stop; not on_success).
 */
export function shouldCleanup(strategy: CleanupStrategy, event: CleanupTrigger, cleanupPrepare = true): boolean {
  switch (event) {
    case "terminated":
      return shouldCleanup(strategy, "on_error") || shouldCleanup(strategy, "on_stop");
    case "manual":
      return true;
    case "prepare":
      return cleanupPrepare;
    case "on_success":
      return strategy === "always" || strategy === "on_success";
    case "on_error":
      return strategy === "always" || strategy === "on_error";
    case "on_stop":
      return strategy === "on_stop";
  }
}

/** One sentence per strategy for the plan and the template docs. */
export function describeStrategy(strategy: CleanupStrategy): string {
  switch (strategy) {
    case "always":
      return "when the run ends, whatever the outcome";
    case "on_success":
      return "when the run ends successfully; a failed run keeps its workspaces for inspection";
    case "on_error":
      return "when the run fails; a successful run keeps its workspaces";
    case "on_stop":
      return "when the runner workspace stops; until then the workspaces stay";
  }
}
