// create-workspaces: per job, create a user, log in, create a workspace, wait for its build and agents (reference §3).
import { ConfigError, getErrorMessage, type ConfigProblem } from "../errors.ts";
import { BuildFailedError, deleteWorkspace, waitForAgents, waitForBuild } from "../coder/builds.ts";
import type { CoderClient } from "../coder/client.ts";
import { CoderConnectionError, isCoderApiError } from "../coder/errors.ts";
import { isScaletestName, isScaletestUser, scaletestUser, scaletestWorkspaceName } from "../coder/names.ts";
import {
  NIL_UUID,
  type Template,
  type TemplateVersionParameter,
  type User,
  type Workspace,
  type WorkspaceAgent,
  type WorkspaceBuildParameter,
} from "../coder/types.ts";
import { ConnReadError } from "../traffic/conn.ts";
import { runRptyCommand } from "../traffic/rpty.ts";
import { Harness, type HarnessEvents } from "../harness/harness.ts";
import type { RunLog, Runner } from "../harness/runner.ts";
import { DEFAULT_STRATEGY, strategyFromConfig, validateStrategyConfig, type StrategyConfig } from "../harness/strategies.ts";
import type { Ledger } from "../state/ledger.ts";
import { CLEANUP_RETRIES, retryTransient } from "./cleanup.ts";

/** Extra attempts of a read-only setup request after a transient answer. */
export const SETUP_RETRIES = 3;

/** The test name of every job, as upstream: full IDs are `workspacebuild/<i>`. */
export const TEST_NAME = "workspacebuild";

/** Settings of one create-workspaces run (flags of `scaletest create-workspaces`). */
export interface CreateWorkspacesConfig {
  /** Number of users and workspaces; > 0. */
  count: number;
  /** Template name or UUID. */
  template: string;
  /** How many new `start` builds a failed build gets; also the client's retries of transient 5xx. */
  retry: number;
  /** Keep users and workspaces afterwards. */
  noCleanup: boolean;
  /** A job passes once its build succeeds; agents are not awaited. */
  noWaitForAgents: boolean;
  /** Create no users; every workspace belongs to the logged-in owner. */
  useHostLogin: boolean;
  /** Rich parameter values by name (from --rich-parameter-file, then --parameter). */
  parameters: Record<string, string>;
  /** The run phase: --concurrency, --timeout, --job-timeout. */
  strategy: StrategyConfig;
  /** The cleanup phase: --cleanup-concurrency, --cleanup-timeout, --cleanup-job-timeout. */
  cleanup: StrategyConfig;
  /** Command run in each workspace through the web terminal once its agents are connected; "" runs none. */
  runCommand: string;
  /** Time the command gets to end its output stream, milliseconds; 0 means no limit. */
  runTimeoutMs: number;
  /** Pass only if the command is still running at --run-timeout. */
  runExpectTimeout: boolean;
  /** Fail unless some output line contains this; "" checks nothing. */
  runExpectOutput: string;
  /** Copy the command's output lines into the job log, each prefixed with a tab. */
  runLogOutput: boolean;
  /** Poll interval while a build is pending, milliseconds (upstream 500). */
  buildPollMs: number;
  /** Poll interval while waiting for agents, milliseconds (upstream 1000). */
  agentPollMs: number;
}

export function defaultCreateWorkspacesConfig(): CreateWorkspacesConfig {
  return {
    count: 1,
    template: "",
    retry: 0,
    noCleanup: false,
    noWaitForAgents: false,
    useHostLogin: false,
    parameters: {},
    strategy: { ...DEFAULT_STRATEGY },
    cleanup: { ...DEFAULT_STRATEGY },
    runCommand: "",
    runTimeoutMs: 5000,
    runExpectTimeout: false,
    runExpectOutput: "",
    runLogOutput: false,
    buildPollMs: 500,
    agentPollMs: 1000,
  };
}

