// One dashboard user: a real Chromium signed in with the user's token, doing a seeded random walk over the dashboard actions.
import { mkdir } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { launchChromium, restrictToOrigin, type LaunchedBrowser } from "../../browser/chromium.ts";
import { browserMemory, type BrowserMemory } from "../../browser/memory.ts";
import type { CoderClient } from "../../coder/client.ts";
import { getErrorMessage } from "../../errors.ts";
import type { RunLog, Runner } from "../../harness/runner.ts";
import { DeadlineError, sleep, withDeadline } from "../../util/abort.ts";
import { seededRandom } from "../../util/random.ts";
import { chooseAction, DASHBOARD_ACTIONS, nextWaitMs, ROOT_READY_SELECTOR, type DashboardAction } from "./actions.ts";
import type { DashboardMetrics } from "./metrics.ts";

/** Desktop size: anything narrower flips Coder's dashboard into its mobile layout. */
export const VIEWPORT = { width: 1024, height: 768 } as const;

/** The cookie coderd reads the session from. */
const SESSION_COOKIE = "coder_session_token";

export interface DashboardUserConfig {
  /** A client for the deployment carrying this user's API token (its URL is the page origin). */
  client: CoderClient;
  username: string;
  executablePath: string;
  headless: boolean;
  intervalMs: number;
  jitterMs: number;
  /** Seed of the walk; every user gets the same sequence, as upstream. */
  seed: number;
  metrics: DashboardMetrics;
  /** Directory for failure screenshots (created on first use). */
  screenshotDir: string;
  /** The run ends, successfully, after this long (0 or unset: only the job deadline or a stop ends it). */
  durationMs?: number;
  /** Deadline of the first page load (default max(interval, 30s): it includes the browser's warm-up). */
  setupTimeoutMs?: number;
  /** Screenshots per run at most, so a broken page cannot fill the disk (default 20). */
  maxScreenshots?: number;
  /** Abort requests to any origin but the deployment's (default true). */
  deploymentOnly?: boolean;
  /** Receives the browser's memory after every action (bench and tests). */
  onMemory?: (m: BrowserMemory) => void;
}

/** What one run did, for its log line and for tests. */
export interface WalkStats {
  actions: Record<string, { ok: number; failed: number }>;
  noMatches: number;
  screenshots: string[];
  peakRssBytes: number;
  peakPssBytes: number;
}

function isDeadline(reason: unknown): boolean {
  return reason instanceof DeadlineError || (reason instanceof Error && reason.name === "TimeoutError");
}

/** Go-like local timestamp for file names: YYYYMMDD-HHMMSS. */
function stamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Runs in the page: how many elements match each selector (a selector error counts as none, as upstream). */
function countMatches(selectors: string[]): number[] {
  const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document;
  return selectors.map((s) => {
    try {
      return doc.querySelectorAll(s).length;
    } catch {
      return 0;
    }
  });
}

/** The Runner registered as `dashboard/dashboard-<username>`. */
export class DashboardUserRunner implements Runner {
  readonly stats: WalkStats = { actions: {}, noMatches: 0, screenshots: [], peakRssBytes: 0, peakPssBytes: 0 };
  /** The marker of the browser this run launched (see browser/memory.ts); undefined before the launch. */
  browserMarker?: string;

  constructor(private readonly cfg: DashboardUserConfig) {}

  async run(jobSignal: AbortSignal, _id: string, log: RunLog): Promise<void> {
    const cfg = this.cfg;
    const scope = withDeadline(jobSignal, cfg.durationMs ?? 0);
    const signal = scope.signal;
    const origin = cfg.client.url.origin;
    let launched: LaunchedBrowser | undefined;
    // Closing the browser is how a stop interrupts whatever Playwright call is pending.
    const onAbort = () => void launched?.browser.close().catch(() => undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const me = await cfg.client.me({ signal });
      if (me.organization_ids.length === 0) throw new Error(`user ${me.username} has no organizations`);
      launched = await launchChromium({ executablePath: cfg.executablePath, headless: cfg.headless, allowHosts: [cfg.client.url.hostname], signal });
      this.browserMarker = launched.marker;
      // The --header / --header-command headers go on the browser's requests too (an authenticating proxy needs them).
      const context = await launched.browser.newContext({ viewport: VIEWPORT, extraHTTPHeaders: { ...cfg.client.extraHeaders } });
      if (cfg.deploymentOnly ?? true) await restrictToOrigin(context, origin);
      await this.signIn(context);
      const page = await context.newPage();
      const setupMs = cfg.setupTimeoutMs ?? Math.max(cfg.intervalMs, 30_000);
      const setupDeadline = performance.now() + setupMs;
      try {
        await page.goto(`${origin}/`, { waitUntil: "domcontentloaded", timeout: setupMs });
        await page.waitForSelector(ROOT_READY_SELECTOR, { state: "attached", timeout: Math.max(1, setupDeadline - performance.now()) });
      } catch (err) {
        if (signal.aborted) throw err;
        await this.screenshot(page, "setup", log);
        throw new Error(`open ${origin}/: the workspaces table did not appear within ${setupMs}ms: ${getErrorMessage(err)}`, { cause: err });
      }
      await this.walk(page, launched.marker, signal, log);
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      signal.removeEventListener("abort", onAbort);
      scope.dispose();
      await launched?.browser.close().catch(() => undefined);
      log.line(this.summary());
    }
    // Reaching the job deadline is how a dashboard run ends; any other stop is a cancellation.
    if (signal.aborted && !isDeadline(signal.reason)) throw signal.reason;
  }

