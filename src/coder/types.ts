// The subset of Coder's API types (codersdk.*) this project reads and writes; names follow swagger.json.

export type UUID = string;

/** The nil UUID Go sends for "not set" (e.g. template_version_id on create). */
export const NIL_UUID = "00000000-0000-0000-0000-000000000000";

/** codersdk.Response: the body of every non-2xx JSON answer. */
export interface ApiResponse {
  message: string;
  detail?: string;
  validations?: { field: string; detail: string }[];
}

/** codersdk.SlimRole */
export interface SlimRole {
  name: string;
  display_name: string;
  organization_id?: string;
}

/** codersdk.User */
export interface User {
  id: UUID;
  username: string;
  email: string;
  name: string;
  /** Omitted by coderd when empty (omitempty). */
  avatar_url?: string;
  created_at: string;
  updated_at: string;
  last_seen_at: string;
  status: "active" | "dormant" | "suspended";
  login_type: "password" | "github" | "oidc" | "token" | "none" | "";
  theme_preference: string;
  organization_ids: UUID[];
  roles: SlimRole[];
}

/** codersdk.GetUsersResponse */
export interface GetUsersResponse {
  users: User[];
  count: number;
}

/** codersdk.CreateUserRequestWithOrgs */
export interface CreateUserRequest {
  email: string;
  username: string;
  name: string;
  password: string;
  login_type: string;
  organization_ids: UUID[];
}

/** codersdk.LoginWithPasswordRequest / Response */
export interface LoginWithPasswordRequest {
  email: string;
  password: string;
}
export interface LoginWithPasswordResponse {
  session_token: string;
}

/** codersdk.Organization */
export interface Organization {
  id: UUID;
  name: string;
  display_name: string;
  description: string;
  icon: string;
  is_default: boolean;
  created_at: string;
  updated_at: string;
}

/** codersdk.Template (fields we use; the simulator returns the full shape). */
export interface Template {
  id: UUID;
  name: string;
  display_name: string;
  organization_id: UUID;
  organization_name: string;
  active_version_id: UUID;
  created_at: string;
  updated_at: string;
  [key: string]: unknown;
}

/** codersdk.TemplateVersion */
export interface TemplateVersion {
  id: UUID;
  template_id?: UUID;
  organization_id?: UUID;
  name: string;
  message: string;
  readme: string;
  created_at: string;
  updated_at: string;
  job: ProvisionerJob;
  [key: string]: unknown;
}

/** codersdk.TemplateVersionVariable: a Terraform variable of a template version, with the value it was imported with. */
export interface TemplateVersionVariable {
  name: string;
  description?: string;
  type: "string" | "number" | "bool";
  value: string;
  default_value: string;
  required: boolean;
  sensitive: boolean;
}

/** codersdk.VariableValue: a Terraform variable value given when creating a template version. */
export interface VariableValue {
  name: string;
  value: string;
}

/** codersdk.TemplateVersionParameter */
export interface TemplateVersionParameter {
  name: string;
  display_name?: string;
  description: string;
  description_plaintext: string;
  type: "string" | "number" | "bool" | "list(string)";
  mutable: boolean;
  default_value: string;
  icon: string;
  options: { name: string; description: string; value: string; icon: string }[];
  validation_regex?: string;
  validation_min?: number;
  validation_max?: number;
  validation_error?: string;
  validation_monotonic?: "increasing" | "decreasing" | "";
  required: boolean;
  ephemeral: boolean;
}

/** codersdk.WorkspaceBuildParameter */
export interface WorkspaceBuildParameter {
  name: string;
  value: string;
}

export type ProvisionerJobStatus = "pending" | "running" | "succeeded" | "canceling" | "canceled" | "failed" | "unknown";

/** codersdk.ProvisionerJob */
export interface ProvisionerJob {
  id: UUID;
  created_at: string;
  started_at?: string;
  completed_at?: string;
  canceled_at?: string;
  error?: string;
  error_code?: string;
  status: ProvisionerJobStatus;
  worker_id?: UUID;
  file_id: UUID;
  tags: Record<string, string>;
  queue_position: number;
  queue_size: number;
}

/** Job statuses during which a build still runs. */
export const ACTIVE_JOB_STATUSES: ReadonlySet<ProvisionerJobStatus> = new Set(["pending", "running", "canceling"]);

