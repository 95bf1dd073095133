// Deployment-level routes: buildinfo, app host, deployment config, appearance, entitlements, experiments.
import type { BuildInfoResponse } from "../../coder/types.ts";
import { SIM_VERSION } from "../http.ts";
import type { SimContext } from "../module.ts";
import { requireOwner } from "./lookup.ts";

export function registerMiscRoutes(ctx: SimContext, deploymentId: string): void {
  ctx.addRoute("GET", "/api/v2", () => [200, { message: "👋" }], { auth: false });

  ctx.addRoute("GET", "/api/v2/buildinfo", () => {
    const body: BuildInfoResponse = {
      external_url: "https://github.com/coder/coder",
      version: SIM_VERSION,
      dashboard_url: ctx.url,
      telemetry: false,
      workspace_proxy: false,
      agent_api_version: "2.2",
      provisioner_api_version: "1.1",
      upgrade_message: "",
      deployment_id: deploymentId,
    };
    return [200, body];
  }, { auth: false });

  ctx.addRoute("GET", "/api/v2/applications/host", () => [200, { host: ctx.appHost() }], { auth: false });

  ctx.addRoute("GET", "/api/v2/deployment/config", ({ user }) => {
    requireOwner(ctx, user);
    // disable_owner_workspace_exec is absent when false, as coderd's omitempty does.
    return [200, { config: {}, options: [] }];
  });

  ctx.addRoute("GET", "/api/v2/appearance", () => [200, { application_name: "", logo_url: "", docs_url: "https://coder.com/docs", service_banner: { enabled: false }, announcement_banners: [], support_links: [] }]);

  // An unlicensed deployment, as enterprise coderd's license.Entitlements reports it: every feature not entitled,
  // user_limit carrying the active user count.
  ctx.addRoute("GET", "/api/v2/entitlements", () => {
    const active = [...ctx.state.users.values()].filter((u) => !u.deleted && u.status === "active").length;
    const features: Record<string, { entitlement: string; enabled: boolean; actual?: number }> = {};
    for (const name of FEATURE_NAMES) features[name] = { entitlement: "not_entitled", enabled: false };
    features.user_limit = { entitlement: "not_entitled", enabled: false, actual: active };
    return [200, { features, warnings: [], errors: [], has_license: false, trial: false, require_telemetry: false, refreshed_at: new Date().toISOString() }];
  });

  // coderd answers the deployment's enabled experiments (CODER_EXPERIMENTS); the simulator enables none.
  ctx.addRoute("GET", "/api/v2/experiments", () => [200, []]);
}

/** codersdk.FeatureNames of the coderd release the simulator mirrors. */
const FEATURE_NAMES = [
  "user_limit",
  "audit_log",
  "browser_only",
  "scim",
  "template_rbac",
  "high_availability",
  "multiple_external_auth",
  "external_provisioner_daemons",
  "appearance",
  "advanced_template_scheduling",
  "workspace_proxy",
  "user_role_management",
  "external_token_encryption",
  "workspace_batch_actions",
  "access_control",
  "control_shared_ports",
  "custom_roles",
  "multiple_organizations",
] as const;
