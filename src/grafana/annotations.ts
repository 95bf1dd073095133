// Grafana annotations over the HTTP API: open a span at a phase/status start, close it at the end; never stops a run.
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { getErrorMessage, registerSecret } from "../errors.ts";
import { ANNOTATION_TAGS } from "../metrics/names.ts";

/** The kinds the runner uses (upstream lib.sh categories); undefined = the overall "Start scaletest" span. */
export type AnnotationKind = "status" | "phase" | "scenario" | "greedy_agent" | "workspace" | "logs";

export interface AnnotatorOptions {
  /** Grafana base URL (GRAFANA_URL); empty or undefined disables annotations. */
  url?: string;
  /** Editor API token (GRAFANA_API_TOKEN), sent as `Authorization: Bearer`. */
  token?: string;
  /** Attach annotations to this dashboard (its UID); undefined = organization-wide annotations. */
  dashboardUid?: string;
  /** Tags appended to every annotation (upstream's GRAFANA_EXTRA_TAGS), e.g. the run ID. */
  extraTags?: string[];
  /** Dry-run: nothing is sent; handles get no id (upstream writes FAKEID). */
  dryRun?: boolean;
  /** Per-request deadline in milliseconds (default 5000), so a hung Grafana cannot hold a phase. */
  timeoutMs?: number;
  /** Where created annotations are recorded (`<id>:<tags>:<text>:<start>`), so another process can end them. */
  recordFile?: string;
  /** Progress and the first failure go here (default: stderr). */
  log?: (line: string) => void;
  /** Clock (epoch milliseconds), for tests. */
  now?: () => number;
}

/** An annotation the runner opened. `id` resolves to Grafana's id, or undefined when it was not created. */
export interface AnnotationHandle {
  readonly tags: string[];
  readonly text: string;
  /** Start, epoch milliseconds. */
  readonly time: number;
  readonly id: Promise<number | undefined>;
}

export interface EndOptions {
  /** Adds the `error` tag (a failed phase, status or scenario). */
  error?: boolean;
  /** More tags to add when ending. */
  addTags?: string[];
  /** End time, epoch milliseconds (default now). */
  time?: number;
}

/** The tags of an annotation of `kind`, as upstream: scaletest, runner, kind(s), extra tags. */
export function annotationTags(kind: AnnotationKind | undefined, extraTags: string[] = [], wait = false): string[] {
  const tags: string[] = [...ANNOTATION_TAGS.base];
  if (kind === "phase") tags.push(ANNOTATION_TAGS.phase, wait ? ANNOTATION_TAGS.phaseWait : ANNOTATION_TAGS.phaseDefault);
  else if (kind) tags.push(kind);
  return [...tags, ...extraTags];
}

/**
 * Posts and patches annotations. Requests run in the background: `start` returns at once, `end` waits only for
 * its own start, and `flush` waits for everything. A Grafana that is down or answers an error is logged once
 * and counted in `failures`; nothing here throws.
 */
export class Annotator {
  /** How many requests failed (network error, timeout, or a non-2xx answer). */
  failures = 0;
  /** How many requests Grafana accepted. */
  sent = 0;
  private readonly pending = new Set<Promise<unknown>>();
  private warned = false;
  private readonly base?: string;

  constructor(private readonly options: AnnotatorOptions = {}) {
    registerSecret(options.token);
    const url = options.url?.trim();
    this.base = url ? url.replace(/\/+$/, "") : undefined;
  }

