// One create-workspaces job: create a user, log in, create a workspace, wait for its build and agents; its cleanup deletes both.
import { getErrorMessage } from "../../errors.ts";
import { BuildFailedError, deleteWorkspace, waitForAgents, waitForBuild } from "../../coder/builds.ts";
import type { CoderClient } from "../../coder/client.ts";
import { CoderConnectionError, isCoderApiError } from "../../coder/errors.ts";
import { isScaletestName, isScaletestUser, scaletestUser, scaletestWorkspaceName } from "../../coder/names.ts";
import {
  NIL_UUID,
  type Template,
  type TemplateVersionParameter,
  type User,
  type Workspace,
  type WorkspaceAgent,
  type WorkspaceBuildParameter,
} from "../../coder/types.ts";
import { ConnReadError } from "../../traffic/conn.ts";
import { runRptyCommand } from "../../traffic/rpty.ts";
import { Harness, type HarnessEvents } from "../../harness/harness.ts";
import type { RunLog, Runner } from "../../harness/runner.ts";
import { strategyFromConfig } from "../../harness/strategies.ts";
import { TEST_NAME, type CreateWorkspacesConfig } from "./config.ts";
import type { PreparedCreateWorkspaces } from "./parameters.ts";
import type { Ledger } from "../../state/ledger.ts";
import { CLEANUP_RETRIES, retryTransient } from "../../coder/retry.ts";

/** Everything one job needs besides its index. */
export interface JobContext {
  /** The owner's client (bypass header, retries). */
  admin: CoderClient;
  prepared: PreparedCreateWorkspaces;
  cfg: CreateWorkspacesConfig;
  /** Intents are written here before each mutating request. */
  ledger?: Ledger;
}

/** One job: `workspacebuild/<index>`. After `run`, `workspace` and `agent` describe what it made. */
export class WorkspaceBuildRunner implements Runner {
  /** Set once the user exists (or is the host user). */
  user?: { id?: string; username: string; email: string; created: boolean };
  /** The new user's client; the workspace belongs to it. */
  userClient?: CoderClient;
  /** Set once the create request was sent; `id` once we know it exists. */
  workspace?: { id?: string; name: string; owner: string; latest?: Workspace };
  agent?: WorkspaceAgent;
  /** Build succeeded to every agent connected (milliseconds), once the job saw them all connected. */
  agentConnectMs?: number;

  constructor(
    readonly index: number,
    private readonly ctx: JobContext,
  ) {}

  async run(signal: AbortSignal, _id: string, log: RunLog): Promise<void> {
    const { admin, prepared, cfg, ledger } = this.ctx;
    const line = (s: string) => log.line(s);
    // Jobs reached after the run deadline or an interrupt start with an aborted signal: touch nothing.
    signal.throwIfAborted();
    let client: CoderClient;
    let userId: string;
    if (cfg.useHostLogin) {
      this.user = { id: prepared.me.id, username: prepared.me.username, email: prepared.me.email, created: false };
      userId = prepared.me.id;
      client = admin;
      line(`Using host login: workspace owner is ${prepared.me.username}`);
    } else {
      // A. Create the user. The intent goes to the ledger first, so a crash after the POST still gets cleaned up.
      line("Generating user password...");
      const u = scaletestUser(this.index);
      this.user = { username: u.username, email: u.email, created: false };
      line(`Creating user "${u.username}" (${u.email})...`);
      await ledger?.append({ op: "create-user", username: u.username, email: u.email });
      const user = await step("create user", () => this.createUser(u, signal, line));
      this.user = { id: user.id, username: user.username, email: user.email, created: true };
      await ledger?.append({ op: "created-user", id: user.id, username: user.username });
      // B. Log in as the new user; every later request of this job uses that token (not the bypass header).
      line("Logging in as new user...");
      const { session_token } = await step("login", () => admin.login({ email: u.email, password: u.password }, { signal }));
      client = admin.withToken(session_token);
      userId = user.id;
    }
    this.userClient = client;

    // C. Create the workspace.
    const name = scaletestWorkspaceName(this.index);
    const owner = this.user.username;
    this.workspace = { name, owner };
    line(`Creating workspace "${name}"...`);
    await ledger?.append({ op: "create-workspace", owner, name });
    const ws = await step("create workspace", () => this.createWorkspace(client, userId, name, signal, line));
    this.workspace = { id: ws.id, name, owner, latest: ws };
    await ledger?.append({ op: "created-workspace", id: ws.id, owner, name });

    // D + E. Wait for the build; on failure retry with new start builds.
    line("Waiting for build...");
    await step("wait for build", () => this.waitForBuildWithRetries(client, ws, signal, line));
    line("Build succeeded.");
    const buildDone = Date.now();
    if (cfg.noWaitForAgents) {
      line("Not waiting for agents (--no-wait-for-agents).");
      return;
    }
    // F. Every agent connected.
    line("Waiting for agents...");
    await step("wait for agents", () => waitForAgents(client, ws.id, { signal, pollMs: cfg.agentPollMs, log: line }));
    const agentsSeen = Date.now();
    // G. The first agent of the first resource that has agents.
    const latest = await step("get workspace", () => client.workspace(ws.id, { signal }));
    this.workspace.latest = latest;
    this.agentConnectMs = agentConnectMs(latest, { buildDone, agentsConnected: agentsSeen });
    const agent = latest.latest_build.resources.find((r) => (r.agents?.length ?? 0) > 0)?.agents?.[0];
    if (!agent) throw new Error(`no agents found for workspace "${ws.id}"`);
    this.agent = agent;
    line(`Agent "${agent.name}" connected.`);
    // H. The optional command through the web terminal (connect-url is not supported, so it runs alone).
    if (cfg.runCommand) await step("run reconnecting pty", () => this.runCommand(client, agent, signal, line));
  }

