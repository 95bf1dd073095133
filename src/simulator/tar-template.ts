// Reads an uploaded template tar (ustar) and derives what the simulator provisions: coder_agent names, their coder_app blocks, and the variables.
import { parseTar, type TemplateFiles } from "../coder/template-tar.ts";
import type { TemplateVersionVariable, VariableValue } from "../coder/types.ts";
import type { AgentDefinition, AppDefinition, TemplateDefinition } from "./templates.ts";

/** The archive's files; one that is not a readable tar (a zip upload, a truncated archive) has none to provision. */
function archiveFiles(buf: Buffer): TemplateFiles {
  try {
    return parseTar(buf);
  } catch {
    return new Map();
  }
}

/** The body of each `<header> "<name>" { ... }` block (brace-matched, strings respected); `header` is a regex source. */
function blocks(hcl: string, header: string): Array<{ name: string; body: string }> {
  const out: Array<{ name: string; body: string }> = [];
  const re = new RegExp(`${header}\\s+"([^"]+)"\\s*\\{`, "g");
  for (let m = re.exec(hcl); m; m = re.exec(hcl)) {
    let depth = 1;
    let i = re.lastIndex;
    let inString = false;
    for (; i < hcl.length && depth > 0; i++) {
      const c = hcl[i];
      if (inString) {
        if (c === "\\") i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === "{") depth++;
      else if (c === "}") depth--;
    }
    out.push({ name: m[1]!, body: hcl.slice(re.lastIndex, i - 1) });
  }
  return out;
}

const resources = (hcl: string, type: string) => blocks(hcl, `resource\\s+"${type}"`);

const attr = (body: string, key: string): string | undefined => new RegExp(`^\\s*${key}\\s*=\\s*(?:"([^"]*)"|([\\w.]+))`, "m").exec(body)?.slice(1).find((v) => v !== undefined);

/** The archive's .tf files, joined. */
const terraform = (buf: Buffer) =>
  [...archiveFiles(buf)]
    .filter(([n]) => n.endsWith(".tf"))
    .map(([, b]) => b.toString("utf8"))
    .join("\n");

/** The archive's Terraform variables with the values a version is imported with: the given one, else the default. */
export function variablesFromTar(buf: Buffer, values: readonly VariableValue[]): TemplateVersionVariable[] {
  return blocks(terraform(buf), "\\bvariable").map((b) => {
    const def = attr(b.body, "default");
    const type = attr(b.body, "type");
    return {
      name: b.name,
      description: attr(b.body, "description") ?? "",
      type: type === "number" || type === "bool" ? type : "string",
      value: values.find((v) => v.name === b.name)?.value ?? def ?? "",
      default_value: def ?? "",
      required: def === undefined,
      sensitive: attr(b.body, "sensitive") === "true",
    };
  });
}

/** Builds a template definition from the archive's .tf files (no agents when there are none). */
export function definitionFromTar(buf: Buffer, name: string): TemplateDefinition {
  const hcl = terraform(buf);
  const agents: AgentDefinition[] = resources(hcl, "coder_agent").map((b) => ({ name: b.name, apps: [] }));
  for (const app of resources(hcl, "coder_app")) {
    const agentRef = /coder_agent\.([\w-]+)\.id/.exec(app.body)?.[1];
    const agent = agents.find((a) => a.name === agentRef) ?? agents[0];
    if (!agent) continue;
    const share = attr(app.body, "share");
    const def: AppDefinition = {
      slug: attr(app.body, "slug") ?? app.name,
      displayName: attr(app.body, "display_name") ?? app.name,
      url: attr(app.body, "url") ?? "",
      subdomain: attr(app.body, "subdomain") === "true",
      sharingLevel: share === "authenticated" || share === "public" ? share : "owner",
    };
    agent.apps.push(def);
  }
  const holder = /resource\s+"(kubernetes_\w+|docker_container|null_resource)"\s+"([^"]+)"/.exec(hcl);
  return { name, displayName: "", description: "", icon: "", resourceType: holder?.[1] ?? "null_resource", resourceName: holder?.[2] ?? "main", agents, parameters: [] };
}
