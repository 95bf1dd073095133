// Starts Debian's real Prometheus on 127.0.0.1 (port chosen by the kernel) scraping the given targets, for tests.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "../../src/util/abort.ts";
import { isExecutable } from "../../src/util/which.ts";

/** One scrape target: a full /metrics URL, with labels Prometheus attaches (e.g. namespace, pod). */
export interface ScrapeTarget {
  job: string;
  url: string;
  labels?: Record<string, string>;
}

/** A running Prometheus. */
export interface PrometheusServer {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  /** Prometheus' own log so far (stderr), for failure messages. */
  log(): string;
  /** Replaces the scrape targets (config rewrite + /-/reload); resolves once Prometheus applied it. */
  setTargets(targets: readonly ScrapeTarget[], options?: { signal?: AbortSignal }): Promise<void>;
  /** Resolves once every target has been scraped successfully at least `scrapes` times. */
  waitForScrapes(scrapes: number, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void>;
  /** Resolves once every target (or every target of `jobs`) has a successful scrape that started after `epochMs`. */
  waitForScrapeAfter(epochMs: number, options?: { jobs?: string[]; signal?: AbortSignal; timeoutMs?: number }): Promise<void>;
  /**
   * Epoch ms of the last moment every target whose job matches was up. Series of a target that went
   * away are marked stale, so queries about it must be evaluated at or before this time.
   */
  lastGoodScrape(job: RegExp, options?: { signal?: AbortSignal }): Promise<number>;
  /** Stops the process and removes its storage. Safe to call twice. */
  close(): Promise<void>;
}

/** Where the binary is looked for: $PROMETHEUS_BIN, then Debian's path. */
export function prometheusPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";
}

/** The Prometheus binary; throws naming the install command when it is missing. */
export function prometheusBinary(): string {
  const bin = prometheusPath();
  if (!isExecutable(bin)) {
    throw new Error(
      `prometheus not found at ${bin}: install it with scripts/install-deps.sh (Debian package "prometheus") or set PROMETHEUS_BIN`,
    );
  }
  return bin;
}

function configYaml(targets: readonly ScrapeTarget[], scrapeIntervalSeconds: number): string {
  // JSON is valid YAML, so the config is written without a YAML library.
  return JSON.stringify({
    global: { scrape_interval: `${scrapeIntervalSeconds}s`, scrape_timeout: `${scrapeIntervalSeconds}s`, evaluation_interval: "15s" },
    scrape_configs: targets.map((t) => {
      const url = new URL(t.url);
      return {
        job_name: t.job,
        scheme: url.protocol.replace(":", ""),
        metrics_path: url.pathname,
        static_configs: [{ targets: [url.host], labels: t.labels ?? {} }],
      };
    }),
  });
}

