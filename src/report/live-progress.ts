// The staged run's live progress: every few seconds the phase, time left, jobs, bytes/s vs target, round-trip p95, errors and thresholds.
import { thresholdStatusText, type ThresholdResult } from "../verdict/evaluate.ts";
import { diff, rttQuantileMs, takeSnapshot, type RunSnapshot, type SnapshotSources } from "../metrics/snapshot.ts";
import { formatBytes } from "../util/bytes.ts";

/** What is running now, from the orchestrator. */
export interface PhaseNow {
  name: string;
  kind: "create" | "wait" | "load" | "cleanup";
  /** Epoch ms the phase is planned to end (waits and load); undefined when its length depends on the deployment. */
  endsAt?: number;
  /** Target bytes/s of each scenario running now. */
  targets?: Readonly<Record<string, number>>;
}

/** One line's figures (plain data; `progressLine` renders it). */
export interface ProgressState {
  phase: PhaseNow;
  now: number;
  /** Jobs finished since the phase started. */
  ok: number;
  failed: number;
  /** Jobs running now (undefined when the phase's jobs do not report it). */
  running?: number;
  /** Open traffic connections. */
  open: number;
  /** Over the last interval. */
  bytesPerSecond?: number;
  rttP95Ms?: number;
  /** I/O errors and failed dashboard actions since the phase started. */
  errors: number;
  thresholds?: readonly ThresholdResult[];
  /** A short saturation warning, when the last window was generator-limited. */
  saturation?: string;
}

/** "4m05s", "12s". */
export function shortLeft(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
}

/** The progress line (pure). Baseline waits are a countdown; load phases show traffic and thresholds. */
export function progressLine(s: ProgressState): string {
  const left = s.phase.endsAt !== undefined ? `${shortLeft(s.phase.endsAt - s.now)} left` : undefined;
  if (s.phase.kind === "wait") return `${s.phase.name}: ${left ?? "waiting"}`;
  const parts = [s.phase.name];
  if (left) parts.push(left);
  const running = s.running !== undefined ? ` running ${s.running}` : "";
  parts.push(`jobs ok ${s.ok} failed ${s.failed}${running}${s.phase.kind === "load" ? ` open ${s.open}` : ""}`);
  const target = Object.values(s.phase.targets ?? {}).reduce((n, v) => n + v, 0);
  if (s.bytesPerSecond !== undefined && (target > 0 || s.bytesPerSecond > 0)) {
    parts.push(`${formatBytes(Math.round(s.bytesPerSecond))}/s${target > 0 ? ` of ${formatBytes(target)}/s (${Math.round((s.bytesPerSecond / target) * 100)}%)` : ""}`);
  }
  if (s.rttP95Ms !== undefined) parts.push(`rtt p95 ${s.rttP95Ms < 10 ? s.rttP95Ms.toFixed(2) : s.rttP95Ms.toFixed(1)}ms`);
  parts.push(`errors ${s.errors}`);
  const t = thresholdStatusText(s.thresholds ?? []);
  if (t) parts.push(t);
  if (s.saturation) parts.push(`GENERATOR-LIMITED: ${s.saturation}`);
  return parts.join("  ");
}

export interface LiveProgressOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  sources: SnapshotSources;
  /** What runs now; undefined between phases (nothing is drawn). */
  phase: () => PhaseNow | undefined;
  /** The latest threshold results (ThresholdMonitor.latest). */
  thresholds?: () => readonly ThresholdResult[];
  saturation?: () => string | undefined;
  /** Redraw interval: default 1 s on a terminal, 10 s otherwise. */
  intervalMs?: number;
  tty?: boolean;
  now?: () => number;
}

