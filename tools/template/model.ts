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

/** What the checks and the docs generator read from main.tf. */
export interface TemplateModel {
  parameters: TemplateParameter[];
  env: TemplateEnvVar[];
  /** local.metrics_ports: container port name → port. */
  metricsPorts: Record<string, number>;
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
  for (const block of (json.locals as Json[] | undefined) ?? []) {
    const ports = block.metrics_ports as Json | undefined;
    if (ports) for (const [k, v] of Object.entries(ports)) metricsPorts[k] = Number(v);
  }
  return { parameters, env, metricsPorts };
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
