// The Kubernetes calls the coordinator makes, through the official client: in-cluster config in a pod, kubeconfig on a
// laptop. Errors come back as KubeError with the API server's own Status message (no request or credential in it).
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { V1Job, V1Pod } from "@kubernetes/client-node";

/** A refusal or failure answered by the API server (or no answer at all: status 0). */
export class KubeError extends Error {
  constructor(
    message: string,
    /** HTTP status (0 when the server did not answer). */
    readonly status: number,
    /** The Status object's reason ("Invalid", "AlreadyExists", "NotFound", ...). */
    readonly reason?: string,
  ) {
    super(message);
    this.name = "KubeError";
  }
}

/**
 * The rights the coordinator and cleanup need, namespaced (the template's Role grants exactly these): Jobs to create,
 * read, delete (list and watch for an operator's kubectl), pods and their logs to read the shards' results.
 */
export const COORDINATOR_RBAC: readonly { apiGroup: string; resource: string; verbs: readonly string[] }[] = [
  { apiGroup: "batch", resource: "jobs", verbs: ["create", "get", "list", "watch", "delete"] },
  { apiGroup: "", resource: "pods", verbs: ["get", "list"] },
  { apiGroup: "", resource: "pods/log", verbs: ["get"] },
];

/** The few calls the coordinator and cleanup make. */
export interface KubeApi {
  /** The API server's URL (the ledger records it, so cleanup deletes only on the same cluster). */
  readonly server: string;
  /** The namespace of the kubeconfig context or the pod's own, if any. */
  readonly namespace?: string;
  createJob(namespace: string, job: V1Job): Promise<V1Job>;
  /** Undefined when there is no such Job. */
  readJob(namespace: string, name: string): Promise<V1Job | undefined>;
  /** Deletes a Job and its pods (propagation Background); false when it was already gone. */
  deleteJob(namespace: string, name: string): Promise<boolean>;
  listPods(namespace: string, labelSelector: string): Promise<V1Pod[]>;
  readPod(namespace: string, name: string): Promise<V1Pod | undefined>;
  podLog(namespace: string, name: string, container: string): Promise<string>;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Where the config comes from: KUBECONFIG, else ~/.kube/config, else the pod's service account. */
export async function connectKube(env: NodeJS.ProcessEnv = process.env): Promise<KubeApi> {
  // Loaded only by a sharded run: an in-process run never pays for the client.
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  let namespace: string | undefined;
  const file = env.KUBECONFIG?.split(":").find((f) => f && existsSync(f)) ?? (existsSync(join(homedir(), ".kube", "config")) ? join(homedir(), ".kube", "config") : undefined);
  if (file) {
    kc.loadFromFile(file);
    namespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(join(SA_DIR, "token"))) {
    kc.loadFromCluster();
  } else {
    throw new KubeError("no Kubernetes config: set KUBECONFIG (or ~/.kube/config), or run in a pod with a service account", 0);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeError("the Kubernetes config has no current cluster", 0);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw kubeError(what, err);
    }
  };
  const orNotFound = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await call(what, fn);
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return undefined;
      throw err;
    }
  };
  return {
    server: cluster.server,
    namespace,
    // Strict: a field the API server does not know is an error, not a silently dropped setting.
    createJob: (ns, job) => call(`create Job ${ns}/${job.metadata?.name}`, () => batch.createNamespacedJob({ namespace: ns, body: job, fieldValidation: "Strict" })),
    readJob: (ns, name) => orNotFound(`read Job ${ns}/${name}`, () => batch.readNamespacedJob({ namespace: ns, name })),
    deleteJob: async (ns, name) =>
      (await orNotFound(`delete Job ${ns}/${name}`, () => batch.deleteNamespacedJob({ namespace: ns, name, propagationPolicy: "Background" }))) !== undefined,
    listPods: async (ns, labelSelector) => (await call(`list pods in ${ns}`, () => core.listNamespacedPod({ namespace: ns, labelSelector }))).items,
    readPod: (ns, name) => orNotFound(`read pod ${ns}/${name}`, () => core.readNamespacedPod({ namespace: ns, name })),
    podLog: (ns, name, container) => call(`read the log of pod ${ns}/${name}`, () => core.readNamespacedPodLog({ namespace: ns, name, container })),
  };
}

/** The client's exception as a KubeError carrying the Status message (never the request, which holds no secret but is long). */
export function kubeError(what: string, err: unknown): KubeError {
  const e = err as { code?: unknown; body?: unknown; message?: string };
  if (typeof e.code === "number") {
    let body: { message?: string; reason?: string } | undefined;
    try {
      body = typeof e.body === "string" ? (JSON.parse(e.body) as typeof body) : (e.body as typeof body);
    } catch {
      body = undefined;
    }
    const message = body?.message ?? (typeof e.body === "string" && e.body ? e.body.slice(0, 500) : `HTTP ${e.code}`);
    return new KubeError(`${what}: Kubernetes answered ${e.code}${body?.reason ? ` ${body.reason}` : ""}: ${message}`, e.code, body?.reason);
  }
  return new KubeError(`${what}: ${e.message ?? String(err)}`, 0);
}