  private async signIn(context: BrowserContext): Promise<void> {
    // A host-only cookie for the deployment (upstream passes host:port as the domain, which browsers ignore).
    await context.addCookies([
      { name: SESSION_COOKIE, value: this.cfg.client.token ?? "", url: this.cfg.client.url.origin, expires: Math.floor(Date.now() / 1000) + 86_400, httpOnly: false },
    ]);
  }

  private async walk(page: Page, marker: string, signal: AbortSignal, log: RunLog): Promise<void> {
    const cfg = this.cfg;
    const rand = seededRandom(cfg.seed);
    const selectors = DASHBOARD_ACTIONS.map((a) => a.click);
    while (!signal.aborted) {
      const start = performance.now();
      const waitMs = nextWaitMs(cfg.intervalMs, cfg.jitterMs, rand);
      const deadline = start + waitMs;
      const counts = await page
        .evaluate(countMatches, selectors)
        .catch(() => selectors.map(() => 0));
      if (signal.aborted) return;
      const choice = chooseAction(counts, rand);
      if (!choice) {
        this.stats.noMatches++;
        log.line(`no matches found on ${page.url()}`);
        await this.screenshot(page, "no-matches", log);
      } else {
        await this.act(page, choice.action, choice.index, deadline, signal, log);
      }
      this.sampleMemory(marker);
      if (signal.aborted) return;
      await sleep(Math.max(0, deadline - performance.now()), signal).catch(() => undefined);
    }
  }

  /** Clicks the chosen match, then waits for the action's element; both share the deadline. */
  private async act(page: Page, action: DashboardAction, index: number, deadline: number, signal: AbortSignal, log: RunLog): Promise<void> {
    const remaining = () => Math.max(1, deadline - performance.now()); // Playwright reads 0 as "no timeout"
    const t0 = performance.now();
    let failure: unknown;
    try {
      await page.locator(action.click).nth(index).click({ timeout: remaining() });
      await page.waitForSelector(action.waitFor, { state: "attached", timeout: remaining() });
    } catch (err) {
      failure = err;
    }
    // A stop closes the browser under the action: that is neither a measurement nor an error.
    if (signal.aborted) return;
    const seconds = (performance.now() - t0) / 1000;
    this.cfg.metrics.observe(action.label, seconds, failure !== undefined);
    const s = (this.stats.actions[action.label] ??= { ok: 0, failed: 0 });
    if (failure === undefined) {
      s.ok++;
      return;
    }
    s.failed++;
    log.line(`action ${action.label} failed after ${seconds.toFixed(3)}s on ${page.url()}: ${getErrorMessage(failure).split("\n")[0]}`);
    await this.screenshot(page, action.label, log);
  }

  private async screenshot(page: Page, what: string, log: RunLog): Promise<void> {
    if (this.stats.screenshots.length >= (this.cfg.maxScreenshots ?? 20)) return;
    const file = join(this.cfg.screenshotDir, `scaletest-dashboard-${this.cfg.username}-${what}-${stamp()}-${randomBytes(2).toString("hex")}.png`);
    try {
      await mkdir(this.cfg.screenshotDir, { recursive: true });
      await page.screenshot({ path: file, timeout: 5_000 });
      this.stats.screenshots.push(file);
      log.line(`screenshot: ${file}`);
    } catch (err) {
      log.line(`screenshot failed: ${getErrorMessage(err).split("\n")[0]}`);
    }
  }

  private sampleMemory(marker: string): void {
    const m = browserMemory(marker);
    if (m.processes === 0) return;
    this.stats.peakRssBytes = Math.max(this.stats.peakRssBytes, m.rssBytes);
    this.stats.peakPssBytes = Math.max(this.stats.peakPssBytes, m.pssBytes);
    this.cfg.onMemory?.(m);
  }

  /** One log line: actions per label, failures, and the browser's peak memory. */
  summary(): string {
    const entries = Object.entries(this.stats.actions).sort(([a], [b]) => a.localeCompare(b));
    const ok = entries.reduce((n, [, s]) => n + s.ok, 0);
    const failed = entries.reduce((n, [, s]) => n + s.failed, 0);
    const per = entries.map(([label, s]) => `${label}=${s.ok}${s.failed ? `/${s.failed} failed` : ""}`).join(" ");
    const mib = (b: number) => (b / 1048576).toFixed(0);
    return `dashboard actions: ${ok} ok, ${failed} failed, ${this.stats.noMatches} without matches [${per}]; browser peak RSS ${mib(this.stats.peakRssBytes)} MiB, PSS ${mib(this.stats.peakPssBytes)} MiB`;
  }
}
