// A stand-in Kubernetes API server on 127.0.0.1 port 0, for the coordinator's tests: the few routes it uses (jobs,
// pods, pods/log), every request body validated against the Kubernetes 1.33 OpenAPI schema (kubernetes-models 4.5.1),
// errors answered as Status objects the way the real API server answers them. It "runs" an Indexed Job as the job
// controller and kubelet would: one local process per index with the pod's command, args and env (JOB_COMPLETION_INDEX
// set, secretKeyRef and fieldRef resolved), pod phases and logs, retries per backoffLimitPerIndex and the pod failure
// policy, Job status (active/succeeded/failed, completedIndexes, failedIndexes, conditions), and kills on delete.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import type { V1Job, V1Pod, V1PodFailurePolicyRule, V1Status, V1StatusCause } from "@kubernetes/client-node";
import { DeleteOptions } from "@kubernetes-models/apimachinery/apis/meta/v1/DeleteOptions";
import { Job } from "kubernetes-models/batch/v1/Job";
import { Pod } from "kubernetes-models/v1/Pod";

/** The Kubernetes version whose OpenAPI schema validates every body (kubernetes-models 4.5.1 carries 1.33's). */
export const KUBE_SCHEMA_VERSION = "1.33";

export interface KubeStandInOptions {
  /** The namespace the kubeconfig's context names (default "scaletest"). */
  namespace?: string;
  /** Secrets by name: key → plain value. */
  secrets?: Record<string, Record<string, string>>;
  /** Pods that exist from the start (the runner's own pod); validated like a created one. */
  pods?: V1Pod[];
  /** Directories searched first for a container's command (where the test puts `scaletest`). */
  path?: readonly string[];
  /** Env every container gets from the "node" besides its own (test knobs); PATH and HOME are set anyway. */
  nodeEnv?: Record<string, string>;
  /** Pods for which this says true are never scheduled (stay Pending, Unschedulable). */
  unschedulable?: (index: number, attempt: number) => boolean;
  /** How long a killed container gets between SIGTERM and SIGKILL (default: the pod's grace period, at most 5 s). */
  killGraceMs?: number;
}

/** One request the stand-in answered. */
export interface KubeRequest {
  method: string;
  path: string;
  status: number;
}

type Condition = NonNullable<NonNullable<V1Job["status"]>["conditions"]>[number];

interface JobState {
  job: V1Job;
  /** Failures counted against backoffLimitPerIndex, per index. */
  failures: number[];
  attempts: number[];
  succeeded: Set<number>;
  failed: Set<number>;
  deadline?: NodeJS.Timeout;
  finished: boolean;
}

interface PodState {
  pod: V1Pod;
  job: string;
  index: number;
  log: string;
  proc?: ChildProcess;
  exited?: Promise<void>;
}

/** A Status object as the API server writes it. */
function status(code: number, reason: string, message: string, details?: V1Status["details"]): V1Status {
  return { apiVersion: "v1", kind: "Status", metadata: {}, status: "Failure", message, reason, code, ...(details ? { details } : {}) };
}

/** "0-2,4": Kubernetes' interval format for completedIndexes / failedIndexes. */
export function formatIndexes(set: Iterable<number>): string {
  const xs = [...set].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    out.push(j === i ? String(xs[i]) : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return out.join(",");
}

/** Label selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k`, comma-separated (what kubectl and the coordinator send). */
function matchesSelector(labels: Record<string, string> | undefined, selector: string | null): boolean {
  if (!selector) return true;
  const l = labels ?? {};
  return selector.split(",").every((term) => {
    const t = term.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([^!=]+)!=(.*)$/.exec(t))) return l[m[1]!.trim()] !== m[2]!.trim();
    if ((m = /^([^!=]+)==?(.*)$/.exec(t))) return l[m[1]!.trim()] === m[2]!.trim();
    if (t.startsWith("!")) return !(t.slice(1) in l);
    return t in l;
  });
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * Schema validation with the pinned OpenAPI schema, plus the API server's strict decoding (fieldValidation=Strict):
 * a field the schema does not know. The validator reads every property it knows by name and enumerates only the
 * objects that are maps (labels, limits), so a property it never read is one the schema does not have.
 */
