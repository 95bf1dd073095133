// Checks that template/main.tf and the runner's env table agree: no orphan parameter or env var, same names, types, ranges, defaults.
// Dev-time only (tests and scripts/gen-template-docs.ts): it needs the HCL model, never loaded by the runner.
import { ConfigError, type ConfigProblem } from "../../src/errors.ts";
import { loadRunnerConfig, RUNNER_SETTINGS } from "../../src/run/config.ts";
import { checkSetting, formatSetting, UNIT_MS, type ParamUnit, type Setting } from "../../src/config/settings.ts";
import type { TemplateModel, TemplateParameter } from "./model.ts";
import { SECRET_KEYS } from "../../src/k8s/job.ts";
import { COORDINATOR_RBAC } from "../../src/k8s/kube.ts";
import { PORT_NAMES, RUNNER_CONTAINER } from "../../src/run/sharded.ts";

/** Env vars main.tf sets for something other than the runner (the agent's own token). */
export const NON_RUNNER_ENV = new Set(["CODER_AGENT_TOKEN"]);

/** The pod field each downward-API setting must read. */
const DOWNWARD_FIELDS: Record<string, string> = { POD_NAME: "metadata.name", POD_NAMESPACE: "metadata.namespace" };

/** The coder_parameter type each setting kind must have. */
const PARAM_TYPE: Record<Setting["kind"], string> = {
  int: "number",
  bool: "bool",
  enum: "string",
  string: "string",
  duration: "number",
  list: "list(string)",
};

const at = (what: string) => `template/main.tf ${what}`;

/** Every env var set in main.tf is read by the runner, and every setting the runner reads is set by main.tf, the same way. */
export function checkEnvMapping(model: TemplateModel, settings: ReadonlyArray<[string, Setting]> = RUNNER_SETTINGS): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const byEnv = new Map(settings.map(([, s]) => [s.env, s]));
  const seen = new Map<string, number>();
  for (const e of model.env) seen.set(e.name, (seen.get(e.name) ?? 0) + 1);
  for (const [name, n] of seen) {
    if (n > 1) problems.push({ path: at(`env ${name}`), message: `is set ${n} times` });
  }

  for (const e of model.env) {
    if (NON_RUNNER_ENV.has(e.name)) continue;
    if (!byEnv.has(e.name)) {
      problems.push({ path: at(`env ${e.name}`), message: "is set but src/config/runner-env.ts does not read it (orphan env var)" });
    }
  }

  for (const [, s] of settings) {
    const e = model.env.find((x) => x.name === s.env);
    if (s.source === "local") {
      if (e) problems.push({ path: at(`env ${s.env}`), message: "is read from the local environment only; main.tf must not set it" });
      continue;
    }
    if (!e) {
      problems.push({ path: at(`env ${s.env}`), message: `is read by the runner (${s.source}) but main.tf does not set it` });
      continue;
    }
    const wantWhere = s.source === "secret" || s.source === "pod" ? "container" : "agent";
    if (e.where !== wantWhere) problems.push({ path: at(`env ${s.env}`), message: `must be set on the ${wantWhere} env, found on the ${e.where}` });
    if (s.source === "parameter" && s.parameter) {
      const want = s.parameter.unit ?? "";
      if (e.parameter?.label !== s.parameter.label || e.parameter.suffix !== want) {
        problems.push({
          path: at(`env ${s.env}`),
          message: `must be "\${data.coder_parameter.${s.parameter.label}.value}${want}", got ${JSON.stringify(e.expression)}`,
        });
      }
    } else if (s.source === "fixed" && e.literal !== formatSetting(s, s.default)) {
      problems.push({ path: at(`env ${s.env}`), message: `must be the literal "${formatSetting(s, s.default)}", got ${JSON.stringify(e.expression)}` });
    } else if (s.source === "secret" && !e.expression.includes("value_from")) {
      problems.push({ path: at(`env ${s.env}`), message: "must come from a Kubernetes secret (value_from), never an inline value" });
    } else if (s.source === "pod" && e.fieldPath !== DOWNWARD_FIELDS[s.env]) {
      problems.push({ path: at(`env ${s.env}`), message: `must come from the downward API (value_from field_ref field_path "${DOWNWARD_FIELDS[s.env]}"), got ${e.fieldPath ? `"${e.fieldPath}"` : "no field_ref"}` });
    }
  }

  const referenced = new Set(model.env.map((e) => e.parameter?.label).filter(Boolean));
  for (const p of model.parameters) {
    if (!referenced.has(p.label)) {
      problems.push({ path: at(`data.coder_parameter.${p.label}`), message: "reaches no env var the runner reads (orphan parameter)" });
    }
  }
  return problems;
}