  /** True when annotations go somewhere (a URL is set and this is not a dry-run). */
  get enabled(): boolean {
    return this.base !== undefined && !this.options.dryRun;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private log(line: string): void {
    (this.options.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
  }

  /** Opens an annotation of `kind` with `text`; `wait` marks a baseline wait (phase-wait instead of phase-default). */
  start(kind: AnnotationKind | undefined, text: string, opts: { wait?: boolean; time?: number } = {}): AnnotationHandle {
    const tags = annotationTags(kind, this.options.extraTags, opts.wait);
    const time = opts.time ?? this.now();
    const body: Record<string, unknown> = { time, tags, text };
    if (this.options.dashboardUid) body.dashboardUID = this.options.dashboardUid;
    const id = this.enabled
      ? this.track(this.send("POST", "/api/annotations", body)).then((res) => {
          const value = (res as { id?: unknown } | undefined)?.id;
          return typeof value === "number" ? value : undefined;
        })
      : Promise.resolve(undefined);
    const handle: AnnotationHandle = { tags, text, time, id };
    if (this.options.recordFile) void this.track(id.then((n) => this.record(n, handle)));
    return handle;
  }

  /** Closes an annotation: PATCH timeEnd, and the full tag list when tags are added. */
  end(handle: AnnotationHandle, opts: EndOptions = {}): Promise<void> {
    const timeEnd = opts.time ?? this.now();
    const added = [...(opts.error ? [ANNOTATION_TAGS.error] : []), ...(opts.addTags ?? [])];
    const done = handle.id.then(async (id) => {
      if (id === undefined || !this.enabled) return;
      const body: Record<string, unknown> = { timeEnd };
      if (added.length > 0) body.tags = [...handle.tags, ...added.filter((t) => !handle.tags.includes(t))];
      await this.send("PATCH", `/api/annotations/${id}`, body);
    });
    return this.track(done).then(() => undefined);
  }

  /**
   * Closes the most recent recorded annotation with these tags and text (one opened by another process, e.g.
   * startup's "Agent running" closed by shutdown). Does nothing when none is recorded.
   */
  endRecorded(kind: AnnotationKind | undefined, text: string, opts: EndOptions = {}): Promise<void> {
    const tags = annotationTags(kind, this.options.extraTags);
    const found = findRecorded(this.options.recordFile, tags, text);
    if (!found) return Promise.resolve();
    return this.end({ tags, text, time: found.time, id: Promise.resolve(found.id) }, opts);
  }

  /** Waits until every request in flight has finished. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p)).catch(() => undefined);
    return p;
  }

  /** One request; resolves to the JSON answer, or undefined on any failure (logged once, counted). */
  private async send(method: "POST" | "PATCH", path: string, body: unknown): Promise<unknown> {
    try {
      const res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          ...(this.options.token ? { Authorization: `Bearer ${this.options.token}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`);
      this.sent++;
      return text ? JSON.parse(text) : undefined;
    } catch (err) {
      this.failures++;
      if (!this.warned) {
        this.warned = true;
        this.log(`WARN: grafana annotation failed (the run goes on; later failures are only counted): ${getErrorMessage(err)}`);
      }
      return undefined;
    }
  }

  private record(id: number | undefined, h: AnnotationHandle): void {
    const file = this.options.recordFile!;
    try {
      mkdirSync(dirname(file), { recursive: true });
      appendFileSync(file, `${id ?? "FAKEID"}:${h.tags.join(",")}:${h.text.replace(/[\n:]/g, " ")}:${h.time}\n`);
    } catch (err) {
      this.log(`WARN: could not record annotation: ${getErrorMessage(err)}`);
    }
  }
}

/** The most recent record with these tags and text that has a real id. */
function findRecorded(file: string | undefined, tags: string[], text: string): { id: number; time: number } | undefined {
  if (!file) return undefined;
  let lines: string[];
  try {
    lines = readFileSync(file, "utf8").split("\n");
  } catch {
    return undefined;
  }
  const want = `:${tags.join(",")}:${text.replace(/[\n:]/g, " ")}:`;
  for (const line of lines.reverse()) {
    const colon = line.indexOf(":");
    if (colon < 0 || !line.slice(colon).startsWith(want)) continue;
    const id = Number(line.slice(0, colon));
    if (Number.isInteger(id)) return { id, time: Number(line.slice(colon + want.length)) };
  }
  return undefined;
}
