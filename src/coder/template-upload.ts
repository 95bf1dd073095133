// Makes the deployment's workspace template match a bundled variant: compare files, upload, import, then create or promote.
import { sleep, timeoutSignal } from "../util/abort.ts";
import type { CallOptions, CoderClient } from "./client.ts";
import { CoderApiError } from "./errors.ts";
import { buildTar, diffTemplateFiles, parseTar, readTemplateDir, type TemplateFiles } from "./template-tar.ts";
import { ACTIVE_JOB_STATUSES, type Template, type TemplateVersion, type TemplateVersionVariable, type VariableValue } from "./types.ts";

export interface EnsureTemplateOptions extends CallOptions {
  /** Organization the template lives in. */
  organizationId: string;
  /** Template name, e.g. "kubernetes-minimal". */
  name: string;
  /** The bundled variant directory (template/variants/<name>). */
  dir: string;
  /** Compare only; report what would be done. */
  dryRun?: boolean;
  /** Longest poll interval while the import job runs (milliseconds, default 1000; the first polls come sooner). */
  pollIntervalMs?: number;
  /** Deadline for the import job (milliseconds, default 10 minutes). */
  importTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface EnsureTemplateResult {
  action: "unchanged" | "created" | "updated" | "would-create" | "would-update";
  templateId?: string;
  /** The active version after the call (the new one when created or updated). */
  versionId?: string;
  /** Paths that differ between the bundled variant and the active version (all paths when the template is new). */
  changed: string[];
}

const isNotFound = (err: unknown) => err instanceof CoderApiError && err.status === 404;

/** Raw-body request (tar upload and download) through the client: its headers, deadline and retries. */
function rawRequest(client: CoderClient, method: string, path: string, o: CallOptions & { body?: Buffer }): Promise<Response> {
  return client.fetchRaw(method, path, { signal: o.signal, body: o.body ? new Uint8Array(o.body) : undefined, contentType: o.body ? "application/x-tar" : undefined });
}

/** The files of a template's active version, or undefined when its archive is not stored (built-in or deleted). */
async function activeFiles(client: CoderClient, version: TemplateVersion, o: CallOptions): Promise<TemplateFiles | undefined> {
  try {
    const res = await rawRequest(client, "GET", `/api/v2/files/${encodeURIComponent(version.job.file_id)}`, o);
    return parseTar(Buffer.from(await res.arrayBuffer()));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Names of the Terraform variables the files declare (`variable "name" {`). */
function declaredVariables(files: TemplateFiles): Set<string> {
  const names = new Set<string>();
  for (const [path, data] of files) {
    if (!path.endsWith(".tf")) continue;
    for (const m of data.toString("utf8").matchAll(/^\s*variable\s+"([^"]+)"/gm)) names.add(m[1]!);
  }
  return names;
}

/**
 * The values an operator set on the active version (e.g. `--variable namespace=…`) for variables the bundle still
 * declares, so a new version does not silently fall back to the defaults. Sensitive values come back redacted and
 * cannot be kept; they are named in the log. A deployment that does not list variables (404) keeps none.
 */
async function keptVariables(client: CoderClient, active: TemplateVersion, want: TemplateFiles, opts: EnsureTemplateOptions): Promise<VariableValue[]> {
  let vars: TemplateVersionVariable[];
  try {
    vars = await client.request<TemplateVersionVariable[]>("GET", `/api/v2/templateversions/${encodeURIComponent(active.id)}/variables`, { signal: opts.signal });
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  const declared = declaredVariables(want);
  const kept: VariableValue[] = [];
  for (const v of vars) {
    if (!declared.has(v.name) || v.value === v.default_value) continue;
    if (v.sensitive) opts.log?.(`template ${opts.name}: sensitive variable ${v.name} cannot be carried over to the new version; set it again with coder templates push --variable`);
    else kept.push({ name: v.name, value: v.value });
  }
  return kept;
}

/** Polls the version until its import job ends; throws with the job's error when it did not succeed. */
async function waitForImport(client: CoderClient, versionId: string, opts: EnsureTemplateOptions): Promise<TemplateVersion> {
  const deadline = timeoutSignal(opts.importTimeoutMs ?? 600_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  const maxDelay = opts.pollIntervalMs ?? 1000;
  // Short imports (a small template on a warm provisioner) are seen at once; long ones are polled at maxDelay.
  for (let delay = Math.min(100, maxDelay); ; delay = Math.min(delay * 2, maxDelay)) {
    const version = await client.templateVersion(versionId, { signal });
    if (!ACTIVE_JOB_STATUSES.has(version.job.status)) {
      if (version.job.status === "succeeded") return version;
      throw new Error(`import template "${opts.name}" version ${versionId}: job ${version.job.status}${version.job.error ? `: ${version.job.error}` : ""}`);
    }
    await sleep(delay, signal);
  }
}

/**
 * Makes template `name` match the files in `dir`. Unchanged when the active version has the same files;
 * otherwise uploads the directory as a tar, waits for the import, and creates the template or promotes
 * the new version. With `dryRun`, only compares.
 */
export async function ensureWorkspaceTemplate(client: CoderClient, opts: EnsureTemplateOptions): Promise<EnsureTemplateResult> {
  const o: CallOptions = { signal: opts.signal };
  const log = opts.log ?? (() => {});
  const want = await readTemplateDir(opts.dir);
  if (want.size === 0) throw new Error(`template directory ${opts.dir} has no files`);

  let template: Template | undefined;
  try {
    template = await client.request<Template>("GET", `/api/v2/organizations/${encodeURIComponent(opts.organizationId)}/templates/${encodeURIComponent(opts.name)}`, o);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }

  let changed: string[];
  let active: TemplateVersion | undefined;
  if (template) {
    active = await client.templateVersion(template.active_version_id, o);
    const have = await activeFiles(client, active, o);
    changed = have ? diffTemplateFiles(want, have) : [...want.keys()].sort();
    if (changed.length === 0) {
      log(`template ${opts.name}: up to date (version ${active.id})`);
      return { action: "unchanged", templateId: template.id, versionId: active.id, changed };
    }
  } else changed = [...want.keys()].sort();

  if (opts.dryRun) {
    log(`DRYRUN: template ${opts.name}: would ${template ? "push a new version" : "create it"} (${changed.join(", ")})`);
    return { action: template ? "would-update" : "would-create", templateId: template?.id, versionId: template?.active_version_id, changed };
  }

  // The new version keeps the active one's provisioner tags (as `coder templates push` does, so the same
  // provisioners pick up its import) and the variable values set on it.
  const variables = active ? await keptVariables(client, active, want, opts) : [];
  if (variables.length > 0) log(`template ${opts.name}: keeping the active version's values of ${variables.map((v) => v.name).join(", ")}`);
  const upload = await rawRequest(client, "POST", "/api/v2/files", { ...o, body: buildTar(want) });
  const { hash: fileId } = (await upload.json()) as { hash: string };
  const created = await client.request<TemplateVersion>("POST", `/api/v2/organizations/${encodeURIComponent(opts.organizationId)}/templateversions`, {
    ...o,
    body: {
      storage_method: "file",
      provisioner: "terraform",
      file_id: fileId,
      ...(template ? { template_id: template.id } : {}),
      ...(active ? { tags: active.job.tags } : {}),
      ...(variables.length > 0 ? { user_variable_values: variables } : {}),
      message: `scaletest-runner: bundled ${opts.name} (${changed.length} changed: ${changed.join(", ")})`,
    },
  });
  log(`template ${opts.name}: importing version ${created.id}`);
  const version = await waitForImport(client, created.id, opts);

  if (template) {
    await client.request("PATCH", `/api/v2/templates/${encodeURIComponent(template.id)}/versions`, { ...o, body: { id: version.id } });
    log(`template ${opts.name}: promoted version ${version.id}`);
    return { action: "updated", templateId: template.id, versionId: version.id, changed };
  }
  const tpl = await client.request<Template>("POST", `/api/v2/organizations/${encodeURIComponent(opts.organizationId)}/templates`, {
    ...o,
    body: { name: opts.name, template_version_id: version.id },
  });
  log(`template ${opts.name}: created with version ${version.id}`);
  return { action: "created", templateId: tpl.id, versionId: version.id, changed };
}
