// In-memory coderd state: the store of records (records.ts) and the build state machine over it.
import { randomUUID } from "node:crypto";
import type { ProvisionerJobLog, TemplateVersionParameter, WorkspaceBuildParameter, WorkspaceTransition } from "../coder/types.ts";
import { ACTIVE_JOB_STATUSES } from "../coder/types.ts";
import type { Knobs } from "./knobs.ts";
import type { TemplateDefinition } from "./templates.ts";
import { randomAlnum, randomName, now, type SimUser, type SimApiKey, type SimOrganization, type SimTemplate, type SimFile, type SimTemplateVersion, type JobKind, type SimJob, type SimAgent, type SimResource, type SimBuild, type SimWorkspace, type StateEvents } from "./records.ts";

/** The simulator's database plus the provisioner that moves jobs through pending → running → terminal. */
export class SimState {
  readonly users = new Map<string, SimUser>();
  readonly apiKeys = new Map<string, SimApiKey>();
  readonly organizations = new Map<string, SimOrganization>();
  readonly templates = new Map<string, SimTemplate>();
  readonly versions = new Map<string, SimTemplateVersion>();
  readonly files = new Map<string, SimFile>();
  readonly jobs = new Map<string, SimJob>();
  readonly workspaces = new Map<string, SimWorkspace>();
  readonly builds = new Map<string, SimBuild>();
  readonly agents = new Map<string, SimAgent>();
  /** Jobs waiting for a daemon, in creation order (queue_position). */
  readonly pendingJobs = new Set<SimJob>();
  /** The one provisioner daemon's id (worker_id of every job). */
  readonly daemonId = randomUUID();
  private readonly timers = new Set<NodeJS.Timeout>();
  private logSeq = 0;
  private closed = false;

  constructor(
    private readonly knobs: () => Knobs,
    private readonly random: () => number,
    readonly events: StateEvents = {},
  ) {}