/** Each parameter's name, type, range and options agree with its setting in the config table. */
export function checkParameterRanges(model: TemplateModel, settings: ReadonlyArray<[string, Setting]> = RUNNER_SETTINGS): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [, s] of settings) {
    if (!s.parameter) continue;
    const p = model.parameters.find((x) => x.label === s.parameter!.label);
    if (!p) continue; // reported by checkEnvMapping
    const path = at(`data.coder_parameter.${p.label}`);
    const bad = (message: string) => problems.push({ path, message });
    if (p.name !== s.parameter.name) bad(`name must be "${s.parameter.name}" (as the config table's messages say), got "${p.name}"`);
    if (p.type !== PARAM_TYPE[s.kind]) bad(`type must be "${PARAM_TYPE[s.kind]}" for ${s.env}, got "${p.type}"`);
    if (s.kind === "int") {
      if (p.min !== s.min || p.max !== s.max) bad(`validation must be min ${s.min} max ${s.max} like ${s.env}, got min ${p.min} max ${p.max}`);
    } else if (s.kind === "duration") {
      const unit: ParamUnit = s.parameter.unit ?? "ms";
      const [lo, hi] = [s.minMs / UNIT_MS[unit], s.maxMs / UNIT_MS[unit]];
      if (p.min !== lo || p.max !== hi) bad(`validation must be min ${lo} max ${hi} (${unit}) like ${s.env}, got min ${p.min} max ${p.max}`);
    } else if (s.kind === "enum") {
      const values = p.options.map((o) => o.value);
      if (values.join("\n") !== s.options.join("\n")) bad(`options must be ${JSON.stringify(s.options)} like ${s.env}, got ${JSON.stringify(values)}`);
    }
    if (s.kind === "string") {
      const disagree = stringProbes(s).filter((v) => (p.regex === undefined || goRegexToJs(p.regex).test(v)) !== (checkSetting(s, v).length === 0));
      if (disagree.length > 0) bad(`validation regex must accept exactly what ${s.env} accepts; they disagree on ${disagree.map((v) => JSON.stringify(v.length > 20 ? `${v.slice(0, 8)}…(${v.length} chars)` : v)).join(", ")}`);
    }
    if (p.default !== undefined) {
      const tableDefault = s.kind === "duration" ? String(s.default / UNIT_MS[s.parameter.unit ?? "ms"]) : formatSetting(s, s.default);
      if (p.default !== tableDefault) bad(`default must be ${JSON.stringify(tableDefault)} like ${s.env}'s, got ${JSON.stringify(p.default)}`);
    }
  }
  return problems;
}

/** The Coder provider's own rules (from the coder terraform provider's docs): checked here because terraform validate needs network. */
export function checkParameterRules(model: TemplateModel): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const names = new Map<string, number>();
  for (const p of model.parameters) names.set(p.name, (names.get(p.name) ?? 0) + 1);
  for (const p of model.parameters) {
    const bad = (message: string) => problems.push({ path: at(`data.coder_parameter.${p.label}`), message });
    if ((names.get(p.name) ?? 0) > 1) bad(`name "${p.name}" is used by more than one parameter`);
    if (p.ephemeral && (!p.mutable || p.default === undefined)) bad("ephemeral parameters must be mutable and have a default");
    if ((p.min !== undefined || p.max !== undefined) && p.type !== "number") bad("validation min/max only apply to number parameters");
    if (p.regex !== undefined && (p.type !== "string" || !p.regexError)) bad("validation regex needs a string parameter and an error message");
    if (p.options.length > 64) bad("at most 64 options");
    if (p.options.length > 0 && p.default && !p.options.some((o) => o.value === p.default)) bad(`default "${p.default}" is not one of the options`);
    if (p.type === "number" && p.default !== undefined && !/^-?\d+$/.test(p.default)) bad(`default must be an integer, got "${p.default}"`);
    if (p.type === "number" && p.default !== undefined && ((p.min !== undefined && Number(p.default) < p.min) || (p.max !== undefined && Number(p.default) > p.max))) {
      bad(`default ${p.default} is outside min ${p.min} max ${p.max}`);
    }
    if (p.regex !== undefined && p.default !== undefined && !goRegexToJs(p.regex).test(p.default)) bad(`default "${p.default}" does not match its own regex`);
    if (p.order === undefined) bad("needs an order so the form lists parameters predictably");
  }
  return problems;
}

