// Template upload routes: files, template versions from a file (import job with logs, Terraform variables), template create, version list and promote.
import { createHash } from "node:crypto";
import { HttpError, notFound, parseUUIDParam, readRaw, validationFailed } from "../http.ts";
import type { SimContext } from "../module.ts";
import type { TemplateVersionVariable, VariableValue } from "../../coder/types.ts";
import type { SimTemplateVersion } from "../records.ts";
import { definitionFromTar, variablesFromTar } from "../tar-template.ts";
import { checkName, readBody, requireOwner } from "./lookup.ts";
import { templateParam, versionParam } from "./templates.ts";
import { cmp, orgParam } from "./users.ts";

const CONTENT_TYPES = new Set(["application/x-tar", "application/zip"]);

export function registerFileRoutes(ctx: SimContext): void {
  const { state, entities } = ctx;
  const fileHashes = new Map<string, string>();
  /** Terraform variables of the versions imported from an upload (built-in versions have none). */
  const variables = new WeakMap<SimTemplateVersion, TemplateVersionVariable[]>();

  ctx.addRoute("POST", "/api/v2/files", async ({ req, user }) => {
    const contentType = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
    if (!CONTENT_TYPES.has(contentType)) throw new HttpError(400, { message: `Unsupported content type header "${contentType}".` });
    const data = await readRaw(req);
    const sha = createHash("sha256").update(data).digest("hex");
    const existing = fileHashes.get(sha);
    // coderd answers 200 with the existing file when the same bytes were uploaded before.
    if (existing) return [200, { hash: existing }];
    const file = state.addFile(data, contentType, user.id);
    fileHashes.set(sha, file.id);
    return [201, { hash: file.id }];
  });

  ctx.addRoute("GET", "/api/v2/files/{fileID}", ({ params, res }) => {
    const file = state.files.get(parseUUIDParam(params.fileID!, "fileID"));
    if (!file) throw notFound();
    res.writeHead(200, { "Content-Type": file.contentType, "Content-Length": file.data.length });
    res.end(file.data);
  });

  ctx.addRoute("POST", "/api/v2/organizations/{organization}/templateversions", async ({ req, params, user }) => {
    requireOwner(ctx, user);
    const org = orgParam(ctx, params.organization!, user);
    const body = await readBody<{ file_id?: string; template_id?: string; name?: string; message?: string; provisioner?: string; storage_method?: string; user_variable_values?: VariableValue[] }>(req, {
      file_id: "string",
      template_id: "string",
      name: "string",
      message: "string",
      provisioner: "string",
      storage_method: "string",
      user_variable_values: "array",
    });
    if (body.provisioner !== "terraform" && body.provisioner !== "echo") throw validationFailed("provisioner", `Validation failed for tag "oneof" with value: "${body.provisioner ?? ""}"`);
    if (body.storage_method !== "file") throw validationFailed("storage_method", `Validation failed for tag "oneof" with value: "${body.storage_method ?? ""}"`);
    const file = body.file_id ? state.files.get(body.file_id.toLowerCase()) : undefined;
    if (!file) throw new HttpError(404, { message: "File not found." });
    let templateId: string | null = null;
    if (body.template_id) {
      const t = templateParam(ctx, body.template_id, user);
      if (t.organizationId !== org.id) throw notFound();
      templateId = t.id;
    }
    if (templateId && body.name) {
      for (const v of state.versions.values()) {
        if (v.templateId === templateId && v.name === body.name) throw new HttpError(409, { message: `A template version with name "${body.name}" already exists for this template.`, validations: [{ field: "name", detail: "Name is already taken" }] });
      }
    }
    const definition = definitionFromTar(file.data, templateId ? state.templates.get(templateId)!.name : "");
    const version = state.addTemplateVersion({ organizationId: org.id, templateId, definition, createdById: user.id, fileId: file.id, name: body.name, message: body.message });
    variables.set(version, variablesFromTar(file.data, body.user_variable_values ?? []));
    return [201, entities.templateVersion(version)];
  });

  ctx.addRoute("GET", "/api/v2/templateversions/{templateversion}/variables", ({ params, user }) => {
    requireOwner(ctx, user);
    const v = versionParam(ctx, params.templateversion!, user);
    if (v.job.status !== "succeeded") throw new HttpError(400, { message: "Template version job hasn't completed!" });
    // coderd never returns a sensitive value.
    return [200, (variables.get(v) ?? []).map((x) => (x.sensitive ? { ...x, value: "*redacted*" } : x))];
  });

  ctx.addRoute("POST", "/api/v2/organizations/{organization}/templates", async ({ req, params, user }) => {
    requireOwner(ctx, user);
    const org = orgParam(ctx, params.organization!, user);
    const body = await readBody<{ name?: string; template_version_id?: string; display_name?: string; description?: string; icon?: string }>(req, {
      name: "string",
      template_version_id: "string",
      display_name: "string",
      description: "string",
      icon: "string",
    });
    const name = checkName("name", "template_name", body.name);
    if (state.templateByName(org.id, name)) {
      throw new HttpError(409, { message: `Template with name "${name}" already exists.`, validations: [{ field: "name", detail: "This value is already in use and should be unique." }] });
    }
    const version = body.template_version_id ? state.versions.get(body.template_version_id.toLowerCase()) : undefined;
    if (!version || version.organizationId !== org.id) throw new HttpError(404, { message: `Template version "${body.template_version_id ?? ""}" not found.` });
    if (version.job.status !== "succeeded") throw new HttpError(400, { message: "Template version import job has not succeeded.", detail: `job status is "${version.job.status}"` });
    if (version.templateId) throw new HttpError(409, { message: `Template version ${version.id} is already part of a template.` });
    version.definition = { ...version.definition, name };
    const tpl = state.addTemplate({ organizationId: org.id, versionId: version.id, name, displayName: body.display_name, description: body.description, icon: body.icon, createdById: user.id });
    return [201, entities.template(tpl)];
  });

  ctx.addRoute("GET", "/api/v2/templates/{template}/versions", ({ params, user }) => {
    const tpl = templateParam(ctx, params.template!, user);
    const versions = [...state.versions.values()].filter((v) => v.templateId === tpl.id).sort((a, b) => cmp(a.createdAt, b.createdAt));
    return [200, versions.map((v) => entities.templateVersion(v))];
  });

  ctx.addRoute("PATCH", "/api/v2/templates/{template}/versions", async ({ req, params, user }) => {
    requireOwner(ctx, user);
    const tpl = templateParam(ctx, params.template!, user);
    const body = await readBody<{ id?: string }>(req, { id: "string" });
    const version = body.id ? state.versions.get(body.id.toLowerCase()) : undefined;
    if (!version) throw new HttpError(404, { message: "Template version not found." });
    if (version.templateId !== tpl.id) throw new HttpError(400, { message: "The provided template version doesn't belong to the specified template." });
    if (version.job.status !== "succeeded") throw new HttpError(400, { message: "The provided template version has not finished importing." });
    tpl.activeVersionId = version.id;
    tpl.updatedAt = new Date().toISOString();
    return [200, { message: "Updated the active template version!" }];
  });
}