/** Pure checks of the settings; each problem names its flag. */
export function validateCreateWorkspacesConfig(cfg: CreateWorkspacesConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!Number.isInteger(cfg.count) || cfg.count <= 0) {
    problems.push({ path: "--count", message: `is required and must be an integer greater than 0, got ${cfg.count}` });
  } else if (cfg.count > 1e13) problems.push({ path: "--count", message: "must be at most 10000000000000 (names hold 13 digits)" });
  if (!cfg.template.trim()) problems.push({ path: "--template", message: "is required (a template name or UUID)" });
  if (!Number.isInteger(cfg.retry) || cfg.retry < 0) problems.push({ path: "--retry", message: `must be an integer >= 0, got ${cfg.retry}` });
  if (cfg.runCommand && cfg.runExpectTimeout && cfg.runTimeoutMs <= 0) {
    problems.push({ path: "--run-timeout", message: "must be greater than 0 with --run-expect-timeout" });
  }
  problems.push(...validateStrategyConfig(cfg.strategy, { concurrency: "--concurrency", timeout: "--timeout", jobTimeout: "--job-timeout" }));
  problems.push(
    ...validateStrategyConfig(cfg.cleanup, {
      concurrency: "--cleanup-concurrency",
      timeout: "--cleanup-timeout",
      jobTimeout: "--cleanup-job-timeout",
    }),
  );
  return problems;
}

/**
 * Resolves rich parameters (reference §3.1 step 5) without prompting: supplied names must exist and not be
 * ephemeral; the others get their defaults; every value is checked against type, options, min/max and regex.
 */
export function resolveParameters(
  params: readonly TemplateVersionParameter[],
  supplied: Record<string, string>,
): { values: WorkspaceBuildParameter[]; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const byName = new Map(params.map((p) => [p.name, p]));
  for (const name of Object.keys(supplied)) {
    const p = byName.get(name);
    if (!p) {
      const known = params.map((x) => x.name).join(", ") || "none";
      problems.push({ path: "--parameter", message: `parameter "${name}" not found in the template (it has: ${known})` });
    } else if (p.ephemeral) problems.push({ path: "--parameter", message: `parameter "${name}" is ephemeral; ephemeral parameters are not supported` });
  }
  const values: WorkspaceBuildParameter[] = [];
  for (const p of params) {
    const given = Object.hasOwn(supplied, p.name) ? supplied[p.name] : undefined;
    if (given === undefined) {
      if (p.ephemeral) continue;
      if (p.required && p.default_value === "") {
        problems.push({ path: "--parameter", message: `parameter "${p.name}" is required and has no default; pass --parameter ${p.name}=<value>` });
        continue;
      }
    }
    const value = given ?? p.default_value;
    const problem = checkParameterValue(p, value);
    if (problem) problems.push({ path: "--parameter", message: `parameter "${p.name}": ${problem}` });
    else values.push({ name: p.name, value });
  }
  return { values, problems };
}

/** Why `value` is not acceptable for `p`, or undefined. */
function checkParameterValue(p: TemplateVersionParameter, value: string): string | undefined {
  const options = p.options ?? [];
  if (p.type === "list(string)") {
    let list: unknown;
    try {
      list = JSON.parse(value || "[]");
    } catch {
      return `must be a JSON array of strings, got ${JSON.stringify(value)}`;
    }
    if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) return `must be a JSON array of strings, got ${JSON.stringify(value)}`;
    const bad = options.length > 0 ? list.find((x) => !options.some((o) => o.value === x)) : undefined;
    return bad === undefined ? undefined : `${JSON.stringify(bad)} is not one of ${options.map((o) => JSON.stringify(o.value)).join(", ")}`;
  }
  if (options.length > 0 && !options.some((o) => o.value === value)) {
    return `${JSON.stringify(value)} is not one of ${options.map((o) => JSON.stringify(o.value)).join(", ")}`;
  }
  if (p.type === "bool" && value !== "true" && value !== "false") return `must be true or false, got ${JSON.stringify(value)}`;
  if (p.type === "number") {
    const n = value.trim() === "" ? NaN : Number(value);
    if (!Number.isFinite(n)) return `must be a number, got ${JSON.stringify(value)}`;
    const min = p.validation_min ?? undefined;
    const max = p.validation_max ?? undefined;
    if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
      return `must be in [${min ?? "-inf"}, ${max ?? "+inf"}], got ${value}${p.validation_error ? ` (${p.validation_error})` : ""}`;
    }
  }
  if (p.type === "string" && p.validation_regex) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(p.validation_regex);
    } catch {
      re = undefined; // a Go-only regex syntax; the server still validates
    }
    if (re && !re.test(value)) return p.validation_error || `must match ${p.validation_regex}, got ${JSON.stringify(value)}`;
  }
  return undefined;
}

