// The harness's public surface (generic: knows nothing of Coder).
export type { Outcome, RunLog, Runner } from "./runner.ts";
export { OUTCOMES } from "./runner.ts";
export { MemoryLog, TestRun, classifyFailure } from "./test-run.ts";
export {
  DEFAULT_STRATEGY,
  concurrent,
  linear,
  shuffled,
  strategyFromConfig,
  strategyFromFlags,
  validateStrategyConfig,
  withTimeout,
  type Strategy,
  type StrategyConfig,
  type TestFn,
} from "./strategies.ts";
export {
  NIL_ERROR,
  compareBytes,
  emptyOutcomeCounts,
  encodeResultsJson,
  goJsonString,
  resultsToText,
  phaseOutcome,
  type OutcomeCounts,
  type PhaseOutcome,
  type Results,
  type RunResult,
} from "./results.ts";
export { CleanupError, Harness, exitCodeFor, runPhase, type HarnessEvents, type HarnessOptions } from "./harness.ts";
export { formatRfc3339Nano, nowNs } from "./clock.ts";