/** Values on which a string parameter's regex and its setting's pattern/length rules must give the same answer. */
function stringProbes(s: Setting & { kind: "string" }): string[] {
  const base = ["", s.default, "a", "a1", "UPPER", "has space", "-lead", "trail-", "a.b", "a_b", "https://grafana.example.com", "http://x:3000/a/b", "ftp://x"];
  const long = (n: number) => "a".repeat(n);
  return [...base, long(s.maxLength), long(s.maxLength + 1), `${s.default}${long(Math.max(0, s.maxLength - s.default.length + 1))}`];
}

/** RE2 inline flags ((?s)) are not JS syntax; translate the few we use. */
function goRegexToJs(re: string): RegExp {
  let flags = "";
  const body = re.replace(/\(\?([a-z]+)\)/g, (_, f: string) => {
    flags += f;
    return "";
  });
  return new RegExp(body, flags.includes("s") ? "s" : "");
}

/** The agent env a fresh workspace gets when every parameter keeps its default (workspace-derived vars left unset). */
export function envFromDefaults(model: TemplateModel): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of model.env) {
    if (e.parameter) {
      const p = model.parameters.find((x) => x.label === e.parameter!.label);
      if (p?.default !== undefined) env[e.name] = `${p.default}${e.parameter.suffix}`;
    } else if (e.literal !== undefined) env[e.name] = e.literal;
  }
  return env;
}

/** Every parameter default, mapped the way main.tf maps it, passes loadRunnerConfig + validation. */
export function checkDefaultsValidate(model: TemplateModel): ConfigProblem[] {
  try {
    loadRunnerConfig(envFromDefaults(model), { now: new Date(0), cwd: "/" });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => ({ path: at(`defaults → ${p.path}`), message: p.message }));
    throw err;
  }
}

/** Container ports main.tf declares (and the PodMonitor scrapes) are exactly the metrics ports the runner listens on. */
export function checkMetricsPorts(model: TemplateModel, settings: ReadonlyArray<[string, Setting]> = RUNNER_SETTINGS): ConfigProblem[] {
  const want = settings.filter(([, s]) => s.source === "fixed" && s.env.endsWith("_METRICS_PORT")).map(([, s]) => Number(s.default));
  const got = Object.values(model.metricsPorts);
  const norm = (xs: number[]) => [...xs].sort((a, b) => a - b).join(",");
  if (norm(want) === norm(got)) return [];
  return [{ path: at("local.metrics_ports"), message: `must declare the runner's metrics ports ${norm(want)}, got ${norm(got) || "none"}` }];
}
/**
 * The shard coordinator's Kubernetes side: nothing cluster-wide; one namespaced Role granting exactly what the
 * coordinator calls, bound to the runner pod's own service account; the shard secret the runner is told about holds a
 * token; the PodMonitor selects the shard pods' instance label; the pod's container and ports are the ones the Job copies.
 */
