// Reads the runner template (template/main.tf) with a real HCL parser into the parts the checks and docs need.
import { readFile } from "node:fs/promises";
import { parse } from "@cdktf/hcl2json";

/** One `data "coder_parameter"` block. Defaults are the string Coder would send (lists as compact JSON). */
export interface TemplateParameter {
  label: string;
  name: string;
  displayName?: string;
  description: string;
  type: string;
  default?: string;
  mutable: boolean;
  ephemeral: boolean;
  order?: number;
  icon?: string;
  min?: number;
  max?: number;
  regex?: string;
  regexError?: string;
  options: { name: string; value: string; description?: string }[];
}

/** One env var main.tf sets on the agent or the runner container. */
export interface TemplateEnvVar {
  name: string;
  where: "agent" | "container";
  /** The raw HCL expression as hcl2json renders it ("${...}" interpolations). */
  expression: string;
  /** Set when the value is exactly one parameter's value, optionally followed by a unit suffix. */
  parameter?: { label: string; suffix: string };
  /** Set when the value is a plain literal. */
  literal?: string;
  /** Set when the value comes from the downward API (value_from field_ref): the pod field, e.g. "metadata.name". */
  fieldPath?: string;
}

/** One RBAC rule as main.tf writes it. */
export interface TemplateRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** The Kubernetes side of the shard coordinator in main.tf: identity, rights, the shard secret, what the PodMonitor selects. */
export interface TemplateKube {
  /** kubernetes_role (and _v1) blocks by label. */
  roles: { label: string; namespace: string; rules: TemplateRule[] }[];
  roleBindings: { label: string; namespace: string; roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace?: string }[] }[];
  /** Cluster-wide RBAC resources ("kubernetes_cluster_role.x"): there must be none. */
  clusterWide: string[];
  serviceAccounts: { label: string; name: string; namespace: string }[];
  secrets: { label: string; name: string; namespace: string; keys: string[] }[];
  /** The runner pod: its service account expression, its container's name, its labels expression. */
  pod: { serviceAccount: string; container: string; labels: string };
  /** The PodMonitor's `app.kubernetes.io/instance` selector values. */
  podMonitorInstances: string[];
  /** Every local value as hcl2json renders it. */
  locals: Record<string, unknown>;
}

/** What the checks and the docs generator read from main.tf. */
export interface TemplateModel {
  parameters: TemplateParameter[];
  env: TemplateEnvVar[];
  /** local.metrics_ports: container port name → port. */
  metricsPorts: Record<string, number>;
  kube: TemplateKube;
}

type Json = Record<string, unknown>;
const first = (x: unknown): Json => (Array.isArray(x) ? (x[0] as Json) : ((x as Json) ?? {}));

/** Turns a default as hcl2json renders it into the string Coder sends ("${jsonencode([...])}" → compact JSON). */
function defaultText(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string") return String(v);
  const m = /^\$\{jsonencode\(([\s\S]*)\)\}$/.exec(v);
  return m ? JSON.stringify(JSON.parse(m[1]!)) : v;
}

const PARAM_REF = /^\$\{data\.coder_parameter\.([a-z0-9_]+)\.value\}([a-z]*)$/;

function envVar(name: string, expression: unknown, where: TemplateEnvVar["where"]): TemplateEnvVar {
  const expr = typeof expression === "string" ? expression : String(expression);
  const ref = PARAM_REF.exec(expr);
  return {
    name,
    where,
    expression: expr,
    ...(ref ? { parameter: { label: ref[1]!, suffix: ref[2]! } } : {}),
    ...(!expr.includes("${") ? { literal: expr } : {}),
  };
}

/** Every object under `node` that looks like a container env entry ({ name, value | value_from }). */
function containerEnv(node: unknown, out: TemplateEnvVar[]): void {
  if (Array.isArray(node)) {
    for (const n of node) containerEnv(n, out);
    return;
  }
  if (!node || typeof node !== "object") return;
  const o = node as Json;
  if (typeof o.name === "string" && ("value" in o || "value_from" in o)) {
    const e = envVar(o.name, o.value ?? "${value_from}", "container");
    const fieldPath = first(first(first(o.value_from).field_ref)).field_path;
    if (typeof fieldPath === "string") e.fieldPath = fieldPath;
    out.push(e);
    return;
  }
  for (const v of Object.values(o)) containerEnv(v, out);
}

