// The settings rows of the runner's Kubernetes side: shard pods, the runner pod (namespace, image, resources) and the
// secrets it reads; spread into RUNNER_ENV (src/run/settings.ts) at their places in the table.
import { duration, int, str } from "../config/settings.ts";

const MIN = 60_000;
/** Kubernetes namespace names: DNS label. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Kubernetes object names (secrets, service accounts): DNS subdomain. */
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Shard pods and the runner's own pod, set by the workspace, the downward API or the laptop (no template parameter). */
export const POD_ENV = {
  shardSecret: str({
    env: "SCALETEST_SHARD_SECRET",
    source: "workspace",
    default: "",
    maxLength: 253,
    allowEmpty: true,
    pattern: K8S_NAME,
    patternHint: "a Kubernetes secret name",
    description: "Kubernetes secret (key `token`, optional key `header`) the shard pods read the Coder token (and CODER_HEADER) from; needed when Runner shards > 1.",
  }),
  shardStartLead: duration({
    env: "SCALETEST_SHARD_START_LEAD",
    source: "fixed",
    default: 90_000,
    minMs: 1000,
    maxMs: 30 * MIN,
    description: "How far ahead a sharded phase sets its shared start, for the shard pods to be scheduled and pull the image; a shard not running by then fails the phase.",
  }),
  podName: str({
    env: "POD_NAME",
    source: "pod",
    default: "",
    maxLength: 253,
    allowEmpty: true,
    pattern: K8S_NAME,
    patternHint: "a Kubernetes pod name",
    description: "The runner's own pod (downward API): shard pods take its image, resources, service account and scheduling.",
  }),
  podNamespace: str({
    env: "POD_NAMESPACE",
    source: "pod",
    default: "",
    maxLength: 63,
    allowEmpty: true,
    pattern: DNS_LABEL,
    patternHint: "a Kubernetes namespace name (DNS label)",
    description: "The runner pod's namespace (downward API), where the shard Jobs run.",
  }),
  kubeconfig: str({
    env: "KUBECONFIG",
    source: "local",
    default: "",
    maxLength: 4096,
    allowEmpty: true,
    description: "Kubeconfig for a sharded run started outside the cluster (a laptop); in the runner pod its service account is used.",
  }),
} as const;

/** The runner pod: namespace, service account, image and resources (template parameters). */
export const POD_PARAMETERS = {
  namespace: str({
    env: "SCALETEST_PARAM_NAMESPACE",
    source: "parameter",
    parameter: { label: "namespace", name: "Namespace" },
    default: "coder-big",
    maxLength: 63,
    allowEmpty: false,
    pattern: DNS_LABEL,
    patternHint: "a Kubernetes namespace name (DNS label)",
    description: "Kubernetes namespace of the runner pod and its secrets.",
  }),
  serviceAccount: str({
    env: "SCALETEST_PARAM_SERVICE_ACCOUNT",
    source: "parameter",
    parameter: { label: "service_account", name: "Service account" },
    default: "scaletest-sa",
    maxLength: 253,
    allowEmpty: false,
    pattern: K8S_NAME,
    patternHint: "a Kubernetes service account name",
    description: "Service account of the runner pod (the template creates it, with a namespaced Role for the shard Jobs).",
  }),
  runnerImage: str({
    env: "SCALETEST_PARAM_RUNNER_IMAGE",
    source: "parameter",
    parameter: { label: "runner_image", name: "Runner image" },
    default: "ghcr.io/scaletest-runner/scaletest-runner:latest",
    maxLength: 512,
    allowEmpty: false,
    pattern: /^[a-z0-9][a-z0-9._\-/:@]*$/i,
    patternHint: "a container image reference",
    description: "Image of the runner pod (template/Dockerfile).",
  }),
  runnerCpu: int({
    env: "SCALETEST_PARAM_RUNNER_CPU",
    source: "parameter",
    parameter: { label: "runner_cpu", name: "Runner CPU" },
    default: 4,
    min: 1,
    max: 64,
    description: "CPU cores requested (and limited) for the runner pod.",
  }),
  runnerMemory: int({
    env: "SCALETEST_PARAM_RUNNER_MEMORY",
    source: "parameter",
    parameter: { label: "runner_memory", name: "Runner memory (GiB)" },
    default: 8,
    min: 1,
    max: 256,
    description: "Memory in GiB requested (and limited) for the runner pod.",
  }),
} as const;

/** Names of the Kubernetes secrets the runner pod reads its Grafana token and Slack webhook from (template parameters). */
export const POD_SECRETS = {
  grafanaTokenSecret: str({
    env: "SCALETEST_PARAM_GRAFANA_TOKEN_SECRET",
    source: "parameter",
    parameter: { label: "grafana_token_secret", name: "Grafana token secret" },
    default: "grafana-editor-api-token",
    maxLength: 253,
    allowEmpty: true,
    pattern: K8S_NAME,
    patternHint: "a Kubernetes secret name",
    description: "Kubernetes secret (key `token`) holding the Grafana editor token; empty for none.",
  }),
  slackWebhookSecret: str({
    env: "SCALETEST_PARAM_SLACK_WEBHOOK_SECRET",
    source: "parameter",
    parameter: { label: "slack_webhook_secret", name: "Slack webhook secret" },
    default: "slack-scaletest-notifications-webhook-url",
    maxLength: 253,
    allowEmpty: true,
    pattern: K8S_NAME,
    patternHint: "a Kubernetes secret name",
    description: "Kubernetes secret (key `url`) holding the Slack webhook URL; empty for none.",
  }),
} as const;