/** Starts Prometheus and resolves once it serves its HTTP API. */
export async function startPrometheus(options: {
  targets: readonly ScrapeTarget[];
  /** Scrape interval in seconds (default 1). */
  scrapeIntervalSeconds?: number;
  signal?: AbortSignal;
  /** Give up starting after this long (default 20 s). */
  startTimeoutMs?: number;
}): Promise<PrometheusServer> {
  const bin = prometheusBinary();
  const dir = await mkdtemp(join(tmpdir(), "scaletest-prometheus-"));
  const config = join(dir, "prometheus.yml");
  const scrapeInterval = options.scrapeIntervalSeconds ?? 1;
  let targets = [...options.targets];
  await writeFile(config, configYaml(targets, scrapeInterval));

  const child: ChildProcess = spawn(
    bin,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      "--web.listen-address=127.0.0.1:0",
      "--storage.tsdb.retention.time=1h",
      "--log.level=info",
      "--web.enable-lifecycle",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  let closed = false;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const close = async () => {
    if (!closed) {
      closed = true;
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
  };

  // Prometheus logs the port the kernel picked ("Listening on" address=127.0.0.1:N), then readiness.
  const url = await new Promise<string>((resolve, reject) => {
    let address: string | undefined;
    const timer = setTimeout(() => fail(new Error(`prometheus did not become ready within ${options.startTimeoutMs ?? 20_000} ms`)), options.startTimeoutMs ?? 20_000);
    const onAbort = () => fail(options.signal?.reason ?? new Error("aborted"));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    function done() {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      child.stderr?.removeListener("data", onData);
      child.removeListener("exit", onExit);
    }
    function fail(err: Error) {
      done();
      reject(new Error(`${err.message}\n${stderr.slice(-4000)}`, { cause: err }));
    }
    function onData(chunk: Buffer) {
      stderr += chunk.toString("utf8");
      address ??= /msg="Listening on" address=([\d.]+:\d+)/.exec(stderr)?.[1];
      if (address && stderr.includes("Server is ready to receive web requests")) {
        done();
        resolve(`http://${address}`);
      }
    }
    function onExit(code: number | null) {
      fail(new Error(`prometheus exited (code ${code}) before it was ready`));
    }
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  }).catch(async (err) => {
    await close();
    throw err;
  });
  // Keep collecting the log for failure messages without holding the process open.
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-64_000);
  });

  return {
    url,
    log: () => stderr,
    close,
    async setTargets(next, setOptions = {}) {
      targets = [...next];
      await writeFile(config, configYaml(targets, scrapeInterval));
      const res = await fetch(new URL("/-/reload", url), { method: "POST", signal: setOptions.signal });
      if (!res.ok) throw new Error(`prometheus reload: HTTP ${res.status} ${await res.text()}`);
    },
    waitForScrapes(scrapes, waitOptions = {}) {
      return waitUntil(`count(count_over_time(up[1h]) >= ${scrapes} and on (job, instance) up == 1)`, targets.length, `targets scraped ${scrapes} times`, waitOptions);
    },
    waitForScrapeAfter(epochMs, waitOptions = {}) {
      const jobs = waitOptions.jobs;
      const selector = jobs ? `up{job=~"${jobs.join("|")}"}` : "up";
      const want = jobs ? targets.filter((t) => jobs.includes(t.job)).length : targets.length;
      // timestamp() gives the sample's own time only around a bare selector; around `up == 1` it gives the evaluation time.
      return waitUntil(`count(timestamp(${selector}) > ${epochMs / 1000} and ${selector} == 1)`, want, `targets scraped after ${new Date(epochMs).toISOString()}`, waitOptions);
    },
    async lastGoodScrape(job, lastOptions = {}) {
      const end = Date.now() / 1000;
      const params = new URLSearchParams({ query: "up", start: String(end - 3600), end: String(end), step: "1" });
      const res = await fetch(new URL(`/api/v1/query_range?${params}`, url), { signal: lastOptions.signal });
      const body = (await res.json()) as { data?: { result?: { metric: Record<string, string>; values: [number, string][] }[] } };
      const lastUp = (body.data?.result ?? [])
        .filter((r) => job.test(r.metric.job ?? ""))
        .map((r) => Math.max(...r.values.filter(([, v]) => v === "1").map(([t]) => t)));
      if (lastUp.length === 0 || !lastUp.every(Number.isFinite)) throw new Error(`prometheus: no successful scrape of a job matching ${job}`);
      return Math.min(...lastUp) * 1000;
    },
  };

  // Prometheus has no push notification for scrapes; the count of matching targets is polled twice a second.
  async function waitUntil(countExpr: string, want: number, what: string, waitOptions: { signal?: AbortSignal; timeoutMs?: number }): Promise<void> {
    const deadline = Date.now() + (waitOptions.timeoutMs ?? 30_000);
    for (;;) {
      const res = await fetch(new URL(`/api/v1/query?${new URLSearchParams({ query: countExpr })}`, url), { signal: waitOptions.signal });
      const body = (await res.json()) as { data?: { result?: { value: [number, string] }[] } };
      const have = Number(body.data?.result?.[0]?.value[1] ?? 0);
      if (have >= want) return;
      if (Date.now() > deadline) {
        const state = await fetch(new URL("/api/v1/targets", url)).then((r) => r.text());
        throw new Error(`prometheus: ${have} of ${want} ${what}; targets: ${state.slice(0, 2000)}`);
      }
      await sleep(500, waitOptions.signal);
    }
  }
}
