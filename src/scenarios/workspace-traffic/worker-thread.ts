// One worker thread of `workspace-traffic --workers N`: runs the jobs the main thread hands it on its own event loop
// and scheduler; its metric slots are in shared memory, read by the main thread's /metrics page.
import { parentPort, workerData } from "node:worker_threads";
import type { RetryEvent } from "../../coder/retry.ts";
import { getErrorMessage, registerSecret } from "../../errors.ts";
import type { RunLog } from "../../harness/runner.ts";
import { RunnerHealth } from "../../metrics/health.ts";
import { TrafficMetrics } from "../../metrics/registry.ts";
import { SharedSlotsHost } from "../../metrics/shared.ts";
import { phaseDialGate, WorkspaceTrafficRunner } from "./runner.ts";
import { CanceledError, DeadlineError } from "../../util/abort.ts";
import { Scheduler } from "../../traffic/scheduler.ts";
import type { FromWorker, ToWorker, WorkerData } from "./workers.ts";

const port = parentPort;
if (!port) throw new Error("worker-thread.ts runs in a worker thread (see workers.ts)");
const data = workerData as WorkerData;
registerSecret(data.token); // redaction is per thread
const post = (m: FromWorker) => port.postMessage(m);

const host = new SharedSlotsHost((m) => port.postMessage(m));
const health = new RunnerHealth(host, { onChild: (pid, open) => post({ t: "child", pid, open }) });
const traffic = new TrafficMetrics(host, { perWorkspaceLabels: data.perWorkspaceLabels });
const scheduler = new Scheduler({ health });
for (const v of Object.values(data.headers ?? {})) registerSecret(v);
const connection = { headers: data.headers ?? {}, headerEnv: data.headerEnv ?? {}, requestTimeoutMs: data.requestTimeoutMs ?? 0, onRetry: health.retried };
const retries = (e: RetryEvent) => post({ t: "retry", e });
const ctx = { cfg: data.cfg, url: new URL(data.url), token: data.token, scheduler, traffic, health, closeTimeoutMs: data.closeTimeoutMs, connection, retries, dialGate: phaseDialGate(data.cfg.dialConcurrency) };
const runners = new Map(data.targets.map((t) => [String(t.index), new WorkspaceTrafficRunner(t, ctx)]));
const running = new Map<string, AbortController>();

port.on("message", (m: ToWorker) => {
  switch (m.t) {
    case "run": {
      const runner = runners.get(m.id);
      if (!runner) return post({ t: "done", id: m.id, error: { name: "Error", message: `traffic worker ${data.index} has no job ${m.id}` } });
      const ctl = new AbortController();
      running.set(m.id, ctl);
      const log: RunLog = {
        write: (text) => post({ t: "log", id: m.id, text }),
        line: (text) => post({ t: "log", id: m.id, text: text.endsWith("\n") ? text : `${text}\n` }),
      };
      runner.run(ctl.signal, m.id, log).then(
        () => done(m.id),
        (err: unknown) => done(m.id, err),
      );
      return;
    }
    case "abort":
      return running.get(m.id)?.abort(m.deadline ? new DeadlineError(m.message) : new CanceledError(m.message));
    case "stop":
      for (const ctl of running.values()) ctl.abort(new CanceledError("traffic worker stopped"));
      scheduler.close();
      return port.close();
  }
});

function done(id: string, err?: unknown): void {
  running.delete(id);
  post({ t: "done", id, error: err === undefined ? undefined : { name: err instanceof Error ? err.name : "Error", message: getErrorMessage(err) } });
}

post({ t: "ready" });
