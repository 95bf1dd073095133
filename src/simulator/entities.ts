// Renders simulator state as codersdk JSON (the full swagger shapes), so every route answers like coderd.
import type { Organization, ProvisionerJob, Template, TemplateVersion, User, Workspace, WorkspaceAgent, WorkspaceApp, WorkspaceBuild, WorkspaceResource } from "../coder/types.ts";
import { SimState } from "./state.ts";
import { workspaceStatus, type SimAgent, type SimBuild, type SimJob, type SimOrganization, type SimResource, type SimTemplate, type SimTemplateVersion, type SimUser, type SimWorkspace } from "./records.ts";

/** Renders state objects; `appSubdomains` says whether a wildcard app host is configured. */
export class Entities {
  constructor(private readonly state: SimState) {}

  user(u: SimUser): User {
    // avatar_url is omitted when empty (coderd's omitempty; swagger types it as a URI).
    return {
      id: u.id,
      username: u.username,
      email: u.email,
      name: u.name,
      created_at: u.createdAt,
      updated_at: u.updatedAt,
      last_seen_at: u.lastSeenAt,
      status: u.status,
      login_type: u.loginType,
      theme_preference: "",
      organization_ids: [...u.organizationIds],
      roles: u.siteRoles.map((name) => ({ name, display_name: name === "owner" ? "Owner" : name })),
    };
  }

  organization(o: SimOrganization): Organization {
    return { id: o.id, name: o.name, display_name: o.displayName, description: "", icon: "", is_default: o.isDefault, created_at: o.createdAt, updated_at: o.updatedAt };
  }

