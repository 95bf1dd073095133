// One place that marks a phase or status change everywhere: the state files, Grafana annotations and the run summary.
import { join } from "node:path";
import { getErrorMessage } from "../errors.ts";
import type { Annotator, AnnotationHandle } from "../grafana/annotations.ts";
import type { PhaseSummary, RoundTrip, ScenarioSummary, SummaryOutcome } from "../report/summary.ts";
import { endPhase, startPhase } from "../state/phase.ts";
import { isFinalStatus, lockStatus, NOT_STARTED, readStatus, writeStatus, type RunStatus } from "../state/status.ts";

/** What a phase body returns: its outcome and the scenarios it ran. */
export interface PhaseResult {
  outcome: SummaryOutcome;
  error?: string;
  scenarios?: ScenarioSummary[];
  /** Create phase: build succeeded to every agent connected. */
  agentConnect?: RoundTrip;
}

/** The run directory layout (state/, results/, logs/ and the annotations record, as upstream's runner lays it out). */
export function runPaths(runDir: string): { state: string; results: string; logs: string; annotations: string } {
  const state = join(runDir, "state");
  return { state, results: join(runDir, "results"), logs: join(runDir, "logs"), annotations: join(state, "grafana-annotations") };
}

/** Records phases and statuses for one process; `phases` is the summary's phase list. */
export class RunRecorder {
  readonly phases: PhaseSummary[] = [];
  private statusHandle?: AnnotationHandle;

  constructor(
    private readonly stateDir: string,
    private readonly annotator: Annotator,
    private readonly opts: { dryRun?: boolean; log?: (line: string) => void; onPhase?: (name: string, running: boolean) => void } = {},
  ) {}

  private log(line: string): void {
    (this.opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
  }

  /** Writes a status line and moves the status annotation; a failure locks the status file. */
  status(status: RunStatus): void {
    // The previous status may have been opened by another process (prepare before run): close it by its record.
    const previous = this.statusHandle ? undefined : readStatus(this.stateDir).replace(/ \(dry-run\)$/, "");
    writeStatus(this.stateDir, status, { dryRun: this.opts.dryRun });
    this.log(`status: ${status}${this.opts.dryRun ? " (dry-run)" : ""}`);
    const failed = status.startsWith("Failed");
    if (this.statusHandle) void this.annotator.end(this.statusHandle, { error: failed });
    else if (previous && previous !== NOT_STARTED && !isFinalStatus(previous)) void this.annotator.endRecorded("status", previous);
    this.statusHandle = this.annotator.start("status", status);
    if (isFinalStatus(status)) {
      void this.annotator.end(this.statusHandle, { error: failed });
      this.statusHandle = undefined;
    }
    if (failed) lockStatus(this.stateDir);
  }

  /**
   * Runs one phase: START line and annotation, the body, END line and the annotation's end (with `error` when it
   * did not pass). A body that throws is recorded as failed; the error is returned in the result, not rethrown.
   */
  async phase(name: string, kind: PhaseSummary["kind"], body: () => Promise<PhaseResult>): Promise<PhaseSummary> {
    const summary: PhaseSummary = { name, kind, startedAt: Date.now(), outcome: "passed", scenarios: [] };
    this.phases.push(summary);
    startPhase(this.stateDir, name);
    this.opts.onPhase?.(name, true);
    this.log(`phase: ${name}`);
    const handle = this.annotator.start("phase", name, { wait: kind === "wait" });
    try {
      const r = await body();
      summary.outcome = r.outcome;
      summary.error = r.error;
      summary.scenarios = r.scenarios ?? [];
      if (r.agentConnect) summary.agentConnect = r.agentConnect;
    } catch (err) {
      summary.outcome = "failed";
      summary.error = getErrorMessage(err);
    }
    summary.endedAt = Date.now();
    endPhase(this.stateDir, name);
    this.opts.onPhase?.(name, false);
    void this.annotator.end(handle, { error: summary.outcome !== "passed" });
    this.log(`phase: ${name} [${summary.outcome}]${summary.error ? `: ${summary.error}` : ""}`);
    return summary;
  }
}
