// The simulator's records: what SimState stores for users, keys, templates, workspaces, builds, provisioner jobs and agents.
import { randomBytes } from "node:crypto";
import type { ProvisionerJobLog, ProvisionerJobStatus, WorkspaceAgentStatus, WorkspaceBuildParameter, WorkspaceTransition } from "../coder/types.ts";
import type { AppDefinition, TemplateDefinition } from "./templates.ts";

export interface SimUser {
  id: string;
  username: string;
  email: string;
  name: string;
  password: string;
  createdAt: string;
  updatedAt: string;
  lastSeenAt: string;
  status: "active" | "dormant" | "suspended";
  loginType: "password" | "none";
  /** Site roles; "owner" makes a site owner. Members have none (coderd does not list the implied member role). */
  siteRoles: string[];
  organizationIds: string[];
  deleted: boolean;
}

export interface SimApiKey {
  id: string;
  secret: string;
  userId: string;
  tokenName: string;
  loginType: "password" | "token";
  /** "all", or "application_connect" for tokens limited to workspace apps. */
  scope: "all" | "application_connect";
  createdAt: string;
  /** Last authenticated use (creation until then). */
  lastUsed: string;
  lifetimeSeconds: number;
  /** Unix milliseconds. */
  expiresAt: number;
}

export interface SimOrganization {
  id: string;
  name: string;
  displayName: string;
  isDefault: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface SimTemplate {
  id: string;
  organizationId: string;
  name: string;
  displayName: string;
  description: string;
  icon: string;
  activeVersionId: string;
  createdById: string;
  createdAt: string;
  updatedAt: string;
}

export interface SimFile {
  id: string;
  hash: string;
  contentType: string;
  data: Buffer;
  createdById: string;
  createdAt: string;
}

export interface SimTemplateVersion {
  id: string;
  templateId: string | null;
  organizationId: string;
  name: string;
  message: string;
  readme: string;
  definition: TemplateDefinition;
  job: SimJob;
  createdById: string;
  createdAt: string;
  updatedAt: string;
}

export type JobKind = "workspace_build" | "template_version_import" | "template_version_dry_run";

/** Called for every new log line; `done` fires once when the job reaches a terminal status. */
export interface JobWatcher {
  log(line: ProvisionerJobLog): void;
  done(): void;
}

export interface SimJob {
  id: string;
  kind: JobKind;
  organizationId: string;
  fileId: string;
  createdAt: string;
  startedAt?: string;
  completedAt?: string;
  canceledAt?: string;
  error?: string;
  status: ProvisionerJobStatus;
  workerId?: string;
  logs: ProvisionerJobLog[];
  watchers: Set<JobWatcher>;
  willFail: boolean;
  /** Resources the job provisions (dry runs and builds). */
  resources: SimResource[];
  timer?: NodeJS.Timeout;
  /** Transition for build and dry-run jobs (drives the log text). */
  transition: WorkspaceTransition;
  onComplete?: (job: SimJob) => void;
  /** The build this job runs, for workspace_build jobs. */
  build?: SimBuild;
}

export interface SimApp {
  id: string;
  def: AppDefinition;
}

export interface SimAgent {
  id: string;
  name: string;
  resourceId: string;
  /** Empty for dry-run agents. */
  workspaceId: string;
  buildId: string;
  status: WorkspaceAgentStatus;
  lifecycleState: "created" | "starting" | "ready" | "off" | "shutting_down";
  createdAt: string;
  updatedAt: string;
  firstConnectedAt?: string;
  lastConnectedAt?: string;
  disconnectedAt?: string;
  readyAt?: string;
  apps: SimApp[];
}

export interface SimResource {
  id: string;
  createdAt: string;
  jobId: string;
  transition: WorkspaceTransition;
  type: string;
  name: string;
  agents: SimAgent[];
}

export interface SimBuild {
  id: string;
  workspaceId: string;
  buildNumber: number;
  transition: WorkspaceTransition;
  templateVersionId: string;
  initiatorId: string;
  reason: "initiator" | "autostart" | "autostop";
  job: SimJob;
  parameters: WorkspaceBuildParameter[];
  createdAt: string;
  updatedAt: string;
}

export interface SimWorkspace {
  id: string;
  ownerId: string;
  organizationId: string;
  templateId: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string;
  builds: SimBuild[];
  /** True once a delete build succeeded. */
  deleted: boolean;
  favorite: boolean;
}

/** Completion events the metrics layer listens to. */
export interface StateEvents {
  jobCompleted?(job: SimJob, build: SimBuild | undefined, durationSeconds: number): void;
  /** One store operation ran (see SimState.query): coderd's store method name and how long it took. */
  queried?(query: string, seconds: number): void;
}

/** Now, as coderd writes timestamps. */
export const now = (): string => new Date().toISOString();
const ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** Random alphanumeric string of `n` characters from the crypto RNG (tokens must not be predictable). */
export function randomAlnum(n: number): string {
  const bytes = randomBytes(n);
  let out = "";
  for (let i = 0; i < n; i++) out += ALNUM[bytes[i]! % ALNUM.length];
  return out;
}

const ADJECTIVES = ["amazing", "brave", "calm", "eager", "fervent", "gallant", "happy", "jolly", "keen", "lucid", "nifty", "quirky", "serene", "vigilant", "zealous"];
const NOUNS = ["babbage", "curie", "darwin", "euler", "feynman", "galileo", "hopper", "knuth", "lovelace", "newton", "pascal", "ritchie", "turing", "wozniak"];

/** Docker-style names coderd gives template versions and unnamed tokens. */
export function randomName(rand: () => number, sep = "_"): string {
  return `${ADJECTIVES[Math.floor(rand() * ADJECTIVES.length)]}${sep}${NOUNS[Math.floor(rand() * NOUNS.length)]}${Math.floor(rand() * 10)}`;
}

/** The build status coderd derives from job status and transition (codersdk.WorkspaceStatus). */
export function workspaceStatus(job: SimJob, transition: WorkspaceTransition): string {
  switch (job.status) {
    case "pending":
      return "pending";
    case "running":
      return transition === "start" ? "starting" : transition === "stop" ? "stopping" : "deleting";
    case "succeeded":
      return transition === "start" ? "running" : transition === "stop" ? "stopped" : "deleted";
    case "canceling":
      return "canceling";
    case "canceled":
      return "canceled";
    default:
      return "failed";
  }
}