/** codersdk.ProvisionerJobLog: one text frame of the build-logs WebSocket. */
export interface ProvisionerJobLog {
  id: number;
  created_at: string;
  log_source: "provisioner_daemon" | "provisioner";
  log_level: "trace" | "debug" | "info" | "warn" | "error";
  stage: string;
  output: string;
}

export type WorkspaceTransition = "start" | "stop" | "delete";

export type WorkspaceStatus =
  | "pending"
  | "starting"
  | "running"
  | "stopping"
  | "stopped"
  | "failed"
  | "canceling"
  | "canceled"
  | "deleting"
  | "deleted";

/** codersdk.WorkspaceApp (fields we use). */
export interface WorkspaceApp {
  id: UUID;
  slug: string;
  display_name: string;
  url?: string;
  subdomain: boolean;
  subdomain_name?: string;
  sharing_level: "owner" | "authenticated" | "public";
  health: "disabled" | "initializing" | "healthy" | "unhealthy";
  [key: string]: unknown;
}

export type WorkspaceAgentStatus = "connecting" | "connected" | "disconnected" | "timeout";

/** codersdk.WorkspaceAgent (fields we use). */
export interface WorkspaceAgent {
  id: UUID;
  name: string;
  status: WorkspaceAgentStatus;
  lifecycle_state: string;
  apps: WorkspaceApp[];
  operating_system: string;
  [key: string]: unknown;
}

/** codersdk.WorkspaceResource */
export interface WorkspaceResource {
  id: UUID;
  created_at: string;
  job_id: UUID;
  workspace_transition: WorkspaceTransition;
  type: string;
  name: string;
  hide: boolean;
  icon: string;
  agents?: WorkspaceAgent[];
  daily_cost: number;
  [key: string]: unknown;
}

/** codersdk.WorkspaceBuild */
export interface WorkspaceBuild {
  id: UUID;
  created_at: string;
  updated_at: string;
  workspace_id: UUID;
  workspace_name: string;
  workspace_owner_id: UUID;
  workspace_owner_name: string;
  template_version_id: UUID;
  template_version_name: string;
  build_number: number;
  transition: WorkspaceTransition;
  initiator_id: UUID;
  initiator_name: string;
  job: ProvisionerJob;
  reason: string;
  resources: WorkspaceResource[];
  status: WorkspaceStatus;
  daily_cost: number;
  [key: string]: unknown;
}

/** codersdk.Workspace (fields we use; the simulator returns the full shape). */
export interface Workspace {
  id: UUID;
  created_at: string;
  updated_at: string;
  owner_id: UUID;
  owner_name: string;
  organization_id: UUID;
  organization_name: string;
  template_id: UUID;
  template_name: string;
  latest_build: WorkspaceBuild;
  name: string;
  deleting_at?: string | null;
  dormant_at?: string | null;
  [key: string]: unknown;
}

/** codersdk.WorkspacesResponse */
export interface WorkspacesResponse {
  workspaces: Workspace[];
  count: number;
}

/** codersdk.CreateWorkspaceRequest, as the Go SDK sends it. */
export interface CreateWorkspaceRequest {
  template_id?: UUID;
  template_version_id?: UUID;
  name: string;
  autostart_schedule?: string | null;
  ttl_ms?: number;
  rich_parameter_values?: WorkspaceBuildParameter[];
}

/** codersdk.CreateWorkspaceBuildRequest (only the three real transitions). */
export interface CreateWorkspaceBuildRequest {
  transition: WorkspaceTransition;
  template_version_id?: UUID;
  rich_parameter_values?: WorkspaceBuildParameter[];
  orphan?: boolean;
}

/** codersdk.CreateTokenRequest: lifetime in nanoseconds. */
export interface CreateTokenRequest {
  lifetime: number;
  scope: "all" | "application_connect" | "";
  token_name: string;
}

/** codersdk.GenerateAPIKeyResponse */
export interface GenerateAPIKeyResponse {
  key: string;
}

/** codersdk.BuildInfoResponse (fields we use). */
export interface BuildInfoResponse {
  external_url: string;
  version: string;
  dashboard_url: string;
  [key: string]: unknown;
}

/** codersdk.AppHostResponse */
export interface AppHostResponse {
  host: string;
}
