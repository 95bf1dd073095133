// Built-in template definitions: the five scaletest workspace variants; kubernetes-minimal carries agent `m` with the wsec/wsra/wsdi apps.
import type { TemplateVersionParameter } from "../coder/types.ts";

/** One coder_app on an agent. */
export interface AppDefinition {
  slug: string;
  displayName: string;
  /** The URL inside the workspace the app proxies to (informational in the simulator). */
  url: string;
  subdomain: boolean;
  sharingLevel: "owner" | "authenticated" | "public";
}

/** One coder_agent. */
export interface AgentDefinition {
  name: string;
  apps: AppDefinition[];
}

/** What a template version provisions: one resource holding the agents, plus its rich parameters. */
export interface TemplateDefinition {
  name: string;
  displayName: string;
  description: string;
  icon: string;
  /** Terraform resource type and name of the resource that holds the agents. */
  resourceType: string;
  resourceName: string;
  agents: AgentDefinition[];
  parameters: TemplateVersionParameter[];
}

function param(p: Partial<TemplateVersionParameter> & Pick<TemplateVersionParameter, "name" | "type" | "default_value">): TemplateVersionParameter {
  return {
    display_name: p.name,
    description: "",
    description_plaintext: "",
    mutable: true,
    icon: "",
    options: [],
    required: false,
    ephemeral: false,
    ...p,
  };
}

const wsApp = (slug: string, displayName: string, port: number): AppDefinition => ({
  slug,
  displayName,
  url: `http://localhost:${port}`,
  subdomain: true,
  sharingLevel: "authenticated",
});

const podVariant = (name: string, displayName: string, description: string): TemplateDefinition => ({
  name,
  displayName,
  description,
  icon: "/icon/k8s.png",
  resourceType: "kubernetes_pod",
  resourceName: "main",
  agents: [{ name: "main", apps: [] }],
  parameters: [],
});

/** The templates every simulator starts with; the first is `simulator.template`. */
export const BUILTIN_TEMPLATES: readonly TemplateDefinition[] = [
  {
    name: "kubernetes-minimal",
    displayName: "Kubernetes (minimal)",
    description: "Sized to fit approx. 32 per t2d-standard-8 instance.",
    icon: "/icon/k8s.png",
    resourceType: "kubernetes_deployment",
    resourceName: "main",
    agents: [{ name: "m", apps: [wsApp("wsec", "WebSocket Echo", 1234), wsApp("wsra", "WebSocket Random", 1235), wsApp("wsdi", "WebSocket Discard", 1236)] }],
    parameters: [
      param({
        name: "cpu",
        display_name: "CPU",
        description: "Number of CPU cores.",
        description_plaintext: "Number of CPU cores.",
        type: "number",
        default_value: "1",
        validation_min: 1,
        validation_max: 8,
        validation_error: "CPU must be between {min} and {max}.",
      }),
      param({
        name: "image",
        display_name: "Image",
        description: "Container image variant.",
        description_plaintext: "Container image variant.",
        type: "string",
        default_value: "ubuntu",
        options: [
          { name: "Ubuntu", description: "", value: "ubuntu", icon: "/icon/ubuntu.svg" },
          { name: "Debian", description: "", value: "debian", icon: "/icon/debian.svg" },
        ],
      }),
      param({
        name: "dotfiles_uri",
        display_name: "Dotfiles URI",
        description: "Optional dotfiles repository.",
        description_plaintext: "Optional dotfiles repository.",
        type: "string",
        default_value: "",
        validation_regex: "^(https?://.*)?$",
        validation_error: "must be an http(s) URL",
      }),
    ],
  },
  podVariant("kubernetes-small", "Kubernetes (small)", "Small-sized workspace with no persistent storage."),
  podVariant("kubernetes-medium", "Kubernetes (medium)", "Medium-sized workspace with no persistent storage."),
  podVariant("kubernetes-medium-greedy", "Kubernetes (medium, greedy)", "Medium-sized workspace with no persistent storage. Greedy agent variant."),
  podVariant("kubernetes-large", "Kubernetes (large)", "Large-sized workspace with no persistent storage."),
];

/** Checks one rich parameter value the way the terraform provider does; returns the error or null. */
export function validateParameterValue(p: TemplateVersionParameter, value: string): string | null {
  if (p.options.length > 0 && !p.options.some((o) => o.value === value)) {
    return `parameter value "${value}" must be one of: ${p.options.map((o) => o.value).join(", ")}`;
  }
  if (p.type === "number") {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) return `value "${value}" is not a number`;
    const min = p.validation_min;
    const max = p.validation_max;
    if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
      return (p.validation_error || `value must be between {min} and {max}`).replace("{min}", String(min ?? "")).replace("{max}", String(max ?? "")).replace("{value}", value);
    }
  }
  if (p.type === "bool" && value !== "true" && value !== "false") return `boolean value can be either "true" or "false"`;
  if (p.validation_regex && !new RegExp(p.validation_regex).test(value)) {
    return p.validation_error || `value "${value}" does not match ${p.validation_regex}`;
  }
  return null;
}