function schemaCheck(body: unknown, run: (proxied: unknown) => void): { errors: { path: string; keyword: string; message: string }[]; unknown: string[] } {
  const seen = new Map<object, { keys: Set<string>; all: boolean; path: string }>();
  const wrap = (o: unknown, path: string): unknown => {
    if (!o || typeof o !== "object") return o;
    const rec = { keys: new Set<string>(), all: false, path };
    seen.set(o, rec);
    return new Proxy(o, {
      get(t, k, r) {
        const v = Reflect.get(t, k, r) as unknown;
        if (typeof k !== "string") return v;
        rec.keys.add(k);
        return v && typeof v === "object" ? wrap(v, Array.isArray(t) ? `${path}[${k}]` : path ? `${path}.${k}` : k) : v;
      },
      has(t, k) {
        if (typeof k === "string") rec.keys.add(k);
        return Reflect.has(t, k);
      },
      ownKeys(t) {
        rec.all = true;
        return Reflect.ownKeys(t);
      },
    });
  };
  try {
    run(wrap(body, ""));
  } catch (err) {
    const errors = ((err as { errors?: { instancePath: string; keyword: string; message?: string; params?: Record<string, unknown> }[] }).errors ?? []).map((e) => ({
      path: e.instancePath.replace(/^\//, "").replace(/\/(\d+)(?=\/|$)/g, "[$1]").replace(/\//g, "."),
      keyword: e.keyword,
      message:
        e.keyword === "enum"
          ? `${JSON.stringify(valueAt(body, e.instancePath))}: supported values: ${(e.params?.allowedValues as string[]).map((v) => JSON.stringify(v)).join(", ")}`
          : (e.message ?? e.keyword),
    }));
    if (errors.length === 0) throw err;
    return { errors, unknown: [] };
  }
  const unknown: string[] = [];
  for (const [o, rec] of seen) {
    if (Array.isArray(o) || rec.all) continue;
    for (const k of Object.keys(o)) if (!rec.keys.has(k)) unknown.push(rec.path ? `${rec.path}.${k}` : k);
  }
  return { errors: [], unknown };
}

/** The value at a JSON pointer ("/spec/completions"). */
function valueAt(body: unknown, pointer: string): unknown {
  let v = body;
  for (const part of pointer.split("/").slice(1)) v = (v as Record<string, unknown> | undefined)?.[part];
  return v;
}

/** What the API server answers for a body that does not fit the schema (decode errors 400, value errors 422). */
function schemaStatus(kind: string, group: string, name: string, body: unknown, validator: (b: unknown) => void, strict: boolean): { status?: V1Status; warnings: string[] } {
  const { errors, unknown } = schemaCheck(body, validator);
  const decode = errors.filter((e) => e.keyword === "type" || e.keyword === "format");
  if (decode.length > 0) {
    const e = decode[0]!;
    return { status: status(400, "BadRequest", `${kind} in version "v1" cannot be handled as a ${kind}: json: cannot unmarshal into Go struct field ${e.path} (${e.message})`), warnings: [] };
  }
  if (errors.length > 0) {
    const causes: V1StatusCause[] = errors.map((e) => ({
      reason: e.keyword === "required" ? "FieldValueRequired" : e.keyword === "enum" ? "FieldValueNotSupported" : "FieldValueInvalid",
      field: e.path,
      message: `${e.keyword === "required" ? "Required value" : e.keyword === "enum" ? "Unsupported value" : "Invalid value"}: ${e.message}`,
    }));
    return { status: invalid(kind, group, name, causes), warnings: [] };
  }
  if (unknown.length > 0) {
    const texts = unknown.map((f) => `unknown field "${f}"`);
    if (strict) return { status: status(400, "BadRequest", `strict decoding error: ${texts.join(", ")}`), warnings: [] };
    return { warnings: texts };
  }
  return { warnings: [] };
}

/** 422 Invalid, worded as the API server words it. */
function invalid(kind: string, group: string, name: string, causes: V1StatusCause[]): V1Status {
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const what = group ? `${kind}.${group}` : kind;
  return status(422, "Invalid", `${what} "${name}" is invalid: ${parts.length === 1 ? parts[0] : `[${parts.join(", ")}]`}`, {
    name,
    group: group || undefined,
    kind,
    causes,
  });
}

/** The job controller's and API server's own validation of a Job beyond the schema (the rules the coordinator meets). */
function jobProblems(job: V1Job): V1StatusCause[] {
  const out: V1StatusCause[] = [];
  const bad = (field: string, message: string, reason = "FieldValueInvalid") => out.push({ field, message, reason });
  const name = job.metadata?.name ?? "";
  if (!name) bad("metadata.name", "Required value: name or generateName is required", "FieldValueRequired");
  else if (!DNS_LABEL.test(name) || name.length > 63) bad("metadata.name", `Invalid value: "${name}": a lowercase RFC 1123 label of at most 63 characters`);
  for (const [where, labels] of [
    ["metadata.labels", job.metadata?.labels],
    ["spec.template.metadata.labels", job.spec?.template.metadata?.labels],
  ] as const) {
    for (const [k, v] of Object.entries(labels ?? {})) {
      if (!LABEL_KEY.test(k) || k.split("/").pop()!.length > 63) bad(where, `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.'`);
      if (!LABEL_VALUE.test(v) || v.length > 63) bad(`${where}`, `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', at most 63`);
    }
  }
  const s = job.spec;
  if (!s) return out;
  const pod = s.template.spec;
  const restart = pod?.restartPolicy;
  if (restart !== "Never" && restart !== "OnFailure") bad("spec.template.spec.restartPolicy", `Required value: valid values: "OnFailure", "Never"`, "FieldValueRequired");
  const indexed = s.completionMode === "Indexed";
  if (indexed && s.completions == null) bad("spec.completions", "Required value: when completion mode is Indexed", "FieldValueRequired");
  if (indexed && (s.completions ?? 0) > 100_000) bad("spec.completions", "Invalid value: must be less than or equal to 100000 when completion mode is Indexed");
  for (const f of ["parallelism", "completions", "backoffLimit", "backoffLimitPerIndex", "maxFailedIndexes"] as const) {
    if (s[f] != null && s[f]! < 0) bad(`spec.${f}`, `Invalid value: ${s[f]}: must be greater than or equal to 0`);
  }
  if (s.activeDeadlineSeconds != null && s.activeDeadlineSeconds <= 0) bad("spec.activeDeadlineSeconds", "Invalid value: must be greater than 0");
  if (s.backoffLimitPerIndex != null && !indexed) bad("spec.backoffLimitPerIndex", "Forbidden: requires indexed completion mode", "FieldValueForbidden");
  if (s.maxFailedIndexes != null) {
    if (s.backoffLimitPerIndex == null) bad("spec.maxFailedIndexes", "Required value: when maxFailedIndexes is specified", "FieldValueRequired");
    else if (s.completions != null && s.maxFailedIndexes > s.completions) bad("spec.maxFailedIndexes", "Invalid value: must be less than or equal to completions");
  }
  const containers = pod?.containers ?? [];
  if (containers.length === 0) bad("spec.template.spec.containers", "Required value", "FieldValueRequired");
  const names = new Set<string>();
  containers.forEach((c, i) => {
    if (!DNS_LABEL.test(c.name) || c.name.length > 63) bad(`spec.template.spec.containers[${i}].name`, `Invalid value: "${c.name}": a lowercase RFC 1123 label`);
    if (names.has(c.name)) bad(`spec.template.spec.containers[${i}].name`, `Duplicate value: "${c.name}"`, "FieldValueDuplicate");
    names.add(c.name);
    if (!c.image) bad(`spec.template.spec.containers[${i}].image`, "Required value", "FieldValueRequired");
    (c.env ?? []).forEach((e, j) => {
      const at = `spec.template.spec.containers[${i}].env[${j}]`;
      if (e.value !== undefined && e.valueFrom) bad(`${at}.valueFrom`, "Invalid value: may not be specified when `value` is not empty");
      const ref = e.valueFrom?.secretKeyRef;
      if (ref && !ref.name) bad(`${at}.valueFrom.secretKeyRef.name`, "Required value", "FieldValueRequired");
      if (ref && !ref.key) bad(`${at}.valueFrom.secretKeyRef.key`, "Required value", "FieldValueRequired");
    });
    (c.ports ?? []).forEach((p, j) => {
      if (p.name && (p.name.length > 15 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p.name))) bad(`spec.template.spec.containers[${i}].ports[${j}].name`, `Invalid value: "${p.name}": must be no more than 15 characters`);
    });
  });
  const pfp = s.podFailurePolicy;
  if (pfp) {
    if (restart !== "Never") bad("spec.podFailurePolicy", `Invalid value: only "Never" is supported when podFailurePolicy is specified`);
    if (s.podReplacementPolicy && s.podReplacementPolicy !== "Failed") bad("spec.podReplacementPolicy", `Unsupported value: "${s.podReplacementPolicy}": must be "Failed" when podFailurePolicy is used`, "FieldValueNotSupported");
    pfp.rules.forEach((r, i) => {
      const at = `spec.podFailurePolicy.rules[${i}]`;
      if (r.action === "FailIndex" && s.backoffLimitPerIndex == null) bad(`${at}.action`, "Forbidden: set backoffLimitPerIndex to use FailIndex", "FieldValueForbidden");
      if (!!r.onExitCodes === !!r.onPodConditions?.length) bad(at, "Invalid value: specify one of onExitCodes and onPodConditions, but not both");
      if (r.onExitCodes) {
        if (r.onExitCodes.operator === "In" && r.onExitCodes.values.includes(0)) bad(`${at}.onExitCodes.values`, "Invalid value: 0: must not be 0 for the In operator");
        if (r.onExitCodes.containerName && !names.has(r.onExitCodes.containerName)) bad(`${at}.onExitCodes.containerName`, `Invalid value: "${r.onExitCodes.containerName}": must be one of the container or initContainer names in the pod template`);
      }
    });
  }
  return out;
}

