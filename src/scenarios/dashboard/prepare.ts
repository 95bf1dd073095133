// Dashboard traffic setup: picks the scaletest users, gives each an API token, and builds one browser Runner per user.
import type { Registry } from "prom-client";
import { findChromium, prepareChromium } from "../../browser/chromium.ts";
import type { CoderClient } from "../../coder/client.ts";
import type { User } from "../../coder/types.ts";
import type { BrowserMemory } from "../../browser/memory.ts";
import { dashboardMetrics } from "./metrics.ts";
import type { DashboardTally } from "./tally.ts";
import { listScaletestUsers, TokenLedger, validateWalkTiming } from "./setup.ts";
import { DashboardUserRunner } from "./user.ts";
import { parseTargetRange, selectRange } from "../targets.ts";
import { inShard, type Shard } from "../../traffic/shard.ts";

/** The harness test name of every dashboard run (`dashboard/dashboard-<username>`). */
export const DASHBOARD_TEST_NAME = "dashboard";

export interface DashboardOptions {
  /** Admin client for the deployment (lists users, creates and deletes their tokens). */
  client: CoderClient;
  /** `START:END` over the sorted scaletest users ("" = all). Ignored when `users` is given. */
  targetUsers?: string;
  /** The users to drive, when the caller already chose them (skips the listing). */
  users?: readonly User[];
  /** Drive only this shard's users (by user ID), taken out of the whole selection; no token is made for the others. */
  shard?: Shard;
  intervalMs: number;
  jitterMs: number;
  /** Default 0, as upstream. */
  seed?: number;
  /** Default true. */
  headless?: boolean;
  /** Browser binary; found automatically when unset (SCALETEST_CHROMIUM_PATH, then the usual paths). */
  chromiumPath?: string;
  /** Registry the two dashboard metric families go on. */
  registry: Registry;
  /** Also counts every action here, for the run summary. */
  tally?: DashboardTally;
  /** Where failure screenshots are written. */
  runDir: string;
  /** Each run ends, successfully, after this long (0 or unset: when its job deadline or the signal ends it). */
  durationMs?: number;
  /** Stops setup (listing users, creating tokens). The runs get their signal from the harness. */
  signal?: AbortSignal;
  /** Receives each browser's memory after every action. */
  onMemory?: (username: string, m: BrowserMemory) => void;
}

/** One run to register with the harness. */
export interface DashboardRun {
  testName: typeof DASHBOARD_TEST_NAME;
  id: string;
  user: User;
  runner: DashboardUserRunner;
}

/** The prepared scenario: its runs, plus `dispose` to delete the tokens it made (call it in a finally). */
export interface DashboardPlan {
  runs: DashboardRun[];
  dispose(signal?: AbortSignal): Promise<void>;
}

/**
 * Setup as upstream's dashboard command does it, before any run starts: check timing, find the browser, list and select the
 * users, and create one API token per user. The staged run and the CLI both call this.
 * Validation errors (timing, range, browser) are thrown before any request is made.
 */
export async function prepareDashboard(opts: DashboardOptions): Promise<DashboardPlan> {
  validateWalkTiming(opts.intervalMs, opts.jitterMs);
  const range = parseTargetRange(opts.users ? "" : (opts.targetUsers ?? ""), "users");
  const executablePath = findChromium({ path: opts.chromiumPath });
  await prepareChromium(executablePath); // the packaged browser unpacks now, not inside the users' time
  const families = dashboardMetrics(opts.registry);
  const metrics = opts.tally ? opts.tally.wrap(families) : families;
  const selected = opts.users ? [...opts.users] : selectRange(await listScaletestUsers(opts.client, { signal: opts.signal }), range);
  const users = selected.filter((u) => inShard(u.id, opts.shard));
  const tokens = new TokenLedger(opts.client);
  const runs: DashboardRun[] = [];
  try {
    for (const user of users) {
      const token = await tokens.create(user, { signal: opts.signal });
      const runner = new DashboardUserRunner({
        client: opts.client.withToken(token),
        username: user.username,
        executablePath,
        headless: opts.headless ?? true,
        intervalMs: opts.intervalMs,
        jitterMs: opts.jitterMs,
        seed: opts.seed ?? 0,
        metrics,
        screenshotDir: opts.runDir,
        durationMs: opts.durationMs,
        onMemory: opts.onMemory ? (m) => opts.onMemory!(user.username, m) : undefined,
      });
      runs.push({ testName: DASHBOARD_TEST_NAME, id: `dashboard-${user.username}`, user, runner });
    }
  } catch (err) {
    await tokens.deleteAll().catch(() => undefined);
    throw err;
  }
  return { runs, dispose: (signal) => tokens.deleteAll({ signal }) };
}
