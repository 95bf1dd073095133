// Chromium discovery and launch: the given binary, else a system Chromium on PATH, else the one `npm ci` brings
// (@sparticuz/chromium, unpacked on first launch); started headless with loopback-safe flags via playwright-core.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { Browser, BrowserContext } from "playwright-core";
import { ConfigError } from "../errors.ts";
import { childEnv } from "../util/child-env.ts";
import { isExecutable, pathDirs } from "../util/which.ts";
import { packagedChromium, packagedChromiumDir, packagedChromiumPath, unpackPackagedChromium, PACKAGED_CHROMIUM_PACKAGE, type PackagedChromium } from "./packaged-chromium.ts";

/** The flag and env var that name the browser binary; errors point at both. */
export const CHROMIUM_FLAG = "--chromium-path";
export const CHROMIUM_ENV = "SCALETEST_CHROMIUM_PATH";

/** Names Debian, Ubuntu and Google's packages give the binary, in the order they are looked for on PATH. */
export const CHROMIUM_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] as const;

/** Every place a system Chromium may be, as `which` would try them: each name over every PATH entry. */
export function systemChromiumCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = pathDirs(env);
  return CHROMIUM_NAMES.flatMap((name) => dirs.map((d) => join(d, name)));
}

/** Packaged-Chromium paths handed out by findChromium, with what launchChromium needs to unpack them. */
const plannedUnpacks = new Map<string, { pkg: PackagedChromium; dir: string }>();

/**
 * The browser binary to use: the explicit path (flag, then env) when given, which must be executable; otherwise the
 * first system Chromium on PATH (or in `candidates`); otherwise the packaged one, unpacked by launchChromium on first
 * use. Throws a ConfigError naming the flag when none can be had.
 */
export function findChromium(
  opts: { path?: string; env?: NodeJS.ProcessEnv; candidates?: readonly string[]; packaged?: PackagedChromium | null } = {},
): string {
  const env = opts.env ?? process.env;
  const explicit = opts.path || env[CHROMIUM_ENV] || "";
  if (explicit) {
    if (isExecutable(explicit)) return explicit;
    const where = opts.path ? CHROMIUM_FLAG : CHROMIUM_ENV;
    throw new ConfigError([{ path: where, message: `must be an executable Chromium or Chrome binary, got ${JSON.stringify(explicit)} (not found or not executable)` }]);
  }
  const candidates = opts.candidates ?? systemChromiumCandidates(env);
  for (const c of candidates) if (isExecutable(c)) return c;
  const pkg = opts.packaged === undefined ? packagedChromium() : (opts.packaged ?? undefined);
  if (pkg) {
    const dir = packagedChromiumDir(pkg, env);
    const exe = packagedChromiumPath(dir);
    if (!isExecutable(exe)) plannedUnpacks.set(exe, { pkg, dir });
    return exe;
  }
  throw new ConfigError([
    {
      path: CHROMIUM_FLAG,
      message:
        `no Chromium found (${CHROMIUM_NAMES.join(", ")} on PATH) and no ${PACKAGED_CHROMIUM_PACKAGE} for this platform ` +
        `(run npm ci); install one (apt-get install chromium) or set ${CHROMIUM_FLAG} / ${CHROMIUM_ENV}`,
    },
  ]);
}

/**
 * The packaged Chromium is unpacked on first use; this does it now for a path findChromium returned (a no-op for any
 * other path), so a caller can have the browser ready, or fail, before it starts anything else.
 */
export async function prepareChromium(executablePath: string): Promise<void> {
  const planned = plannedUnpacks.get(executablePath);
  if (planned) await unpackPackagedChromium(planned.pkg, planned.dir);
}

/** Command-line switch that tags a browser process so its memory can be found among others (Chromium ignores unknown switches). */
export const MARKER_SWITCH = "--scaletest-browser-id";