/** What the command-level setup resolved (read-only requests only). */
export interface PreparedCreateWorkspaces {
  /** The owner running the test. */
  me: User;
  /** The organization of every user and workspace: the owner's first. */
  organizationId: string;
  template: Template;
  parameters: WorkspaceBuildParameter[];
}

/**
 * Command-level setup (reference §3.1), without side effects: resolve the template, its active version's rich
 * parameters and external auth. Bad input throws a ConfigError naming the flag.
 */
export async function prepareCreateWorkspaces(
  owner: CoderClient,
  me: User,
  cfg: CreateWorkspacesConfig,
  { signal }: { signal?: AbortSignal } = {},
): Promise<PreparedCreateWorkspaces> {
  // Setup only reads, so transient answers are retried whatever --retry says.
  const client = owner.withRetry({ retries5xx: SETUP_RETRIES });
  const organizationId = me.organization_ids[0];
  if (!organizationId) throw new ConfigError([{ path: "--token", message: `user "${me.username}" belongs to no organization` }]);
  let template: Template;
  try {
    template = await client.resolveTemplate(cfg.template, { signal });
  } catch (err) {
    if (err instanceof CoderConnectionError || signal?.aborted) throw err;
    throw new ConfigError([{ path: "--template", message: getErrorMessage(err) }]);
  }
  const params = await client.templateVersionRichParameters(template.active_version_id, { signal });
  const resolved = resolveParameters(params, cfg.parameters);
  const problems = [...resolved.problems];
  const auths = await client.templateVersionExternalAuth(template.active_version_id, { signal });
  for (const a of auths) {
    if (!a.authenticated && !a.optional) {
      problems.push({ path: "--template", message: `external auth "${a.id}" is not authenticated; authenticate at ${a.authenticate_url} first` });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { me, organizationId, template, parameters: resolved.values };
}

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
    if (cfg.noWaitForAgents) {
      line("Not waiting for agents (--no-wait-for-agents).");
      return;
    }
    // F. Every agent connected.
    line("Waiting for agents...");
    await step("wait for agents", () => waitForAgents(client, ws.id, { signal, pollMs: cfg.agentPollMs, log: line }));
    // G. The first agent of the first resource that has agents.
    const latest = await step("get workspace", () => client.workspace(ws.id, { signal }));
    this.workspace.latest = latest;
    const agent = latest.latest_build.resources.find((r) => (r.agents?.length ?? 0) > 0)?.agents?.[0];
    if (!agent) throw new Error(`no agents found for workspace "${ws.id}"`);
    this.agent = agent;
    line(`Agent "${agent.name}" connected.`);
    // H. The optional command through the web terminal (connect-url is not supported, so it runs alone).
    if (cfg.runCommand) await step("run reconnecting pty", () => this.runCommand(client, agent, signal, line));
  }

  /** Reference §3.3 H: run --run-command in a fresh PTY session as the job's user and judge its output. */
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
   * Reference §3.3 D+E: wait for the build; after a failed build, up to `--retry` new start builds. When we only
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
   * Reference §3.3 I: delete the workspace with the user's own token, then the user as admin. Works from
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

/** Runs `fn`, prefixing its error with the step name (as the Go runner wraps errors). */
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`${name}: ${getErrorMessage(err)}`, { cause: err });
  }
}

/** A harness with one WorkspaceBuildRunner per index `0..count-1`, with the configured strategies. */
export function createWorkspacesHarness(
  ctx: JobContext,
  opts: { events?: HarnessEvents; tee?: (fullId: string, text: string) => void } = {},
): { harness: Harness; runners: WorkspaceBuildRunner[] } {
  const harness = new Harness({
    strategy: strategyFromConfig(ctx.cfg.strategy),
    cleanupStrategy: strategyFromConfig(ctx.cfg.cleanup),
    events: opts.events,
    tee: opts.tee,
  });
  const runners: WorkspaceBuildRunner[] = [];
  for (let i = 0; i < ctx.cfg.count; i++) {
    const r = new WorkspaceBuildRunner(i, ctx);
    runners.push(r);
    harness.addRun(TEST_NAME, String(i), r);
  }
  return { harness, runners };
}