  template(t: SimTemplate): Template {
    const org = this.state.organizations.get(t.organizationId)!;
    const creator = this.state.users.get(t.createdById);
    return {
      id: t.id,
      created_at: t.createdAt,
      updated_at: t.updatedAt,
      organization_id: org.id,
      organization_name: org.name,
      organization_display_name: org.displayName,
      organization_icon: "",
      name: t.name,
      display_name: t.displayName,
      provisioner: "terraform",
      active_version_id: t.activeVersionId,
      active_user_count: 0,
      build_time_stats: { start: {}, stop: {}, delete: {} },
      description: t.description,
      deprecated: false,
      deprecation_message: "",
      icon: t.icon,
      default_ttl_ms: 0,
      activity_bump_ms: 3_600_000,
      autostop_requirement: { days_of_week: [], weeks: 1 },
      autostart_requirement: { days_of_week: ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] },
      created_by_id: t.createdById,
      created_by_name: creator?.username ?? "",
      allow_user_autostart: true,
      allow_user_autostop: true,
      allow_user_cancel_workspace_jobs: true,
      failure_ttl_ms: 0,
      time_til_dormant_ms: 0,
      time_til_dormant_autodelete_ms: 0,
      require_active_version: false,
      max_port_share_level: "owner",
    };
  }

  job(j: SimJob): ProvisionerJob {
    const out: ProvisionerJob = {
      id: j.id,
      created_at: j.createdAt,
      status: j.status,
      file_id: j.fileId,
      tags: { scope: "organization", owner: "" },
      queue_position: 0,
      queue_size: 0,
    };
    if (j.startedAt) out.started_at = j.startedAt;
    if (j.completedAt) out.completed_at = j.completedAt;
    if (j.canceledAt) out.canceled_at = j.canceledAt;
    if (j.error) out.error = j.error;
    if (j.workerId) out.worker_id = j.workerId;
    if (j.status === "pending") {
      let pos = 0;
      for (const p of this.state.pendingJobs) {
        pos++;
        if (p === j) break;
      }
      out.queue_position = pos;
      out.queue_size = this.state.pendingJobs.size;
    }
    return out;
  }

  templateVersion(v: SimTemplateVersion): TemplateVersion {
    const creator = this.state.users.get(v.createdById);
    const out: TemplateVersion = {
      id: v.id,
      organization_id: v.organizationId,
      created_at: v.createdAt,
      updated_at: v.updatedAt,
      name: v.name,
      message: v.message,
      job: this.job(v.job),
      readme: v.readme,
      created_by: { id: v.createdById, username: creator?.username ?? "" },
      archived: false,
      warnings: [],
    };
    if (v.templateId) out.template_id = v.templateId;
    return out;
  }

  /** `{slug}--{agent}--{workspace}--{owner}`, the label coderd puts in front of the wildcard app host. */
  static subdomainName(slug: string, agent: string, workspace: string, owner: string): string {
    return `${slug}--${agent}--${workspace}--${owner}`;
  }

  agent(a: SimAgent): WorkspaceAgent {
    const ws = a.workspaceId ? this.state.workspaces.get(a.workspaceId) : undefined;
    const owner = ws ? this.state.users.get(ws.ownerId) : undefined;
    const apps: WorkspaceApp[] = a.apps.map((app) => {
      const out: WorkspaceApp = {
        id: app.id,
        url: app.def.url,
        external: false,
        slug: app.def.slug,
        display_name: app.def.displayName,
        icon: "",
        subdomain: app.def.subdomain,
        sharing_level: app.def.sharingLevel,
        healthcheck: { url: "", interval: 0, threshold: 0 },
        health: "disabled",
        hidden: false,
      };
      if (app.def.subdomain && ws && owner) out.subdomain_name = Entities.subdomainName(app.def.slug, a.name, ws.name, owner.username);
      return out;
    });
    const out: WorkspaceAgent = {
      id: a.id,
      created_at: a.createdAt,
      updated_at: a.updatedAt,
      status: a.status,
      lifecycle_state: a.lifecycleState,
      name: a.name,
      resource_id: a.resourceId,
      instance_id: "",
      architecture: "amd64",
      environment_variables: {},
      operating_system: "linux",
      logs_length: 0,
      logs_overflowed: false,
      directory: "",
      expanded_directory: "/home/coder",
      version: "v2.16.0",
      api_version: "2.2",
      apps,
      connection_timeout_seconds: 120,
      troubleshooting_url: "https://coder.com/docs/templates/troubleshooting",
      subsystems: [],
      health: a.status === "connected" ? { healthy: true } : { healthy: false, reason: a.status === "connecting" ? "agent is connecting" : "agent is not connected" },
      display_apps: ["vscode", "web_terminal", "ssh_helper", "port_forwarding_helper"],
      log_sources: [],
      scripts: [],
      startup_script_behavior: "non-blocking",
    };
    if (a.firstConnectedAt) out.first_connected_at = a.firstConnectedAt;
    if (a.lastConnectedAt) out.last_connected_at = a.lastConnectedAt;
    if (a.disconnectedAt) out.disconnected_at = a.disconnectedAt;
    if (a.firstConnectedAt) out.started_at = a.firstConnectedAt;
    if (a.readyAt) out.ready_at = a.readyAt;
    return out;
  }

  resource(r: SimResource): WorkspaceResource {
    return {
      id: r.id,
      created_at: r.createdAt,
      job_id: r.jobId,
      workspace_transition: r.transition,
      type: r.type,
      name: r.name,
      hide: false,
      icon: "",
      agents: r.agents.map((a) => this.agent(a)),
      metadata: [],
      daily_cost: 0,
    };
  }

  build(b: SimBuild): WorkspaceBuild {
    const ws = this.state.workspaces.get(b.workspaceId)!;
    const owner = this.state.users.get(ws.ownerId)!;
    const initiator = this.state.users.get(b.initiatorId);
    const version = this.state.versions.get(b.templateVersionId)!;
    return {
      id: b.id,
      created_at: b.createdAt,
      updated_at: b.updatedAt,
      workspace_id: ws.id,
      workspace_name: ws.name,
      workspace_owner_id: owner.id,
      workspace_owner_name: owner.username,
      workspace_owner_avatar_url: "",
      template_version_id: version.id,
      template_version_name: version.name,
      build_number: b.buildNumber,
      transition: b.transition,
      initiator_id: b.initiatorId,
      initiator_name: initiator?.username ?? "",
      job: this.job(b.job),
      reason: b.reason,
      resources: b.job.resources.map((r) => this.resource(r)),
      deadline: null,
      max_deadline: null,
      status: workspaceStatus(b.job, b.transition) as WorkspaceBuild["status"],
      daily_cost: 0,
    };
  }

  workspace(ws: SimWorkspace, viewerId: string): Workspace {
    const owner = this.state.users.get(ws.ownerId)!;
    const org = this.state.organizations.get(ws.organizationId)!;
    const tpl = this.state.templates.get(ws.templateId)!;
    const latest = this.state.latestBuild(ws);
    const agents = this.state.agentsOf(latest);
    const failing = agents.filter((a) => a.status !== "connected").map((a) => a.id);
    return {
      id: ws.id,
      created_at: ws.createdAt,
      updated_at: ws.updatedAt,
      owner_id: owner.id,
      owner_name: owner.username,
      owner_avatar_url: "",
      organization_id: org.id,
      organization_name: org.name,
      template_id: tpl.id,
      template_name: tpl.name,
      template_display_name: tpl.displayName,
      template_icon: tpl.icon,
      template_allow_user_cancel_workspace_jobs: true,
      template_active_version_id: tpl.activeVersionId,
      template_require_active_version: false,
      latest_build: this.build(latest),
      outdated: latest.templateVersionId !== tpl.activeVersionId,
      name: ws.name,
      last_used_at: ws.lastUsedAt,
      deleting_at: null,
      dormant_at: null,
      health: { healthy: failing.length === 0, failing_agents: failing },
      automatic_updates: "never",
      allow_renames: false,
      favorite: ws.favorite && ws.ownerId === viewerId,
    };
  }
}