/** Draws the progress line: redrawn in place on a terminal, one plain line per interval otherwise. */
export class LiveProgress {
  private readonly tty: boolean;
  private timer?: NodeJS.Timeout;
  private phaseName?: string;
  private phaseBase?: RunSnapshot;
  /** The reading taken when the phase started (`phaseStarted`), the base of its job and error counts. */
  private startReading?: { name: string; snap: Promise<RunSnapshot> };
  private last?: RunSnapshot;
  private drawing?: Promise<void>;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly o: LiveProgressOptions) {
    this.tty = o.tty ?? Boolean(o.stream.isTTY);
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => void this.draw(), this.o.intervalMs ?? (this.tty ? 1000 : 10_000));
    this.timer.unref();
  }

  /** A phase starts now: its counts start from a reading taken now, not from the last line's. */
  phaseStarted(name: string): void {
    const snap = takeSnapshot(this.o.sources, this.now());
    snap.catch(() => undefined);
    this.startReading = { name, snap };
  }

  /** Computes the current state (and remembers this reading for the next interval's rates). */
  async state(): Promise<ProgressState | undefined> {
    const phase = this.o.phase();
    if (!phase) return undefined;
    const snap = await takeSnapshot(this.o.sources, this.now());
    // A new phase counts from the reading taken at its start (else the last one); its rates and round trips
    // start over (the previous phase's traffic is not this one's), so its first line shows none.
    const newPhase = phase.name !== this.phaseName;
    if (newPhase) {
      this.phaseName = phase.name;
      const start = this.startReading?.name === phase.name ? await this.startReading.snap.catch(() => undefined) : undefined;
      this.phaseBase = start ?? this.last ?? snap;
    }
    const prev = newPhase ? undefined : this.last;
    this.last = snap;
    const base = this.phaseBase!;
    const sum = (p: RunSnapshot | undefined, f: (x: RunSnapshot) => number) => (p ? f(p) : 0);
    const jobs = (k: "ok" | "failed") => (p: RunSnapshot) => Object.values(p.jobs).reduce((n, j) => n + j[k], 0);
    // The phase's own scenarios when the traffic carries their names: side traffic (the greedy agent) has no
    // share of the phase's target.
    const own = Object.keys(phase.targets ?? {}).filter((k) => k in snap.traffic);
    const keys = own.length > 0 ? own : Object.keys(snap.traffic);
    const mine = (p: RunSnapshot) => keys.flatMap((k) => (p.traffic[k] ? [p.traffic[k]] : []));
    const written = (p: RunSnapshot) => mine(p).reduce((n, t) => n + t.written, 0);
    const errors = (p: RunSnapshot) => mine(p).reduce((n, t) => n + t.errors, 0) + (p.dashboard?.errors ?? 0);
    let rttP95Ms: number | undefined;
    if (prev) {
      const rtt = keys.reduce<number[] | undefined>((acc, k) => {
        const d = diff(snap.traffic[k]!.rtt, prev.traffic[k]?.rtt);
        return acc ? acc.map((v, i) => v + d[i]!) : d;
      }, undefined);
      rttP95Ms = rtt ? rttQuantileMs(0.95, rtt) : undefined;
    }
    const seconds = prev ? (snap.t - prev.t) / 1000 : 0;
    return {
      phase,
      now: snap.t,
      ok: jobs("ok")(snap) - sum(base, jobs("ok")),
      failed: jobs("failed")(snap) - sum(base, jobs("failed")),
      running: snap.running ? Object.values(snap.running).reduce((n, v) => n + v, 0) : undefined,
      open: Object.values(snap.runner.open).reduce((n, v) => n + v, 0),
      bytesPerSecond: prev && seconds > 0 ? (written(snap) - written(prev)) / seconds : undefined,
      rttP95Ms,
      errors: errors(snap) - sum(base, errors),
      thresholds: this.o.thresholds?.(),
      saturation: this.o.saturation?.(),
    };
  }

  /** Draws one line now. */
  draw(): Promise<void> {
    this.drawing ??= this.state()
      .then((s) => {
        if (!s) return;
        const line = progressLine(s);
        this.o.stream.write(this.tty ? `\r\x1b[2K${line}` : `${line}\n`);
      })
      .catch(() => undefined)
      .finally(() => (this.drawing = undefined));
    return this.drawing;
  }

  /** Stops drawing (on a terminal, ends the redrawn line); a second call does nothing. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.drawing;
    if (this.tty) this.o.stream.write("\n");
  }
}