/**
 * What the stand-in answers for a Job body before it would create it: undefined when it is accepted, else the Status
 * (schema of Kubernetes 1.33, strict decoding unless `strict` is false, the API server's own rules).
 */
export function jobRefusal(body: unknown, strict = true): V1Status | undefined {
  const name = (body as V1Job | undefined)?.metadata?.name ?? "";
  const { status: st } = schemaStatus("Job", "batch", name, body, (b) => Job.prototype.validate.call(b), strict);
  if (st) return st;
  const causes = jobProblems(body as V1Job);
  return causes.length > 0 ? invalid("Job", "batch", name, causes) : undefined;
}

/** The stand-in server. */
export class KubeStandIn {
  readonly namespace: string;
  readonly token = randomBytes(16).toString("hex");
  readonly requests: KubeRequest[] = [];
  /** Every Job as it was created (bodies the API accepted), deleted ones too. */
  readonly created: V1Job[] = [];
  /** Every pod a Job ever had (deleted ones too), for assertions. */
  readonly history: { pod: string; job: string; index: number; phase: string; exitCode?: number; pid?: number }[] = [];
  kubeconfig = "";
  url = "";
  private readonly jobs = new Map<string, JobState>();
  private readonly pods = new Map<string, PodState>();
  private readonly secrets: Record<string, Record<string, string>>;
  private readonly events = new EventEmitter();
  private readonly dir = mkdtempSync(join(tmpdir(), "kube-standin-"));
  private readonly server = createServer((req, res) => void this.handle(req, res));
  private rv = 1;
  private closed = false;