  /**
   * Runs one store operation and reports its duration under the name of the coderd database.Store method it
   * stands in for (GetWorkspaces, InsertWorkspaceBuild, ...): coderd times those as coderd_db_query_latencies_seconds.
   */
  query<T>(name: string, fn: () => T): T {
    const started = process.hrtime.bigint();
    try {
      return fn();
    } finally {
      this.events.queried?.(name, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  // ---- users and keys ----

  userByName(username: string): SimUser | undefined {
    const lower = username.toLowerCase();
    return this.query("GetUserByEmailOrUsername", () => {
      for (const u of this.users.values()) if (!u.deleted && u.username.toLowerCase() === lower) return u;
      return undefined;
    });
  }

  userByEmail(email: string): SimUser | undefined {
    const lower = email.toLowerCase();
    return this.query("GetUserByEmailOrUsername", () => {
      for (const u of this.users.values()) if (!u.deleted && u.email.toLowerCase() === lower) return u;
      return undefined;
    });
  }

  addUser(input: { username: string; email: string; name?: string; password: string; siteRoles?: string[]; organizationIds: string[]; loginType?: "password" | "none" }): SimUser {
    const t = now();
    const user: SimUser = {
      id: randomUUID(),
      username: input.username,
      email: input.email,
      name: input.name ?? "",
      password: input.password,
      createdAt: t,
      updatedAt: t,
      lastSeenAt: t,
      status: "active",
      loginType: input.loginType ?? "password",
      siteRoles: input.siteRoles ?? [],
      organizationIds: [...input.organizationIds],
      deleted: false,
    };
    this.query("InsertUser", () => this.users.set(user.id, user));
    return user;
  }

  /** Creates an API key and returns the token `<10-char id>-<22-char secret>`. */
  addApiKey(userId: string, opts: { tokenName?: string; lifetimeMs: number; loginType: "password" | "token"; scope?: SimApiKey["scope"] }): string {
    let id = randomAlnum(10);
    while (this.apiKeys.has(id)) id = randomAlnum(10);
    const t = now();
    const key: SimApiKey = {
      id,
      secret: randomAlnum(22),
      userId,
      tokenName: opts.tokenName ?? "",
      loginType: opts.loginType,
      scope: opts.scope ?? "all",
      createdAt: t,
      lastUsed: t,
      lifetimeSeconds: Math.floor(opts.lifetimeMs / 1000),
      expiresAt: Date.now() + opts.lifetimeMs,
    };
    this.query("InsertAPIKey", () => this.apiKeys.set(id, key));
    return `${key.id}-${key.secret}`;
  }

  isOwner(user: SimUser): boolean {
    return user.siteRoles.includes("owner");
  }

  addOrganization(name: string, displayName: string, isDefault: boolean): SimOrganization {
    const t = now();
    const org: SimOrganization = { id: randomUUID(), name, displayName, isDefault, createdAt: t, updatedAt: t };
    this.organizations.set(org.id, org);
    return org;
  }

  // ---- templates ----

  addFile(data: Buffer, contentType: string, createdById: string): SimFile {
    const file: SimFile = { id: randomUUID(), hash: "", contentType, data, createdById, createdAt: now() };
    file.hash = file.id;
    this.query("InsertFile", () => this.files.set(file.id, file));
    return file;
  }

  /** Creates a template version whose import job runs through the provisioner (or completes at once when `imported`). */
  addTemplateVersion(input: { organizationId: string; templateId: string | null; definition: TemplateDefinition; createdById: string; fileId?: string; name?: string; message?: string; imported?: boolean }): SimTemplateVersion {
    const t = now();
    const job = this.newJob("template_version_import", input.organizationId, input.fileId ?? randomUUID(), "start");
    const version: SimTemplateVersion = {
      id: randomUUID(),
      templateId: input.templateId,
      organizationId: input.organizationId,
      name: input.name || randomName(this.random),
      message: input.message ?? "",
      readme: `# ${input.definition.displayName}\n\n${input.definition.description}\n`,
      definition: input.definition,
      job,
      createdById: input.createdById,
      createdAt: t,
      updatedAt: t,
    };
    this.query("InsertTemplateVersion", () => this.versions.set(version.id, version));
    if (input.imported) {
      job.status = "succeeded";
      job.startedAt = t;
      job.completedAt = t;
      job.workerId = this.daemonId;
    } else {
      this.runJob(job);
    }
    return version;
  }

  addTemplate(input: { organizationId: string; versionId: string; name: string; displayName?: string; description?: string; icon?: string; createdById: string }): SimTemplate {
    const t = now();
    const tpl: SimTemplate = {
      id: randomUUID(),
      organizationId: input.organizationId,
      name: input.name,
      displayName: input.displayName ?? "",
      description: input.description ?? "",
      icon: input.icon ?? "",
      activeVersionId: input.versionId,
      createdById: input.createdById,
      createdAt: t,
      updatedAt: t,
    };
    this.query("InsertTemplate", () => this.templates.set(tpl.id, tpl));
    const v = this.versions.get(input.versionId);
    if (v) v.templateId = tpl.id;
    return tpl;
  }

  templateByName(organizationId: string, name: string): SimTemplate | undefined {
    return this.query("GetTemplateByOrganizationAndName", () => {
      for (const t of this.templates.values()) if (t.organizationId === organizationId && t.name === name) return t;
      return undefined;
    });
  }

  /** A dry-run job for a template version: provisions resources (agents never connect). */
  addDryRun(version: SimTemplateVersion): SimJob {
    const job = this.newJob("template_version_dry_run", version.organizationId, version.job.fileId, "start");
    job.resources = this.makeResources(version.definition, job, "", "", "", "");
    this.runJob(job);
    return job;
  }

  // ---- workspaces and builds ----

  latestBuild(ws: SimWorkspace): SimBuild {
    return ws.builds[ws.builds.length - 1]!;
  }

  addWorkspace(input: { owner: SimUser; template: SimTemplate; version: SimTemplateVersion; name: string; parameters: WorkspaceBuildParameter[]; initiator: SimUser }): SimWorkspace {
    const t = now();
    const ws: SimWorkspace = {
      id: randomUUID(),
      ownerId: input.owner.id,
      organizationId: input.template.organizationId,
      templateId: input.template.id,
      name: input.name,
      createdAt: t,
      updatedAt: t,
      lastUsedAt: t,
      builds: [],
      deleted: false,
      favorite: false,
    };
    this.query("InsertWorkspace", () => this.workspaces.set(ws.id, ws));
    this.addBuild(ws, { transition: "start", versionId: input.version.id, parameters: input.parameters, initiator: input.initiator });
    return ws;
  }

  /** Starts a build; the caller checked that no build is active. */
  addBuild(ws: SimWorkspace, input: { transition: WorkspaceTransition; versionId: string; parameters: WorkspaceBuildParameter[]; initiator: SimUser }): SimBuild {
    const version = this.versions.get(input.versionId)!;
    const owner = this.users.get(ws.ownerId)!;
    const t = now();
    const job = this.newJob("workspace_build", ws.organizationId, version.job.fileId, input.transition);
    const build: SimBuild = {
      id: randomUUID(),
      workspaceId: ws.id,
      buildNumber: ws.builds.length + 1,
      transition: input.transition,
      templateVersionId: version.id,
      initiatorId: input.initiator.id,
      reason: "initiator",
      job,
      parameters: input.parameters,
      createdAt: t,
      updatedAt: t,
    };
    // Only a start provisions the agent's resource; stop and delete tear it down.
    if (input.transition === "start") job.resources = this.makeResources(version.definition, job, ws.id, build.id, ws.name, owner.username);
    job.willFail = input.transition === "start" && this.random() < this.knobs().buildFailureRate;
    job.onComplete = (j) => this.buildCompleted(ws, build, j);
    job.build = build;
    this.query("InsertWorkspaceBuild", () => {
      ws.builds.push(build);
      ws.updatedAt = t;
      this.builds.set(build.id, build);
    });
    this.runJob(job);
    return build;
  }

  /** Marks a build's job canceled (pending: at once; running: canceling, then canceled). */
  cancelJob(job: SimJob): void {
    const t = now();
    if (job.timer) this.clearTimer(job.timer);
    job.canceledAt = t;
    if (job.status === "pending") {
      this.pendingJobs.delete(job);
      this.finishJob(job, "canceled");
      return;
    }
    job.status = "canceling";
    this.appendLog(job, "warn", "Cleaning Up", "Received cancellation; stopping terraform gracefully");
    job.timer = this.schedule(Math.min(50, this.knobs().runningMs), () => this.finishJob(job, "canceled"));
  }

  /** True while the user owns a workspace that is not yet deleted (coderd refuses to delete such users). */
  ownsWorkspaces(userId: string): boolean {
    for (const ws of this.workspaces.values()) if (ws.ownerId === userId && !ws.deleted) return true;
    return false;
  }

  // ---- timers ----

  /** An unref'd timer that close() clears. */
  schedule(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
    return timer;
  }

  clearTimer(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const job of this.jobs.values()) for (const w of job.watchers) w.done();
  }

  // ---- provisioner ----

  private newJob(kind: JobKind, organizationId: string, fileId: string, transition: WorkspaceTransition): SimJob {
    const job: SimJob = {
      id: randomUUID(),
      kind,
      organizationId,
      fileId,
      createdAt: now(),
      status: "pending",
      logs: [],
      watchers: new Set(),
      willFail: false,
      resources: [],
      transition,
    };
    this.query("InsertProvisionerJob", () => this.jobs.set(job.id, job));
    return job;
  }

  private jittered(ms: number): number {
    const j = this.knobs().jitterMs;
    return ms + (j > 0 ? Math.floor(this.random() * j) : 0);
  }

  private runJob(job: SimJob): void {
    this.pendingJobs.add(job);
    job.timer = this.schedule(this.jittered(this.knobs().pendingMs), () => this.startJob(job));
  }

  private startJob(job: SimJob): void {
    this.pendingJobs.delete(job);
    job.status = "running";
    job.startedAt = now();
    job.workerId = this.daemonId;
    const verb = job.kind === "template_version_import" ? "Parsing template parameters" : job.transition === "start" ? "Starting workspace" : job.transition === "stop" ? "Stopping workspace" : "Destroying workspace";
    this.appendLog(job, "info", "Setting up", "", "provisioner_daemon");
    this.appendLog(job, "info", "Planning infrastructure", "Terraform 1.9.8");
    this.appendLog(job, "info", "Planning infrastructure", "Initializing the backend...");
    this.appendLog(job, "info", verb, job.kind === "workspace_build" ? `${job.resources[0]?.type ?? "kubernetes_pod"}.main: ${job.transition === "start" ? "Creating..." : "Destroying..."}` : "Parsing template");
    const runMs = this.jittered(this.knobs().runningMs);
    job.timer = this.schedule(Math.floor(runMs / 2), () => {
      this.appendLog(job, "info", verb, job.kind === "workspace_build" ? "Still working... [5s elapsed]" : "Detected rich parameters");
      job.timer = this.schedule(runMs - Math.floor(runMs / 2), () => this.completeJob(job));
    });
  }

  private completeJob(job: SimJob): void {
    if (job.willFail) {
      const name = job.resources[0]?.name ?? "main";
      job.error = `terraform apply: exit status 1: Error: Failed to create deployment: pods "coder-${name}" is forbidden: exceeded quota: compute-resources, requested: limits.cpu=100m, used: limits.cpu=32, limited: limits.cpu=32`;
      this.appendLog(job, "error", "Starting workspace", job.error);
      this.finishJob(job, "failed");
      return;
    }
    this.appendLog(job, "info", "Cleaning Up", "", "provisioner_daemon");
    this.finishJob(job, "succeeded");
  }

  private finishJob(job: SimJob, status: "succeeded" | "failed" | "canceled"): void {
    job.timer = undefined;
    job.status = status;
    job.completedAt = now();
    const started = Date.parse(job.startedAt ?? job.createdAt);
    job.onComplete?.(job);
    this.events.jobCompleted?.(job, job.build, Math.max(0, Date.now() - started) / 1000);
    for (const w of job.watchers) w.done();
    job.watchers.clear();
  }

  private buildCompleted(ws: SimWorkspace, build: SimBuild, job: SimJob): void {
    build.updatedAt = now();
    ws.updatedAt = build.updatedAt;
    if (job.status !== "succeeded") return;
    // Earlier builds' agents go away once a later build succeeds.
    for (const b of ws.builds) {
      if (b === build) continue;
      for (const a of this.agentsOf(b)) {
        if (a.status === "connected" || a.status === "connecting") {
          a.status = "disconnected";
          a.lifecycleState = "off";
          a.disconnectedAt = now();
          a.updatedAt = a.disconnectedAt;
        }
      }
    }
    if (build.transition === "delete") ws.deleted = true;
    if (build.transition === "start") {
      for (const agent of this.agentsOf(build)) {
        this.schedule(this.knobs().agentConnectDelayMs, () => {
          if (this.latestBuild(ws) !== build || agent.status !== "connecting") return;
          const t = now();
          agent.status = "connected";
          agent.lifecycleState = "ready";
          agent.firstConnectedAt = t;
          agent.lastConnectedAt = t;
          agent.readyAt = t;
          agent.updatedAt = t;
        });
      }
    }
  }

  agentsOf(build: SimBuild): SimAgent[] {
    return build.job.resources.flatMap((r) => r.agents);
  }

  private makeResources(def: TemplateDefinition, job: SimJob, workspaceId: string, buildId: string, _wsName: string, _owner: string): SimResource[] {
    const t = now();
    const resource: SimResource = { id: randomUUID(), createdAt: t, jobId: job.id, transition: job.transition, type: def.resourceType, name: def.resourceName, agents: [] };
    for (const a of def.agents) {
      const agent: SimAgent = {
        id: randomUUID(),
        name: a.name,
        resourceId: resource.id,
        workspaceId,
        buildId,
        status: "connecting",
        lifecycleState: "created",
        createdAt: t,
        updatedAt: t,
        apps: a.apps.map((def) => ({ id: randomUUID(), def })),
      };
      resource.agents.push(agent);
      if (workspaceId) this.agents.set(agent.id, agent);
    }
    return [resource];
  }

  /** Appends a log line with a global increasing id and fans it out to watchers. */
  appendLog(job: SimJob, level: ProvisionerJobLog["log_level"], stage: string, output: string, source: ProvisionerJobLog["log_source"] = "provisioner"): void {
    const line: ProvisionerJobLog = { id: ++this.logSeq, created_at: now(), log_source: source, log_level: level, stage, output };
    job.logs.push(line);
    for (const w of job.watchers) w.log(line);
  }

  /** True while the job can still change (pending, running, canceling). */
  static isActive(job: SimJob): boolean {
    return ACTIVE_JOB_STATUSES.has(job.status);
  }
}

/** Parameter values for a build: supplied values, then defaults; unknown names are ignored as coderd's builder does. */
export function resolveParameters(params: TemplateVersionParameter[], supplied: WorkspaceBuildParameter[], previous: WorkspaceBuildParameter[] = []): { values: WorkspaceBuildParameter[]; missing: string[] } {
  const values: WorkspaceBuildParameter[] = [];
  const missing: string[] = [];
  for (const p of params) {
    const v = supplied.find((s) => s.name === p.name) ?? previous.find((s) => s.name === p.name);
    if (v) values.push({ name: p.name, value: v.value });
    else if (p.required) missing.push(p.name);
    else values.push({ name: p.name, value: p.default_value });
  }
  return { values, missing };
}