/** Builds the model from hcl2json output (pure, so tests can feed mutated copies). */
export function templateModelFromJson(json: Json): TemplateModel {
  const params = ((json.data as Json | undefined)?.coder_parameter ?? {}) as Json;
  const parameters: TemplateParameter[] = Object.entries(params).map(([label, blocks]) => {
    const b = first(blocks);
    const v = first(b.validation);
    const p: TemplateParameter = {
      label,
      name: String(b.name),
      description: String(b.description ?? ""),
      type: String(b.type ?? "string"),
      mutable: b.mutable === true,
      ephemeral: b.ephemeral === true,
      options: ((b.option as Json[] | undefined) ?? []).map((o) => ({
        name: String(o.name),
        value: String(o.value),
        ...(o.description !== undefined ? { description: String(o.description) } : {}),
      })),
    };
    const d = defaultText(b.default);
    if (d !== undefined) p.default = d;
    if (b.display_name !== undefined) p.displayName = String(b.display_name);
    if (typeof b.order === "number") p.order = b.order;
    if (b.icon !== undefined) p.icon = String(b.icon);
    if (typeof v.min === "number") p.min = v.min;
    if (typeof v.max === "number") p.max = v.max;
    if (typeof v.regex === "string") p.regex = v.regex;
    if (typeof v.error === "string") p.regexError = v.error;
    return p;
  });

  const resources = (json.resource ?? {}) as Json;
  const agent = first((resources.coder_agent as Json | undefined)?.main);
  const env: TemplateEnvVar[] = Object.entries((agent.env as Json | undefined) ?? {}).map(([k, v]) => envVar(k, v, "agent"));
  const pod = first((resources.kubernetes_pod as Json | undefined)?.main);
  containerEnv(first(pod.spec).container, env);

  const metricsPorts: Record<string, number> = {};
  const locals: Record<string, unknown> = {};
  for (const block of (json.locals as Json[] | undefined) ?? []) {
    Object.assign(locals, block);
    const ports = block.metrics_ports as Json | undefined;
    if (ports) for (const [k, v] of Object.entries(ports)) metricsPorts[k] = Number(v);
  }
  return { parameters, env, metricsPorts, kube: kubeFromJson(resources, pod, locals) };
}

const strings = (x: unknown): string[] => (Array.isArray(x) ? x.map(String) : []);
/** Each labelled block of the resource types (a type and its `_v1` twin are the same Kubernetes object). */
const blocksOf = (resources: Json, type: string): [string, Json][] =>
  [type, `${type}_v1`].flatMap((t) => Object.entries((resources[t] as Json | undefined) ?? {}).map(([label, b]): [string, Json] => [label, first(b)]));

function kubeFromJson(resources: Json, pod: Json, locals: Record<string, unknown>): TemplateKube {
  const meta = (b: Json) => first(b.metadata);
  const roles = blocksOf(resources, "kubernetes_role").map(([label, b]) => ({
    label,
    namespace: String(meta(b).namespace ?? ""),
    rules: ((b.rule as Json[] | undefined) ?? []).map((r) => ({ apiGroups: strings(r.api_groups), resources: strings(r.resources), verbs: strings(r.verbs) })),
  }));
  const roleBindings = blocksOf(resources, "kubernetes_role_binding").map(([label, b]) => ({
    label,
    namespace: String(meta(b).namespace ?? ""),
    roleRef: { kind: String(first(b.role_ref).kind ?? ""), name: String(first(b.role_ref).name ?? "") },
    subjects: ((b.subject as Json[] | undefined) ?? []).map((x) => ({ kind: String(x.kind), name: String(x.name), ...(x.namespace !== undefined ? { namespace: String(x.namespace) } : {}) })),
  }));
  const clusterWide = Object.keys(resources)
    .filter((t) => /^kubernetes_cluster_role(_binding)?(_v1)?$/.test(t))
    .flatMap((t) => Object.keys(resources[t] as Json).map((l) => `${t}.${l}`));
  const serviceAccounts = blocksOf(resources, "kubernetes_service_account").map(([label, b]) => ({ label, name: String(meta(b).name ?? ""), namespace: String(meta(b).namespace ?? "") }));
  const secrets = blocksOf(resources, "kubernetes_secret").map(([label, b]) => ({
    label,
    name: String(meta(b).name ?? ""),
    namespace: String(meta(b).namespace ?? ""),
    keys: Object.keys({ ...((b.data as Json | undefined) ?? {}), ...((b.string_data as Json | undefined) ?? {}) }),
  }));
  const spec = first(pod.spec);
  const container = first(spec.container);
  const monitor = first(first((resources.kubernetes_manifest as Json | undefined)?.pod_monitor).manifest);
  const selector = (first(monitor.spec).selector ?? {}) as Json;
  const exprs = (selector.matchExpressions as Json[] | undefined) ?? [];
  const podMonitorInstances = [
    ...exprs.filter((e) => e.key === "app.kubernetes.io/instance" && e.operator === "In").flatMap((e) => strings(e.values)),
    ...(typeof (selector.matchLabels as Json | undefined)?.["app.kubernetes.io/instance"] === "string" ? [String((selector.matchLabels as Json)["app.kubernetes.io/instance"])] : []),
  ];
  return {
    roles,
    roleBindings,
    clusterWide,
    serviceAccounts,
    secrets,
    pod: {
      serviceAccount: String(spec.service_account_name ?? ""),
      container: String(container.name ?? ""),
      labels: String(meta(pod).labels ?? ""),
    },
    podMonitorInstances,
    locals,
  };
}

/** Parses HCL text (one .tf file) with @cdktf/hcl2json. */
export async function parseHcl(fileName: string, text: string): Promise<Json> {
  return (await parse(fileName, text)) as Json;
}

/** Parses main.tf text into the model. */
export async function parseTemplate(text: string, fileName = "main.tf"): Promise<TemplateModel> {
  return templateModelFromJson(await parseHcl(fileName, text));
}

/** Reads and parses a main.tf file. */
export async function readTemplate(path: string): Promise<TemplateModel> {
  return parseTemplate(await readFile(path, "utf8"), path);
}