  constructor(private readonly o: KubeStandInOptions = {}) {
    this.namespace = o.namespace ?? "scaletest";
    this.secrets = o.secrets ?? {};
    this.events.setMaxListeners(0);
    for (const p of o.pods ?? []) {
      const { status: st } = schemaStatus("Pod", "", p.metadata?.name ?? "", p, (b) => Pod.prototype.validate.call(b), true);
      if (st) throw new Error(`seeded pod does not fit the schema: ${st.message}`);
      const ns = p.metadata?.namespace ?? this.namespace;
      this.pods.set(`${ns}/${p.metadata!.name}`, { pod: { ...p, metadata: { ...p.metadata, namespace: ns } }, job: "", index: -1, log: "" });
    }
  }

  /** Starts listening on 127.0.0.1 port 0 and writes a kubeconfig for it. */
  static async start(o: KubeStandInOptions = {}): Promise<KubeStandIn> {
    const s = new KubeStandIn(o);
    await new Promise<void>((resolve) => s.server.listen(0, "127.0.0.1", resolve));
    s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
    s.kubeconfig = join(s.dir, "kubeconfig");
    const config = {
      apiVersion: "v1",
      kind: "Config",
      // Plain HTTP on loopback: the client allows it only with TLS verification off, which is what this says.
      clusters: [{ name: "stand-in", cluster: { server: s.url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "stand-in", user: { token: s.token } }],
      contexts: [{ name: "stand-in", context: { cluster: "stand-in", user: "stand-in", namespace: s.namespace } }],
      "current-context": "stand-in",
    };
    writeFileSync(s.kubeconfig, JSON.stringify(config), { mode: 0o600 });
    return s;
  }

  /** The Job named `name`, as the API would return it. */
  job(name: string, ns = this.namespace): V1Job | undefined {
    return this.jobs.get(`${ns}/${name}`)?.job;
  }

  jobNames(): string[] {
    return [...this.jobs.values()].map((j) => j.job.metadata!.name!);
  }

  /** The pods that exist now (a deleted Job's pods are gone). */
  podList(): V1Pod[] {
    return [...this.pods.values()].map((p) => p.pod);
  }

  /** Container processes still running. */
  running(): number {
    let n = 0;
    for (const p of this.pods.values()) if (p.proc && p.proc.exitCode === null && p.proc.signalCode === null) n++;
    return n;
  }

  /** The log of a pod (also after it is gone, through history). */
  logOf(pod: string, ns = this.namespace): string | undefined {
    return this.pods.get(`${ns}/${pod}`)?.log;
  }

  /** Resolves once `pred` holds, re-checked on every change of state (no polling); rejects after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs = 30_000, what = "condition"): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onChange = () => {
        if (!pred()) return;
        clearTimeout(timer);
        this.events.off("change", onChange);
        resolve();
      };
      const timer = setTimeout(() => {
        this.events.off("change", onChange);
        reject(new Error(`stand-in: timed out waiting for ${what}`));
      }, timeoutMs);
      this.events.on("change", onChange);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.jobs.values()) clearTimeout(j.deadline);
    await Promise.all([...this.pods.values()].map((p) => this.kill(p, 0)));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private changed(): void {
    this.events.emit("change");
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? "/", this.url);
    const send = (code: number, body: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({ method: req.method ?? "", path: u.pathname + u.search, status: code });
      const text = typeof body === "string" ? body : JSON.stringify(body);
      res.writeHead(code, { "content-type": typeof body === "string" ? "text/plain" : "application/json", ...headers });
      res.end(text);
    };
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.headers.authorization !== `Bearer ${this.token}`) return send(401, status(401, "Unauthorized", "Unauthorized"));
    let body: unknown;
    if (chunks.length > 0) {
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch (err) {
        return send(400, status(400, "BadRequest", `the body of the request was in an unknown format: ${(err as Error).message}`));
      }
    }
    const m = /^\/(?:apis\/batch\/v1|api\/v1)\/namespaces\/([^/]+)\/(jobs|pods)(?:\/([^/]+))?(?:\/(log))?$/.exec(u.pathname);
    const isBatch = u.pathname.startsWith("/apis/batch/v1/");
    if (!m || (m[2] === "jobs") !== isBatch) return send(404, status(404, "NotFound", "the server could not find the requested resource"));
    const [, ns, resource, name, sub] = m as unknown as [string, string, string, string | undefined, string | undefined];
    const method = req.method ?? "GET";
    if (resource === "jobs") {
      if (sub) return send(404, status(404, "NotFound", "the server could not find the requested resource"));
      if (method === "POST" && !name) return this.createJob(ns, body, u.searchParams, send);
      if (method === "GET" && !name) return send(200, this.list("JobList", "batch/v1", [...this.jobs.values()].filter((j) => j.job.metadata!.namespace === ns && matchesSelector(j.job.metadata!.labels, u.searchParams.get("labelSelector"))).map((j) => j.job)));
      if (method === "GET" && name) {
        const j = this.jobs.get(`${ns}/${name}`);
        return j ? send(200, j.job) : send(404, status(404, "NotFound", `jobs.batch "${name}" not found`, { name, group: "batch", kind: "jobs" }));
      }
      if (method === "DELETE" && name) return this.deleteJob(ns, name, body, u.searchParams, send);
      return send(405, status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"));
    }
    if (method !== "GET") return send(405, status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"));
    if (!name) return send(200, this.list("PodList", "v1", [...this.pods.values()].filter((p) => p.pod.metadata!.namespace === ns && matchesSelector(p.pod.metadata!.labels, u.searchParams.get("labelSelector"))).map((p) => p.pod)));
    const p = this.pods.get(`${ns}/${name}`);
    if (!p) return send(404, status(404, "NotFound", `pods "${name}" not found`, { name, kind: "pods" }));
    if (!sub) return send(200, p.pod);
    const container = u.searchParams.get("container") ?? p.pod.spec!.containers[0]!.name;
    if (!p.pod.spec!.containers.some((c) => c.name === container)) return send(400, status(400, "BadRequest", `container ${container} is not valid for pod ${name}`));
    if (p.pod.status?.phase === "Pending") return send(400, status(400, "BadRequest", `container "${container}" in pod "${name}" is waiting to start: ${p.pod.status.containerStatuses?.[0]?.state?.waiting?.reason ?? "ContainerCreating"}`));
    return send(200, p.log);
  }

  private list(kind: string, apiVersion: string, items: unknown[]) {
    return { apiVersion, kind, metadata: { resourceVersion: String(this.rv) }, items };
  }

  private createJob(ns: string, body: unknown, q: URLSearchParams, send: (code: number, body: unknown, headers?: Record<string, string>) => void): void {
    const strict = q.get("fieldValidation") === "Strict";
    const name = (body as V1Job | undefined)?.metadata?.name ?? "";
    const { status: st, warnings } = schemaStatus("Job", "batch", name, body, (b) => Job.prototype.validate.call(b), strict);
    if (st) return send(st.code!, st);
    const job = structuredClone(body) as V1Job;
    if (job.apiVersion !== "batch/v1" || job.kind !== "Job") return send(400, status(400, "BadRequest", `the API version in the data (${job.apiVersion}) does not match the expected API version (batch/v1)`));
    if (job.metadata?.namespace && job.metadata.namespace !== ns) return send(400, status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request"));
    const causes = jobProblems(job);
    if (causes.length > 0) return send(422, invalid("Job", "batch", name, causes));
    if (this.jobs.has(`${ns}/${name}`)) return send(409, status(409, "AlreadyExists", `jobs.batch "${name}" already exists`, { name, group: "batch", kind: "jobs" }));
    const uid = randomBytes(16).toString("hex").replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");
    const labels = { ...job.spec!.template.metadata?.labels, "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name, "controller-uid": uid, "job-name": name };
    job.metadata = { ...job.metadata, namespace: ns, uid, resourceVersion: String(++this.rv), creationTimestamp: new Date(), generation: 1 };
    job.spec = {
      ...job.spec!,
      backoffLimit: job.spec!.backoffLimit ?? (job.spec!.backoffLimitPerIndex != null ? 2147483647 : 6),
      parallelism: job.spec!.parallelism ?? 1,
      completions: job.spec!.completions ?? 1,
      suspend: job.spec!.suspend ?? false,
      manualSelector: false,
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": uid } },
      template: { ...job.spec!.template, metadata: { ...job.spec!.template.metadata, labels } },
    };
    job.status = { active: 0, ready: 0, terminating: 0, uncountedTerminatedPods: {} };
    const n = job.spec.completions!;
    const state: JobState = { job, failures: Array(n).fill(0), attempts: Array(n).fill(0), succeeded: new Set(), failed: new Set(), finished: false };
    this.jobs.set(`${ns}/${name}`, state);
    this.created.push(structuredClone(body) as V1Job);
    job.status.startTime = new Date();
    if (job.spec.activeDeadlineSeconds) {
      state.deadline = setTimeout(() => this.finish(state, "Failed", "DeadlineExceeded", "Job was active longer than specified deadline"), job.spec.activeDeadlineSeconds * 1000);
    }
    const parallel = Math.min(job.spec.parallelism!, n);
    for (let i = 0; i < parallel; i++) this.startPod(state, i);
    this.updateStatus(state);
    send(201, job, warnings.length > 0 ? { warning: warnings.map((w) => `299 - "${w}"`).join(", ") } : {});
  }

  private deleteJob(ns: string, name: string, body: unknown, q: URLSearchParams, send: (code: number, body: unknown) => void): void {
    if (body !== undefined) {
      const { status: st } = schemaStatus("DeleteOptions", "", name, body, (b) => DeleteOptions.prototype.validate.call(b), true);
      if (st) return send(st.code!, st);
    }
    const j = this.jobs.get(`${ns}/${name}`);
    if (!j) return send(404, status(404, "NotFound", `jobs.batch "${name}" not found`, { name, group: "batch", kind: "jobs" }));
    const policy = q.get("propagationPolicy") ?? (body as { propagationPolicy?: string } | undefined)?.propagationPolicy ?? "Orphan";
    if (!["Orphan", "Background", "Foreground"].includes(policy)) return send(400, status(400, "BadRequest", `propagationPolicy: Unsupported value: "${policy}"`));
    clearTimeout(j.deadline);
    j.finished = true;
    this.jobs.delete(`${ns}/${name}`);
    // batch/v1 Jobs orphan their pods unless told otherwise (kubectl says Background): the processes keep running then.
    if (policy !== "Orphan") {
      for (const [key, p] of this.pods) {
        if (p.job !== `${ns}/${name}`) continue;
        void this.kill(p, p.pod.spec?.terminationGracePeriodSeconds ?? 30).then(() => {
          this.pods.delete(key);
          this.changed();
        });
      }
    }
    this.changed();
    send(200, { apiVersion: "v1", kind: "Status", metadata: {}, status: "Success", details: { name, group: "batch", kind: "jobs", uid: j.job.metadata!.uid } });
  }

  // ---- the job controller and the kubelet ----

  private startPod(state: JobState, index: number): void {
    const job = state.job;
    const ns = job.metadata!.namespace!;
    const attempt = state.attempts[index]!++;
    const podName = `${job.metadata!.name}-${index}-${randomBytes(3).toString("hex").slice(0, 5)}`;
    const tmpl = structuredClone(job.spec!.template);
    const pod: V1Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: podName,
        namespace: ns,
        uid: randomBytes(16).toString("hex"),
        creationTimestamp: new Date(),
        labels: { ...tmpl.metadata?.labels, "batch.kubernetes.io/job-completion-index": String(index) },
        annotations: { "batch.kubernetes.io/job-completion-index": String(index), ...(attempt > 0 ? { "batch.kubernetes.io/job-index-failure-count": String(state.failures[index]) } : {}) },
        ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: job.metadata!.name!, uid: job.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: { ...tmpl.spec!, hostname: `${job.metadata!.name}-${index}`, subdomain: undefined },
      status: { phase: "Pending", conditions: [], containerStatuses: [] },
    };
    const ps: PodState = { pod, job: `${ns}/${job.metadata!.name}`, index, log: "" };
    this.pods.set(`${ns}/${podName}`, ps);
    this.history.push({ pod: podName, job: job.metadata!.name!, index, phase: "Pending" });
    const c = pod.spec!.containers[0]!;
    const waiting = (reason: string, message?: string) => {
      pod.status = {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: reason === "Unschedulable" ? "False" : "True", reason: reason === "Unschedulable" ? "Unschedulable" : undefined, message }],
        containerStatuses: reason === "Unschedulable" ? [] : [{ name: c.name, image: c.image!, imageID: "", ready: false, restartCount: 0, started: false, state: { waiting: { reason, message } } }],
      };
    };
    if (this.o.unschedulable?.(index, attempt)) {
      waiting("Unschedulable", "0/1 nodes are available: 1 Insufficient cpu.");
      return;
    }
    const env: Record<string, string> = {
      PATH: [...(this.o.path ?? []), process.env.PATH ?? ""].join(delimiter),
      HOME: this.dir,
      ...this.o.nodeEnv,
      HOSTNAME: podName,
      JOB_COMPLETION_INDEX: String(index),
    };
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef) {
        const ref = e.valueFrom.secretKeyRef;
        const secret = this.secrets[ref.name!];
        const value = secret?.[ref.key];
        if (value === undefined) {
          if (ref.optional) continue;
          waiting("CreateContainerConfigError", secret ? `couldn't find key ${ref.key} in Secret ${ns}/${ref.name}` : `secret "${ref.name}" not found`);
          return;
        }
        env[e.name] = value;
      } else if (e.valueFrom?.fieldRef) {
        const path = e.valueFrom.fieldRef.fieldPath;
        env[e.name] = path === "metadata.name" ? podName : path === "metadata.namespace" ? ns : "";
      } else env[e.name] = e.value ?? "";
    }
    const [cmd, ...cmdArgs] = [...(c.command ?? []), ...(c.args ?? [])];
    const proc = spawn(cmd!, cmdArgs, { env, cwd: this.dir, stdio: ["ignore", "pipe", "pipe"] });
    ps.proc = proc;
    this.history.at(-1)!.pid = proc.pid;
    const onData = (b: Buffer) => {
      ps.log += b.toString("utf8");
      this.changed();
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    ps.exited = new Promise<void>((resolve) => {
      proc.once("error", (err) => {
        ps.log += `exec: ${err.message}\n`;
        this.containerExited(state, ps, 128, "StartError");
        resolve();
      });
      proc.once("close", (code, signal) => {
        const exitCode = code ?? 128 + (signal === "SIGKILL" ? 9 : signal === "SIGTERM" ? 15 : 1);
        this.containerExited(state, ps, exitCode, exitCode === 0 ? "Completed" : "Error");
        resolve();
      });
    });
    const startedAt = new Date();
    pod.status = {
      phase: "Running",
      startTime: startedAt,
      conditions: [
        { type: "PodScheduled", status: "True" },
        { type: "Ready", status: "True" },
      ],
      containerStatuses: [{ name: c.name, image: c.image!, imageID: "", ready: true, restartCount: 0, started: true, state: { running: { startedAt } } }],
    };
    this.history.at(-1)!.phase = "Running";
    this.updateStatus(state);
  }

  private containerExited(state: JobState, ps: PodState, exitCode: number, reason: string): void {
    const pod = ps.pod;
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
    const c = pod.spec!.containers[0]!;
    const phase = exitCode === 0 ? "Succeeded" : "Failed";
    pod.status = {
      ...pod.status,
      phase,
      conditions: [{ type: "Ready", status: "False", reason: "PodCompleted" }],
      containerStatuses: [{ name: c.name, image: c.image!, imageID: "", ready: false, restartCount: 0, started: false, state: { terminated: { exitCode, reason, finishedAt: new Date() } } }],
    };
    const h = this.history.find((x) => x.pod === pod.metadata!.name);
    if (h) Object.assign(h, { phase, exitCode });
    if (state.finished || this.closed || !this.jobs.has(ps.job)) return this.changed();
    const i = ps.index;
    if (phase === "Succeeded") state.succeeded.add(i);
    else {
      const rule = this.matchRule(state.job.spec!.podFailurePolicy?.rules ?? [], c.name, exitCode);
      const action = rule?.action ?? "Count";
      if (action === "FailJob") return this.finish(state, "Failed", "PodFailurePolicy", `Container ${c.name} for pod ${pod.metadata!.namespace}/${pod.metadata!.name} failed with exit code ${exitCode} matching FailJob rule`);
      if (action === "FailIndex") state.failed.add(i);
      else if (action === "Ignore") this.startPod(state, i);
      else {
        state.failures[i]!++;
        const limit = state.job.spec!.backoffLimitPerIndex;
        if (limit != null && state.failures[i]! > limit) state.failed.add(i);
        else if (limit == null && state.failures.reduce((a, b) => a + b, 0) > state.job.spec!.backoffLimit!) {
          return this.finish(state, "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
        } else this.startPod(state, i);
      }
      const max = state.job.spec!.maxFailedIndexes;
      if (max != null && state.failed.size > max) return this.finish(state, "Failed", "MaxFailedIndexesExceeded", "Job has exceeded the specified maximal number of failed indexes");
    }
    const n = state.job.spec!.completions!;
    if (state.succeeded.size + state.failed.size === n) {
      if (state.failed.size > 0) this.finish(state, "Failed", "FailedIndexes", "Job has failed indexes");
      else this.finish(state, "Complete", "CompletionsReached", "Reached expected number of succeeded pods");
    } else {
      // Indexes beyond parallelism start as earlier ones finish.
      const started = new Set([...this.pods.values()].filter((p) => p.job === ps.job).map((p) => p.index));
      const active = [...this.pods.values()].filter((p) => p.job === ps.job && (p.pod.status?.phase === "Running" || p.pod.status?.phase === "Pending")).length;
      for (let k = 0; k < n && active < state.job.spec!.parallelism!; k++) if (!started.has(k)) this.startPod(state, k);
      this.updateStatus(state);
    }
  }

  private matchRule(rules: V1PodFailurePolicyRule[], container: string, exitCode: number): V1PodFailurePolicyRule | undefined {
    return rules.find((r) => {
      const e = r.onExitCodes;
      if (!e || (e.containerName && e.containerName !== container)) return false;
      return e.operator === "In" ? e.values.includes(exitCode) : !e.values.includes(exitCode);
    });
  }

  private finish(state: JobState, type: "Complete" | "Failed", reason: string, message: string): void {
    if (state.finished) return;
    state.finished = true;
    clearTimeout(state.deadline);
    const now = new Date();
    // As the job controller since 1.31: the interim condition first, then the terminal one once pods are gone.
    const interim: Condition = { type: type === "Complete" ? "SuccessCriteriaMet" : "FailureTarget", status: "True", reason, message, lastProbeTime: now, lastTransitionTime: now };
    state.job.status!.conditions = [interim];
    this.updateStatus(state);
    const active = [...this.pods.values()].filter((p) => p.job === `${state.job.metadata!.namespace}/${state.job.metadata!.name}` && p.proc && p.proc.exitCode === null && p.proc.signalCode === null);
    void Promise.all(active.map((p) => this.kill(p, p.pod.spec?.terminationGracePeriodSeconds ?? 30))).then(() => {
      const done = new Date();
      state.job.status!.conditions = [interim, { type, status: "True", reason, message, lastProbeTime: done, lastTransitionTime: done }];
      if (type === "Complete") state.job.status!.completionTime = done;
      this.updateStatus(state);
    });
  }

  private updateStatus(state: JobState): void {
    const key = `${state.job.metadata!.namespace}/${state.job.metadata!.name}`;
    const mine = [...this.pods.values()].filter((p) => p.job === key);
    const st = state.job.status!;
    st.active = mine.filter((p) => p.pod.status?.phase === "Pending" || p.pod.status?.phase === "Running").length;
    st.ready = mine.filter((p) => p.pod.status?.phase === "Running").length;
    st.succeeded = mine.filter((p) => p.pod.status?.phase === "Succeeded").length;
    st.failed = mine.filter((p) => p.pod.status?.phase === "Failed").length;
    st.completedIndexes = formatIndexes(state.succeeded) || undefined;
    if (state.job.spec!.backoffLimitPerIndex != null) st.failedIndexes = formatIndexes(state.failed);
    state.job.metadata!.resourceVersion = String(++this.rv);
    this.changed();
  }

  /** SIGTERM, then SIGKILL after the grace period (capped for tests); resolves when the process is gone. */
  private async kill(p: PodState, graceSeconds: number): Promise<void> {
    const proc = p.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill("SIGTERM");
    const graceMs = graceSeconds === 0 ? 0 : Math.min(graceSeconds * 1000, this.o.killGraceMs ?? 5000);
    const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    await p.exited;
    clearTimeout(timer);
  }
}