/**
 * Launch flags. Background networking, component updates, sync and QUIC are off so the browser talks to
 * nobody but the target; `allowHosts` maps every other host name to NOTFOUND at the resolver.
 * Playwright adds --headless and a fresh, empty --user-data-dir of its own per launch.
 */
export function chromiumArgs(opts: { marker: string; allowHosts?: readonly string[] }): string[] {
  const args = [
    "--no-sandbox", // the runner pod and CI run as root, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    `${MARKER_SWITCH}=${opts.marker}`,
  ];
  if (opts.allowHosts && opts.allowHosts.length > 0) {
    const excludes = opts.allowHosts.map((h) => `EXCLUDE ${h}`).join(" , ");
    args.push(`--host-resolver-rules=MAP * ~NOTFOUND , ${excludes}`);
  }
  return args;
}

export interface LaunchOptions {
  executablePath: string;
  /** Default true; false shows a window (debugging). */
  headless?: boolean;
  /** Host names the browser may resolve (the deployment's host); all others fail to resolve. Empty: no rule. */
  allowHosts?: readonly string[];
  /** Launch deadline in milliseconds (default 30000). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A launched browser plus the marker that identifies its process tree (see memory.ts). */
export interface LaunchedBrowser {
  browser: Browser;
  marker: string;
}

/** Starts Chromium (unpacking the packaged one first if needed); closes it again if `signal` aborts during the launch. */
export async function launchChromium(opts: LaunchOptions): Promise<LaunchedBrowser> {
  opts.signal?.throwIfAborted();
  await prepareChromium(opts.executablePath);
  opts.signal?.throwIfAborted();
  // Loaded here, not at the top: commands that never start a browser do not pay for playwright-core.
  const { chromium } = await import("playwright-core");
  const marker = randomUUID();
  const browser = await chromium.launch({
    executablePath: opts.executablePath,
    headless: opts.headless ?? true,
    args: chromiumArgs({ marker, allowHosts: opts.allowHosts }),
    timeout: opts.timeoutMs ?? 30_000,
    // The browser inherits no secret of the runner's (Grafana token, Slack webhook): an allow-listed environment.
    env: childEnv(),
    // Our AbortSignal decides when to stop; the runner closes the browser in its finally.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  if (opts.signal?.aborted) {
    await browser.close().catch(() => undefined);
    throw opts.signal.reason;
  }
  return { browser, marker };
}

/**
 * Proves the binary is a browser that starts here: unpacks the packaged one if needed, launches it headless and closes
 * it. Throws naming why (the browser's own first error lines, its exit code) so a pre-run check can report it.
 */
export async function checkChromium(executablePath: string, opts: { timeoutMs?: number } = {}): Promise<void> {
  let launched: LaunchedBrowser;
  try {
    launched = await launchChromium({ executablePath, timeoutMs: opts.timeoutMs ?? 30_000 });
  } catch (err) {
    throw new Error(`${executablePath} does not start: ${launchFailure(err instanceof Error ? err.message : String(err))}`);
  }
  await launched.browser.close();
}

/** Playwright's launch error, short: the browser's first stderr lines and its exit code, else the message's first line. */
export function launchFailure(message: string): string {
  const text = message.replace(/\x1b\[[0-9;]*m/g, "");
  const logs = text.split(/\nCall log:/)[0]!;
  const errs = [...logs.matchAll(/^\[pid=\d+\]\[err\] (.*)$/gm)].map((m) => m[1]!.trim()).filter(Boolean);
  const exit = /process did exit: exitCode=(\d+)/.exec(text)?.[1];
  const why = errs.length > 0 ? errs.slice(0, 2).join("; ") : text.split("\n")[0]!;
  return `${why.slice(0, 300)}${exit ? ` (exit code ${exit})` : ""}`;
}

/** Aborts every request of `context` whose origin is not `origin` (the resolver rule covers host names; this covers IP literals too). */
export async function restrictToOrigin(context: BrowserContext, origin: string): Promise<void> {
  await context.route((url) => url.origin !== origin, (route) => route.abort("blockedbyclient"));
}
