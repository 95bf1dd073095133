// Live progress of a harness phase on stderr: a redrawn line on a terminal, periodic lines otherwise.
import type { HarnessEvents } from "../harness/harness.ts";
import type { Outcome } from "../harness/runner.ts";
import type { TestRun } from "../harness/test-run.ts";
import { formatGoDuration } from "../util/duration.ts";

export interface ProgressOptions {
  /** Where to draw (stderr in the CLI). */
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  /** What is running, e.g. "create-workspaces". */
  label: string;
  /** Number of jobs in the phase. */
  total: number;
  /** Redraw in place (default: the stream's isTTY). */
  tty?: boolean;
  /** Non-TTY: at most one line per this many milliseconds (default 5000); TTY: redraw interval (default 250). */
  intervalMs?: number;
  /** Extra figures appended to each line (e.g. dashboard actions, which move while every job is still running). */
  detail?: () => string;
  /** Clock for tests (milliseconds). */
  now?: () => number;
}

/** Counts of a phase in flight. */
export interface ProgressCounts extends Record<Outcome, number> {
  running: number;
  done: number;
  total: number;
}

/** Tracks a harness phase through its events and draws it. Call `stop()` to print the final line. */
export class Progress {
  readonly counts: ProgressCounts;
  readonly events: HarnessEvents;
  private readonly tty: boolean;
  private readonly interval: number;
  private readonly now: () => number;
  private readonly t0: number;
  private timer?: NodeJS.Timeout;
  private lastPrinted = "";
  private lastAt = -Infinity;
  private stopped = false;

  constructor(private readonly opts: ProgressOptions) {
    this.tty = opts.tty ?? Boolean(opts.stream.isTTY);
    this.interval = opts.intervalMs ?? (this.tty ? 250 : 5000);
    this.now = opts.now ?? Date.now;
    this.t0 = this.now();
    // The first non-TTY line comes after one interval, so a quick phase prints only its final line.
    this.lastAt = this.t0;
    this.counts = { ok: 0, failed: 0, canceled: 0, timed_out: 0, running: 0, done: 0, total: opts.total };
    this.events = {
      runStarted: () => {
        this.counts.running++;
        this.maybeDraw();
      },
      runFinished: (run: TestRun) => this.finished(run.outcome ?? "failed"),
      runNotStarted: (_testName, _id, outcome) => {
        this.counts.running++;
        this.finished(outcome);
      },
      cleanupStarted: () => {
        this.counts.running++;
        this.maybeDraw();
      },
      cleanupFinished: (run: TestRun) => this.finished(run.cleanupOutcome ?? "ok"),
    };
    this.timer = setInterval(() => this.draw(false), this.interval);
    this.timer.unref();
  }

  private finished(outcome: Outcome): void {
    this.counts.running--;
    this.counts.done++;
    this.counts[outcome]++;
    this.maybeDraw();
  }

  /** The current status line. */
  line(): string {
    const c = this.counts;
    const parts = [`${this.opts.label}: ${c.done}/${c.total} done`, `ok ${c.ok}`, `failed ${c.failed}`];
    if (c.canceled) parts.push(`canceled ${c.canceled}`);
    if (c.timed_out) parts.push(`timed out ${c.timed_out}`);
    parts.push(`running ${c.running}`);
    const detail = this.opts.detail?.();
    if (detail) parts.push(detail);
    parts.push(`elapsed ${formatGoDuration(Math.round((this.now() - this.t0) / 100) * 100)}`);
    return parts.join("  ");
  }

  private maybeDraw(): void {
    // On a terminal every event redraws; otherwise lines are rate-limited by the interval.
    if (this.tty || this.now() - this.lastAt >= this.interval) this.draw(true);
  }

  private draw(force: boolean): void {
    if (this.stopped) return;
    const text = this.line();
    if (this.tty) {
      this.opts.stream.write(`\r\x1b[2K${text}`);
    } else {
      const withoutTime = text.replace(/ {2}elapsed .*$/, "");
      if (!force && withoutTime === this.lastPrinted) return;
      this.opts.stream.write(`${text}\n`);
      this.lastPrinted = withoutTime;
    }
    this.lastAt = this.now();
  }

  /** Stops redrawing and prints the final state on its own line. */
  stop(): void {
    if (this.stopped) return;
    clearInterval(this.timer);
    const text = this.line();
    this.opts.stream.write(this.tty ? `\r\x1b[2K${text}\n` : `${text}\n`);
    this.stopped = true;
  }
}
