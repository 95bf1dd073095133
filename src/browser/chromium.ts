// Chromium discovery and launch: finds a system Chromium, starts it headless with loopback-safe flags via playwright-core.
import { accessSync, constants } from "node:fs";
import { randomUUID } from "node:crypto";
import { chromium, type Browser, type BrowserContext } from "playwright-core";
import { ConfigError } from "../errors.ts";
import { childEnv } from "../util/child-env.ts";

/** The flag and env var that name the browser binary; errors point at both. */
export const CHROMIUM_FLAG = "--chromium-path";
export const CHROMIUM_ENV = "SCALETEST_CHROMIUM_PATH";

/** Where Debian, Ubuntu and Google's packages put the binary, in the order we try them. */
export const CHROMIUM_CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
] as const;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The browser binary to use: the explicit path (flag, then env) when given, which must be executable;
 * otherwise the first installed candidate. Throws a ConfigError naming the flag when none is found.
 */
export function findChromium(opts: { path?: string; env?: NodeJS.ProcessEnv; candidates?: readonly string[] } = {}): string {
  const env = opts.env ?? process.env;
  const explicit = opts.path || env[CHROMIUM_ENV] || "";
  if (explicit) {
    if (isExecutable(explicit)) return explicit;
    const where = opts.path ? CHROMIUM_FLAG : CHROMIUM_ENV;
    throw new ConfigError([{ path: where, message: `must be an executable Chromium or Chrome binary, got ${JSON.stringify(explicit)} (not found or not executable)` }]);
  }
  const candidates = opts.candidates ?? CHROMIUM_CANDIDATES;
  for (const c of candidates) if (isExecutable(c)) return c;
  throw new ConfigError([
    {
      path: CHROMIUM_FLAG,
      message: `no Chromium found at ${candidates.join(", ")}; install one (apt-get install chromium) or set ${CHROMIUM_FLAG} / ${CHROMIUM_ENV}`,
    },
  ]);
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

/** Starts Chromium; closes it again if `signal` aborts during the launch. */
export async function launchChromium(opts: LaunchOptions): Promise<LaunchedBrowser> {
  opts.signal?.throwIfAborted();
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

/** Aborts every request of `context` whose origin is not `origin` (the resolver rule covers host names; this covers IP literals too). */
export async function restrictToOrigin(context: BrowserContext, origin: string): Promise<void> {
  await context.route((url) => url.origin !== origin, (route) => route.abort("blockedbyclient"));
}
