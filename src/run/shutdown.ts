// shutdown (workspace stop): stop a run in progress through its pid file, clean up if the strategy says on_stop, drop the runner token.
import { readFileSync } from "node:fs";
import { ConfigError, EXIT, getErrorMessage } from "../errors.ts";
import { sleep } from "../util/abort.ts";
import { cleanupForEvent } from "./cleanup.ts";
import type { RunnerConfig } from "./config.ts";
import { pidPath, runAnnotator, stateDir, type ScriptOptions } from "./lifecycle.ts";
import { RunRecorder, runPaths } from "./recorder.ts";
import { deleteRunnerToken, runnerClient } from "./session.ts";

/**
 * shutdown (workspace stop): stop a run in progress (SIGTERM, then wait for its cleanup), clean up if the
 * strategy is on_stop, and delete the runner's token.
 */
export async function shutdown(cfg: RunnerConfig, o: ScriptOptions & { waitMs?: number } = {}): Promise<number> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const annotator = runAnnotator(cfg, log);
  const stopping = annotator.start("workspace", "Agent stopping...");
  let code: number = EXIT.ok;
  try {
    await stopRun(cfg, o.waitMs ?? cfg.cleanupTimeout + 60_000, log);
    if (cfg.dryRun) {
      log("Dry-run: nothing to clean up at shutdown.");
      return EXIT.ok;
    }
    const client = runnerClient(cfg);
    const recorder = new RunRecorder(runPaths(cfg.runDir).state, annotator, { log });
    const r = await cleanupForEvent("on_stop", { cfg, client, recorder, ledgerDir: stateDir(cfg), signal: new AbortController().signal, log });
    if (!r.ok) code = EXIT.failed;
    await deleteRunnerToken(client, cfg.runDir).catch((err) => log(`shutdown: could not delete the runner token: ${getErrorMessage(err)}`));
    return code;
  } catch (err) {
    log(`shutdown failed: ${getErrorMessage(err)}`);
    return err instanceof ConfigError ? EXIT.usage : EXIT.failed;
  } finally {
    void annotator.end(stopping);
    await annotator.endRecorded("workspace", "Agent running");
    await annotator.flush();
  }
}

/** Sends SIGTERM to a run in progress (its pid file) and waits until it has exited (it cleans up first). */
async function stopRun(cfg: RunnerConfig, waitMs: number, log: (l: string) => void): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidPath(cfg), "utf8").trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !alive(pid)) return;
  log(`shutdown: stopping the run in progress (pid ${pid}) and waiting for its cleanup`);
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + waitMs;
  while (alive(pid) && Date.now() < deadline) await sleep(200);
  if (alive(pid)) log(`shutdown: run ${pid} still running after ${Math.round(waitMs / 1000)}s`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
