// Build and workspace procedures shared by create-workspaces and cleanup: wait for a build, wait for agents, delete.
import { sleep } from "../util/abort.ts";
import { getErrorMessage } from "../errors.ts";
import type { CoderClient } from "./client.ts";
import { isCoderApiError } from "./errors.ts";
import { ACTIVE_JOB_STATUSES, NIL_UUID, type WorkspaceBuild } from "./types.ts";

/** A line sink for a run's log. */
export type LogFn = (line: string) => void;

export interface WaitOptions {
  signal?: AbortSignal;
  log?: LogFn;
  /** Poll interval while the job is pending, milliseconds (default 500, as the Go runner). */
  pendingPollMs?: number;
  /** How many times to re-open a logs stream that dropped while the job was still active (default 5). */
  maxReconnects?: number;
}

/** Thrown when a build ends in any state but succeeded; `status` is the job status. */
export class BuildFailedError extends Error {
  override name = "BuildFailedError";
  constructor(
    message: string,
    readonly status: string,
    readonly build: WorkspaceBuild,
  ) {
    super(message);
  }
}

/**
 * Waits for a build's job to finish (as upstream's createworkspaces does): poll while pending, then follow the logs
 * WebSocket (the watch; no polling during the build), then read the final job status.
 * Unlike the Go runner, a logs stream that drops while the job is still active is re-opened from the last log id.
 */
export async function waitForBuild(client: CoderClient, buildId: string, opts: WaitOptions = {}): Promise<WorkspaceBuild> {
  const { signal, log } = opts;
  let build = await client.workspaceBuild(buildId, { signal });
  while (build.job.status === "pending") {
    await sleep(opts.pendingPollMs ?? 500, signal);
    build = await client.workspaceBuild(buildId, { signal });
  }
  let after = 0;
  for (let reconnects = 0; ACTIVE_JOB_STATUSES.has(build.job.status); reconnects++) {
    let res: { lastId: number; code: number };
    try {
      res = await client.followBuildLogs(buildId, {
        signal,
        after,
        onLog: (l) => log?.(`\t${l.stage ? `[${l.stage}] ` : ""}${l.output}`),
      });
    } catch (err) {
      // No logs socket (a proxy that refuses upgrades, a reset, a 5xx): the build still ends; poll it instead.
      // Auth and not-found answers are real answers about the build and end the wait.
      if (signal?.aborted || isCoderApiError(err, 401, 403, 404, 410)) throw err;
      log?.(`logs stream unavailable (${getErrorMessage(err)}); polling the build instead`);
      while (ACTIVE_JOB_STATUSES.has(build.job.status)) {
        await sleep(opts.pendingPollMs ?? 500, signal);
        build = await client.workspaceBuild(buildId, { signal });
      }
      break;
    }
    after = res.lastId;
    build = await client.workspaceBuild(buildId, { signal });
    if (!ACTIVE_JOB_STATUSES.has(build.job.status)) break;
    if (reconnects >= (opts.maxReconnects ?? 5)) break;
    log?.(`logs stream closed with code ${res.code} while the job is ${build.job.status}; reconnecting`);
  }
  switch (build.job.status) {
    case "succeeded":
      return build;
    case "failed":
      throw new BuildFailedError(`build failed with status "failed": ${build.job.error ?? ""}`, "failed", build);
    case "canceled":
      throw new BuildFailedError("build canceled", "canceled", build);
    default:
      throw new BuildFailedError(
        `logs disconnected with unexpected job status "${build.job.status}" and error "${build.job.error ?? ""}"`,
        build.job.status,
        build,
      );
  }
}

/** Waits until every agent of the workspace's latest build is connected (agents reporting "connected"). Zero agents counts as done. */
export async function waitForAgents(
  client: CoderClient,
  workspaceId: string,
  opts: { signal?: AbortSignal; pollMs?: number; log?: LogFn } = {},
): Promise<void> {
  for (let first = true; ; first = false) {
    if (!first) await sleep(opts.pollMs ?? 1000, opts.signal);
    const ws = await client.workspace(workspaceId, { signal: opts.signal });
    const agents = ws.latest_build.resources.flatMap((r) => r.agents ?? []);
    const waiting = agents.filter((a) => a.status !== "connected");
    if (waiting.length === 0) return;
    if (first) opts.log?.(`waiting for ${waiting.length} agent(s) to connect`);
  }
}

/** What deleteWorkspace found and did. */
export type DeleteOutcome = "deleted" | "already-gone";

/**
 * Deletes a workspace the way upstream cleanup does: cancel an active build,
 * create a delete build and wait for it. A workspace that is already gone (404 or 410) is a success.
 */
export async function deleteWorkspace(
  client: CoderClient,
  workspaceId: string,
  opts: { signal?: AbortSignal; log?: LogFn; pendingPollMs?: number } = {},
): Promise<DeleteOutcome> {
  const { signal, log } = opts;
  let ws;
  try {
    ws = await client.workspace(workspaceId, { signal });
  } catch (err) {
    if (isCoderApiError(err, 404, 410)) {
      log?.("workspace not found, skipping delete");
      return "already-gone";
    }
    throw err;
  }
  const latest = await client.workspaceBuild(ws.latest_build.id, { signal });
  if (latest.transition === "delete" && latest.job.status === "succeeded") return "already-gone";
  if (ACTIVE_JOB_STATUSES.has(latest.job.status)) {
    if (latest.transition === "delete") {
      log?.("a delete build is already running; waiting for it");
      await waitForBuild(client, latest.id, { signal, log, pendingPollMs: opts.pendingPollMs });
      return "deleted";
    }
    log?.(`canceling active ${latest.transition} build ${latest.id}`);
    try {
      await client.cancelWorkspaceBuild(latest.id, { signal });
      await waitForBuild(client, latest.id, { signal, log, pendingPollMs: opts.pendingPollMs }).catch((err) => {
        if (!(err instanceof BuildFailedError && err.status === "canceled")) log?.(`warning: ${getErrorMessage(err)}`);
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      log?.(`warning: cancel build: ${getErrorMessage(err)}`);
    }
  }
  log?.("creating delete build");
  let build: WorkspaceBuild;
  try {
    build = await client.createWorkspaceBuild(workspaceId, { template_version_id: NIL_UUID, transition: "delete" }, { signal });
  } catch (err) {
    if (isCoderApiError(err, 404, 410)) return "already-gone";
    throw err;
  }
  await waitForBuild(client, build.id, { signal, log, pendingPollMs: opts.pendingPollMs });
  return "deleted";
}
