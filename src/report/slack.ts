// Slack report: a pure message builder for started/completed/failed, and a poster that never reveals the webhook URL.
import { getErrorMessage, redact, registerSecret } from "../errors.ts";

/** Which report: the run began, finished well, or failed. */
export type ReportEvent = "started" | "completed" | "failed";

/** Everything a report says; plain data so the builder stays pure. */
export interface ReportInput {
  event: ReportEvent;
  runId: string;
  /** Operator's comment (what and why). */
  comment: string;
  /** Who started the run (the runner workspace's owner). */
  initiator: string;
  /** The Coder deployment URL. */
  coderUrl: string;
  /** Coder version from /api/v2/buildinfo, when known. */
  version?: string;
  /** The runner workspace's page, when known. */
  workspaceUrl?: string;
  /** Grafana base URL; without it no dashboard link is sent. */
  grafanaUrl?: string;
  /** Dashboard UID and URL slug (default: the bundled dashboard, scaletest-runner). */
  dashboardUid?: string;
  dashboardSlug?: string;
  /** Run start, epoch milliseconds. */
  startedAt: number;
  /** Run end (completed/failed), epoch milliseconds. */
  endedAt?: number;
  /** Run parameters shown on "started" (SCALETEST_PARAM_* name → value); secrets must not be passed. */
  parameters?: Record<string, string>;
  /** One line per phase or scenario for completed/failed (e.g. "SSH Traffic: 10/10 passed"). */
  outcomes?: string[];
  /** Where the results are on the runner. */
  resultsDir?: string;
  /** The verdict (completed/failed): its headline, then one line per threshold with its observed value. */
  verdict?: string[];
}

/** A Slack incoming-webhook body: one mrkdwn section, plus `text` for notifications. */
export interface SlackMessage {
  text: string;
  blocks: Array<{ type: "section"; text: { type: "mrkdwn"; text: string } }>;
}

const HEADLINE: Record<ReportEvent, string> = {
  started: "New scaletest started",
  completed: "Scaletest completed",
  failed: "Scaletest failed",
};

/** Slack mrkdwn needs &, < and > escaped in text that is not a link. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The dashboard URL for the run's time range (`to` fixed once the run has ended) and run filter. */
export function grafanaRunUrl(input: Pick<ReportInput, "grafanaUrl" | "dashboardUid" | "dashboardSlug" | "startedAt" | "endedAt" | "runId">): string | undefined {
  if (!input.grafanaUrl) return undefined;
  const base = input.grafanaUrl.replace(/\/+$/, "");
  const uid = input.dashboardUid ?? "scaletest-runner";
  const slug = input.dashboardSlug ?? "scaletest-runner";
  const q = new URLSearchParams({
    orgId: "1",
    from: String(input.startedAt),
    to: input.endedAt === undefined ? "now" : String(input.endedAt),
    "var-run": input.runId,
  });
  return `${base}/d/${encodeURIComponent(uid)}/${encodeURIComponent(slug)}?${q.toString()}`;
}

/** Builds the Slack message for one report (pure; no secrets should be in `input`). */
export function buildSlackMessage(input: ReportInput): SlackMessage {
  const at = new Date(input.event === "started" ? input.startedAt : (input.endedAt ?? input.startedAt)).toISOString();
  const coder = input.coderUrl.replace(/\/+$/, "");
  const version = input.version ? ` (${escapeMrkdwn(input.version)})` : "";
  const head = `${HEADLINE[input.event]} at ${at} by ${escapeMrkdwn(input.initiator || "unknown")} on ${coder}${version}`;
  const lines = [input.event === "failed" ? `:x: *${head}*` : input.event === "completed" ? `:white_check_mark: *${head}*` : `*${head}*`];
  lines.push(`• Comment: ${escapeMrkdwn(input.comment || "No comment provided")}`);
  lines.push(`• Run ID: \`${escapeMrkdwn(input.runId)}\``);
  if (input.workspaceUrl) lines.push(`• Runner workspace: <${input.workspaceUrl}|${escapeMrkdwn(input.runId)}>`);
  const grafana = grafanaRunUrl(input);
  if (grafana) lines.push(input.event === "started" ? `• Grafana: <${grafana}|dashboard>` : `• *Grafana: <${grafana}|dashboard for this run>*`);
  if (input.endedAt !== undefined && input.event !== "started") {
    lines.push(`• Duration: ${formatMinutes(input.endedAt - input.startedAt)}`);
  }
  for (const o of input.outcomes ?? []) lines.push(`• ${escapeMrkdwn(o)}`);
  if (input.resultsDir && input.event !== "started") lines.push(`• Results: \`${escapeMrkdwn(input.resultsDir)}\``);
  if (input.event === "started") {
    for (const [k, v] of Object.entries(input.parameters ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`• ${escapeMrkdwn(k)}: \`${escapeMrkdwn(v)}\``);
    }
  }
  const blocks: SlackMessage["blocks"] = [{ type: "section", text: { type: "mrkdwn", text: lines.join("\n") } }];
  if (input.verdict && input.verdict.length > 0 && input.event !== "started") {
    blocks.push({ type: "section", text: { type: "mrkdwn", text: verdictText(input.verdict) } });
  }
  return { text: head, blocks };
}

/** Slack refuses a section over 3000 characters: lines past that are counted, not sent (summary.json has them all). */
const SECTION_LIMIT = 3000;

function verdictText(verdict: readonly string[]): string {
  const [headline, ...rest] = verdict.map((l) => escapeMrkdwn(l.trim()));
  const lines = [`*${headline}*`];
  let size = lines[0]!.length;
  for (const [i, l] of rest.entries()) {
    const line = `• ${l}`;
    const more = `• …and ${rest.length - i} more (see summary.json)`;
    if (size + 1 + line.length + 1 + more.length > SECTION_LIMIT) {
      lines.push(more);
      break;
    }
    lines.push(line);
    size += 1 + line.length;
  }
  return lines.join("\n");
}

function formatMinutes(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h > 0 ? `${h}h` : ""}${h > 0 || m > 0 ? `${m}m` : ""}${s % 60}s`;
}

/** Options for postSlack. */
export interface PostOptions {
  signal?: AbortSignal;
  /** Dry-run: log that a message would be posted, send nothing. */
  dryRun?: boolean;
  log?: (line: string) => void;
  /** Per-request deadline (milliseconds, default 10000). */
  timeoutMs?: number;
}

/**
 * Posts the message to an incoming webhook. Returns whether Slack accepted it; never throws and never
 * logs the URL (it is a credential): failures are reported with the URL redacted.
 */
export async function postSlack(webhookUrl: string | undefined, message: SlackMessage, opts: PostOptions = {}): Promise<boolean> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (!webhookUrl) {
    log("slack: no webhook configured, not posting");
    return false;
  }
  registerSecret(webhookUrl);
  if (opts.dryRun) {
    log(`slack (dry-run): would post "${message.text}"`);
    return false;
  }
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
  try {
    const res = await fetch(webhookUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(message),
      signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
    });
    const body = await res.text();
    if (!res.ok) {
      log(`slack: webhook answered HTTP ${res.status}: ${redact(body.slice(0, 200))}`);
      return false;
    }
    log(`slack: posted "${message.text}"`);
    return true;
  } catch (err) {
    log(`slack: post failed: ${getErrorMessage(err)}`);
    return false;
  }
}