  /** --run-command: run it in a fresh PTY session as the job's user and judge its output. */
  private async runCommand(client: CoderClient, agent: WorkspaceAgent, signal: AbortSignal, line: (s: string) => void): Promise<void> {
    const { cfg } = this.ctx;
    line("Opening reconnecting PTY connection to agent via coderd...");
    line(`\tCommand: ${JSON.stringify(cfg.runCommand)}`);
    if (cfg.runLogOutput) line("Output:");
    let matched = false;
    const run = runRptyCommand({
      url: client.url,
      agentId: agent.id,
      command: cfg.runCommand,
      timeoutMs: cfg.runTimeoutMs,
      headers: client.dialHeaders(),
      signal,
      onLine: (text) => {
        if (cfg.runLogOutput) line(`\t${text}`);
        if (cfg.runExpectOutput && text.includes(cfg.runExpectOutput)) matched = true;
      },
    });
    const { timedOut } = await run.catch((err: unknown) => {
      // A broken stream (not the dial) is a copy failure, as upstream words it.
      throw err instanceof ConnReadError ? new Error(`copy context: ${err.message}`, { cause: err }) : err;
    });
    if (cfg.runExpectTimeout) {
      if (!timedOut) throw new Error("expected timeout, but the command exited successfully");
    } else if (timedOut) throw new Error("copy context: context deadline exceeded");
    if (cfg.runExpectOutput && !matched) throw new Error(`expected string ${JSON.stringify(cfg.runExpectOutput)} not found in output`);
    line(timedOut ? "Command still running at --run-timeout, as expected." : "Command finished.");
  }

  /** POST /users; a 409 for our own random name means an earlier attempt (a retried POST) landed. */
  private async createUser(u: { username: string; email: string; password: string }, signal: AbortSignal, line: (s: string) => void): Promise<User> {
    const { admin, prepared } = this.ctx;
    try {
      return await admin.createUser(
        { email: u.email, username: u.username, name: "", password: u.password, login_type: "", organization_ids: [prepared.organizationId] },
        { signal },
      );
    } catch (err) {
      if (!isCoderApiError(err, 409)) throw err;
      const existing = await admin.user(u.username, { signal }).catch(() => undefined);
      if (existing?.email !== u.email) throw err;
      line("user already exists from an earlier attempt of this job; continuing with it");
      return existing;
    }
  }

  /** POST /users/{id}/workspaces; a 409 for our own random name means an earlier attempt landed. */
  private async createWorkspace(client: CoderClient, userId: string, name: string, signal: AbortSignal, line: (s: string) => void): Promise<Workspace> {
    const { prepared } = this.ctx;
    const params = prepared.parameters;
    try {
      return await client.createWorkspace(
        userId,
        {
          template_id: prepared.template.id,
          template_version_id: NIL_UUID,
          name,
          autostart_schedule: null,
          ...(params.length > 0 ? { rich_parameter_values: params } : {}),
        },
        { signal },
      );
    } catch (err) {
      if (!isCoderApiError(err, 409)) throw err;
      const existing = await client.workspaceByOwnerAndName(this.user!.username, name, { signal }).catch(() => undefined);
      if (!existing || existing.template_id !== prepared.template.id) throw err;
      line("workspace already exists from an earlier attempt of this job; continuing with it");
      return existing;
    }
  }

  /**
   * Wait for the build (as createworkspaces/run.go does); after a failed build, up to `--retry` new start builds. When we only
   * lost track of a build (a transient HTTP error while watching it), we re-watch the same build instead (a new
   * start build would be refused while it is active); that has its own budget so it does not eat build retries.
   */
  private async waitForBuildWithRetries(client: CoderClient, ws: Workspace, signal: AbortSignal, line: (s: string) => void): Promise<void> {
    const { cfg, prepared } = this.ctx;
    const opts = { signal, log: line, pendingPollMs: cfg.buildPollMs };
    const maxRewatch = cfg.retry > 0 ? Math.max(5, cfg.retry) : 0;
    let buildId = ws.latest_build.id;
    let rebuilds = 0;
    let rewatches = 0;
    for (;;) {
      try {
        await waitForBuild(client, buildId, opts);
        return;
      } catch (err) {
        if (signal.aborted) throw err;
        const failedBuild = err instanceof BuildFailedError && (err.status === "failed" || err.status === "canceled");
        if (failedBuild ? rebuilds >= cfg.retry : rewatches >= maxRewatch) throw err;
        line(`build wait failed: ${getErrorMessage(err)}`);
        if (!failedBuild) {
          line(`Watching the build again (${++rewatches}/${maxRewatch})...`);
          continue;
        }
        line(`Retrying with a new start build (${++rebuilds}/${cfg.retry})...`);
        const build = await client.createWorkspaceBuild(
          ws.id,
          {
            template_version_id: NIL_UUID,
            transition: "start",
            ...(prepared.parameters.length > 0 ? { rich_parameter_values: prepared.parameters } : {}),
          },
          { signal },
        );
        buildId = build.id;
      }
    }
  }