export function checkShardKube(model: TemplateModel): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const k = model.kube;
  const bad = (what: string, message: string) => problems.push({ path: at(what), message });
  for (const c of k.clusterWide) bad(c, "grants rights cluster-wide; the runner needs only its namespace (a Role and RoleBinding)");
  const want = new Set(COORDINATOR_RBAC.flatMap((r) => r.verbs.map((v) => `${r.apiGroup}|${r.resource}|${v}`)));
  const wantText = COORDINATOR_RBAC.map((r) => `${r.apiGroup || "core"}/${r.resource}: ${r.verbs.join(",")}`).join("; ");
  if (k.roles.length !== 1) bad("kubernetes_role", `must be exactly one Role (the coordinator's), got ${k.roles.length}`);
  const role = k.roles[0];
  if (role) {
    if (role.namespace !== "${local.namespace}") bad(`kubernetes_role.${role.label}`, `must be in local.namespace, got ${JSON.stringify(role.namespace)}`);
    const got = new Set(role.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}|${res}|${v}`)))));
    const extra = [...got].filter((x) => !want.has(x));
    const missing = [...want].filter((x) => !got.has(x));
    const show = (xs: string[]) => xs.map((x) => x.split("|")).map(([g, r, v]) => `${g || "core"}/${r} ${v}`).join(", ");
    if (extra.length > 0) bad(`kubernetes_role.${role.label}`, `grants more than the coordinator uses (${wantText}): ${show(extra)}`);
    if (missing.length > 0) bad(`kubernetes_role.${role.label}`, `lacks what the coordinator uses (${wantText}): ${show(missing)}`);
  }
  const sa = k.serviceAccounts[0];
  if (!sa) bad("kubernetes_service_account", "must declare the runner pod's service account");
  else {
    const saRef = `\${kubernetes_service_account.${sa.label}.metadata[0].name}`;
    if (k.pod.serviceAccount !== saRef) bad("kubernetes_pod.main service_account_name", `must be ${saRef} (the account the Role is bound to), got ${JSON.stringify(k.pod.serviceAccount)}`);
    const bound = k.roleBindings.some(
      (b) =>
        b.namespace === "${local.namespace}" &&
        b.roleRef.kind === "Role" &&
        role !== undefined &&
        b.roleRef.name === `\${kubernetes_role.${role.label}.metadata[0].name}` &&
        b.subjects.some((s) => s.kind === "ServiceAccount" && s.name === saRef && s.namespace === "${local.namespace}"),
    );
    if (!bound) bad("kubernetes_role_binding", `must bind the Role to ${saRef} in local.namespace`);
  }
  const secretEnv = model.env.find((e) => e.name === "SCALETEST_SHARD_SECRET");
  const secret = k.secrets.find((x) => x.name === secretEnv?.expression);
  if (!secret) bad("env SCALETEST_SHARD_SECRET", `must name a kubernetes_secret main.tf creates, got ${JSON.stringify(secretEnv?.expression)}`);
  else if (!secret.keys.includes(SECRET_KEYS.token)) bad(`kubernetes_secret.${secret.label}`, `must hold the key "${SECRET_KEYS.token}" (the shard pods' CODER_SESSION_TOKEN)`);
  if (k.locals.shard_instance !== "${local.pod_instance}-shard") bad("local.shard_instance", `must be "\${local.pod_instance}-shard", the instance label the coordinator gives shard pods`);
  if (!k.podMonitorInstances.includes("${local.shard_instance}") || !k.podMonitorInstances.includes("${local.pod_instance}")) {
    bad("kubernetes_manifest.pod_monitor", `must select app.kubernetes.io/instance in (local.pod_instance, local.shard_instance), got ${JSON.stringify(k.podMonitorInstances)}`);
  }
  if (k.pod.container !== RUNNER_CONTAINER) bad("kubernetes_pod.main container", `must be named "${RUNNER_CONTAINER}" (the container the shard Job copies), got "${k.pod.container}"`);
  for (const name of Object.values(PORT_NAMES)) if (!(name in model.metricsPorts)) bad("local.metrics_ports", `must name the port "${name}" (shard pods serve their metrics on it)`);
  return problems;
}

/** All template checks. */
export function checkTemplate(model: TemplateModel): ConfigProblem[] {
  return [
    ...checkEnvMapping(model),
    ...checkParameterRanges(model),
    ...checkParameterRules(model),
    ...checkMetricsPorts(model),
    ...checkShardKube(model),
    ...checkDefaultsValidate(model),
  ];
}
