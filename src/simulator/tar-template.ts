// Reads an uploaded template tar (ustar) and derives what the simulator provisions: coder_agent names and their coder_app blocks.
import { parseTar, type TemplateFiles } from "../coder/template-tar.ts";
import type { AgentDefinition, AppDefinition, TemplateDefinition } from "./templates.ts";

/** The archive's files; one that is not a readable tar (a zip upload, a truncated archive) has none to provision. */
function archiveFiles(buf: Buffer): TemplateFiles {
  try {
    return parseTar(buf);
  } catch {
    return new Map();
  }
}

/** The body of each `resource "<type>" "<name>" { ... }` block (brace-matched, strings respected). */
function blocks(hcl: string, type: string): Array<{ name: string; body: string }> {
  const out: Array<{ name: string; body: string }> = [];
  const re = new RegExp(`resource\\s+"${type}"\\s+"([^"]+)"\\s*\\{`, "g");
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

const attr = (body: string, key: string): string | undefined => new RegExp(`^\\s*${key}\\s*=\\s*(?:"([^"]*)"|([\\w.]+))`, "m").exec(body)?.slice(1).find((v) => v !== undefined);

/** Builds a template definition from the archive's .tf files (no agents when there are none). */
export function definitionFromTar(buf: Buffer, name: string): TemplateDefinition {
  const hcl = [...archiveFiles(buf)].filter(([n]) => n.endsWith(".tf")).map(([, b]) => b.toString("utf8")).join("\n");
  const agents: AgentDefinition[] = blocks(hcl, "coder_agent").map((b) => ({ name: b.name, apps: [] }));
  for (const app of blocks(hcl, "coder_app")) {
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
