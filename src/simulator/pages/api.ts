// REST routes the dashboard pages (and the dashboard scenario's token cleanup) call that the core routes do not serve.
import { SIGNED_OUT_MESSAGE } from "../auth.ts";
import { HttpError, notFound, sendJSON } from "../http.ts";
import type { SimContext } from "../module.ts";
import { userParam } from "../routes/lookup.ts";
import { templateParam } from "../routes/templates.ts";
import type { SimTemplateVersion } from "../records.ts";

/** Starter templates, shaped as codersdk.TemplateExample (GET /api/v2/templates/examples). */
export const STARTER_TEMPLATES = [
  { id: "docker", name: "Docker Containers", description: "Provision Docker containers as Coder workspaces", tags: ["docker", "container"], icon: "/icon/docker.png", url: "", markdown: "# Docker\n\nWorkspaces in Docker containers." },
  { id: "kubernetes", name: "Kubernetes (Deployment)", description: "Provision Kubernetes Deployments as Coder workspaces", tags: ["kubernetes", "container"], icon: "/icon/k8s.png", url: "", markdown: "# Kubernetes\n\nWorkspaces as Kubernetes pods." },
  { id: "aws-linux", name: "AWS EC2 (Linux)", description: "Provision AWS EC2 VMs as Coder workspaces", tags: ["vm", "linux", "aws"], icon: "/icon/aws.svg", url: "", markdown: "# AWS EC2 (Linux)\n\nWorkspaces on EC2 instances." },
] as const;

/** Registers the routes; call only for paths the core does not serve (the core's routes win on a clash). */
export function registerPageApiRoutes(ctx: SimContext): void {
  const { state, entities } = ctx;

  ctx.addRoute("GET", "/api/v2/users/{user}/workspace/{workspacename}/builds/{buildnumber}", ({ params, user }) => {
    const owner = userParam(ctx, params.user!, user);
    const ws = ctx.findWorkspace(owner.username, params.workspacename!);
    if (!ws || !ctx.canAccessWorkspace(user, ws)) throw notFound();
    const n = Number(params.buildnumber);
    for (const b of state.builds.values()) if (b.workspaceId === ws.id && b.buildNumber === n) return [200, entities.build(b)];
    throw notFound();
  });

  const versionsOf = (templateId: string): SimTemplateVersion[] =>
    [...state.versions.values()].filter((v) => v.templateId === templateId).sort((a, b) => b.createdAt.localeCompare(a.createdAt));

  ctx.addRoute("GET", "/api/v2/templates/{template}/versions", ({ params, user }) => {
    const t = templateParam(ctx, params.template!, user);
    return [200, versionsOf(t.id).map((v) => entities.templateVersion(v))];
  });

  ctx.addRoute("GET", "/api/v2/templates/{template}/versions/{templateversionname}", ({ params, user }) => {
    const t = templateParam(ctx, params.template!, user);
    const v = versionsOf(t.id).find((x) => x.name === params.templateversionname);
    if (!v) throw notFound();
    return [200, entities.templateVersion(v)];
  });

  // A request route: the core's /api/v2/templates/{template} would otherwise take "examples" for a bad UUID.
  ctx.addRequestRoute({
    name: "/api/v2/templates/examples",
    match: (req, url) => (req.method === "GET" && /^\/api\/v2\/templates\/examples\/?$/.test(url.pathname) ? {} : null),
    handle(req, res) {
      if (!ctx.authenticate(req)) throw new HttpError(401, { message: SIGNED_OUT_MESSAGE });
      sendJSON(res, 200, STARTER_TEMPLATES);
    },
  });
}