  /**
   * Cleanup: delete the workspace with the user's own token, then the user as admin. Works from
   * whatever was reached: a name that was announced but never confirmed is looked up first.
   */
  async cleanup(signal: AbortSignal, _id: string, log: RunLog): Promise<void> {
    const { ledger, cfg } = this.ctx;
    const line = (s: string) => log.line(s);
    // Cleanup is idempotent, so transient answers are always retried here, whatever --retry says.
    const admin = this.ctx.admin.withRetry({ retries5xx: CLEANUP_RETRIES });
    const userClient = this.userClient?.withRetry({ retries5xx: CLEANUP_RETRIES });
    if (this.workspace && isScaletestName(this.workspace.name)) {
      const { owner, name } = this.workspace;
      let id = this.workspace.id;
      if (!id) {
        const found = await admin.workspaceByOwnerAndName(owner, name, { signal }).catch((err: unknown) => {
          if (isCoderApiError(err, 404, 410)) return undefined;
          throw err;
        });
        id = found?.id;
      }
      if (id) {
        line(`Deleting workspace "${name}"...`);
        const client = userClient ?? admin;
        const outcome = await retryTransient(() => deleteWorkspace(client, id!, { signal, log: line, pendingPollMs: cfg.buildPollMs }), {
          retries: CLEANUP_RETRIES,
          signal,
          log: line,
        });
        line(outcome === "deleted" ? "Workspace deleted." : "Workspace already gone.");
      }
      await ledger?.append({ op: "deleted-workspace", owner, name });
    }
    if (this.user && !cfg.useHostLogin) {
      const { username } = this.user;
      let id = this.user.id;
      if (!id) {
        const found = await admin.user(username, { signal }).catch((err: unknown) => {
          if (isCoderApiError(err, 400, 404, 410)) return undefined;
          throw err;
        });
        id = found && isScaletestUser(found) ? found.id : undefined;
      }
      if (id) {
        line(`Deleting user "${username}"...`);
        try {
          await retryTransient(() => admin.deleteUser(id!, { signal }), { retries: CLEANUP_RETRIES, signal, log: line });
        } catch (err) {
          if (!isCoderApiError(err, 404, 410)) throw err;
        }
      }
      await ledger?.append({ op: "deleted-user", username });
    }
  }
}

/**
 * Build succeeded to every agent connected, in milliseconds: from coderd's own timestamps (the build job's
 * completed_at, each agent's first_connected_at) when it gives them all, as they do not depend on how often the
 * job polls; else from when the job saw each (to within its agent poll interval). An agent connected before the
 * build job completed counts 0. Undefined without agents.
 */
export function agentConnectMs(ws: Workspace, seen: { buildDone: number; agentsConnected: number }): number | undefined {
  const agents = ws.latest_build.resources.flatMap((r) => r.agents ?? []);
  if (agents.length === 0) return undefined;
  const done = Date.parse(ws.latest_build.job?.completed_at ?? "");
  const connected = agents.map((a) => (typeof a.first_connected_at === "string" ? Date.parse(a.first_connected_at) : NaN));
  if (Number.isFinite(done) && connected.every(Number.isFinite)) return Math.max(0, Math.max(...connected) - done);
  return Math.max(0, seen.agentsConnected - seen.buildDone);
}

/** Runs `fn`, prefixing its error with the step name (as the Go runner wraps errors). */
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`${name}: ${getErrorMessage(err)}`, { cause: err });
  }
}

/**
 * A harness with one WorkspaceBuildRunner per index `0..count-1`, with the configured strategies. Each runner is built
 * when the strategy reaches its job, so `--count 100000` costs memory for the jobs started, not the jobs asked for.
 */
export function createWorkspacesHarness(
  ctx: JobContext,
  opts: { events?: HarnessEvents; tee?: (fullId: string, text: string) => void } = {},
): { harness: Harness } {
  const harness = new Harness({
    strategy: strategyFromConfig(ctx.cfg.strategy),
    cleanupStrategy: strategyFromConfig(ctx.cfg.cleanup),
    events: opts.events,
    tee: opts.tee,
  });
  harness.addRuns(TEST_NAME, ctx.cfg.count, (i) => new WorkspaceBuildRunner(i, ctx));
  return { harness };
}
