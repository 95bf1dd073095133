// Deployment-level routes: buildinfo, app host, deployment config, appearance.
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
}
