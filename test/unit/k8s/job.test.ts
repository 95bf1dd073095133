// The shard Job builder: a pure function of the phase and the runner's pod; names, labels, secrets, args, pod shape.
import { describe, expect, it } from "vitest";
import type { V1Pod } from "@kubernetes/client-node";
import { buildShardJob, labelValue, shardJobName, shardLabels, type ShardJobInput } from "../../../src/k8s/job.ts";
import { runnerPodShape } from "../../../src/k8s/coordinator.ts";
import { jobRefusal } from "../../helpers/kube-api.ts";

const input = (over: Partial<ShardJobInput> = {}): ShardJobInput => ({
  runId: "scaletest-2026-12-07T08-00-00Z",
  phase: "Web Terminal Traffic",
  namespace: "coder-big",
  shards: 4,
  args: ["workspace-traffic", "--target-workspaces", "0:100"],
  startAt: "2026-12-07T08:01:30.000Z",
  pod: { image: "ghcr.io/scaletest-runner/scaletest-runner:v1", serviceAccountName: "scaletest-sa" },
  secretName: "runner-shard-token",
  env: { CODER_URL: "https://coder.example.com", SCALETEST_RUN_ID: "scaletest-2026-12-07T08-00-00Z" },
  backoffLimitPerIndex: 2,
  activeDeadlineSeconds: 1900,
  ...over,
});

describe("shard Job", () => {
  it("is an Indexed Job of N of N, retried per index, that the API server accepts", () => {
    const job = buildShardJob(input());
    expect(job.spec).toMatchObject({ completionMode: "Indexed", completions: 4, parallelism: 4, backoffLimitPerIndex: 2, activeDeadlineSeconds: 1900, podReplacementPolicy: "Failed" });
    expect(job.spec!.template.spec!.restartPolicy).toBe("Never");
    expect(job.spec!.podFailurePolicy!.rules.map((r) => [r.action, r.onExitCodes?.values ?? r.onPodConditions?.[0]?.type])).toEqual([
      ["FailJob", [2]],
      ["FailIndex", [1]],
      ["Ignore", "DisruptionTarget"],
    ]);
    expect(jobRefusal(job)).toBeUndefined();
  });

  it("runs `scaletest` with the phase's flags, then --shard-count and --start-at (the index comes from JOB_COMPLETION_INDEX)", () => {
    const c = buildShardJob(input()).spec!.template.spec!.containers[0]!;
    expect(c.command).toEqual(["scaletest"]);
    expect(c.args).toEqual(["workspace-traffic", "--target-workspaces", "0:100", "--shard-count", "4", "--start-at", "2026-12-07T08:01:30.000Z"]);
  });

  it("with a prelude, runs it in sh before exec scaletest with the same args", () => {
    const c = buildShardJob(input({ prelude: "curl -o /tmp/coder x || exit 3" })).spec!.template.spec!.containers[0]!;
    expect(c.command).toEqual(["sh", "-c", 'curl -o /tmp/coder x || exit 3\nexec scaletest "$@"']);
    expect(c.args!.slice(0, 2)).toEqual(["scaletest-shard", "workspace-traffic"]);
  });

  it("takes credentials only from the secret, never as values; the rest of the env is plain", () => {
    const c = buildShardJob(input()).spec!.template.spec!.containers[0]!;
    expect(c.env!.filter((e) => e.valueFrom)).toEqual([
      { name: "CODER_SESSION_TOKEN", valueFrom: { secretKeyRef: { name: "runner-shard-token", key: "token" } } },
      { name: "CODER_HEADER", valueFrom: { secretKeyRef: { name: "runner-shard-token", key: "header", optional: true } } },
    ]);
    for (const e of c.env!) if (/TOKEN|HEADER|SECRET|PASSWORD/.test(e.name)) expect(e.value, e.name).toBeUndefined();
    expect(buildShardJob(input()).spec!.template.spec!.automountServiceAccountToken).toBe(false);
  });

  it("names the Job after run and phase, as a DNS label short enough for `<job>-<index>` hostnames", () => {
    expect(shardJobName("scaletest-2026-12-07T08-00-00Z", "Web Terminal Traffic")).toBe("scaletest-2026-12-07t08-00-00z-web-terminal-traffic");
    const long = shardJobName("scaletest-a-very-long-run-identifier-from-somewhere-else", "Dashboard Traffic");
    expect(long.length).toBeLessThanOrEqual(52);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(long).not.toBe(shardJobName("scaletest-a-very-long-run-identifier-from-somewhere-else", "App Traffic"));
    expect(shardJobName("scaletest-a-very-long-run-identifier-from-somewhere-else", "Dashboard Traffic")).toBe(long);
  });

  it("labels Job and pods with run, phase and the runner's instance plus -shard (the PodMonitor selects it)", () => {
    expect(shardLabels("scaletest-2026-12-07T08-00-00Z", "App Traffic", "coder-workspace-scaletest-runner")).toEqual({
      "app.kubernetes.io/name": "scaletest-shard",
      "scaletest.coder.com/run": "scaletest-2026-12-07T08-00-00Z",
      "scaletest.coder.com/phase": "app-traffic",
      "app.kubernetes.io/instance": "coder-workspace-scaletest-runner-shard",
    });
    expect(labelValue(`${"x".repeat(70)}-`)).toHaveLength(63);
    expect(labelValue("-a b_")).toBe("a-b");
  });

  it("refuses a shard count below 1", () => {
    expect(() => buildShardJob(input({ shards: 0 }))).toThrow("shards must be a positive integer, got 0");
  });
});

describe("the runner pod's shape", () => {
  it("takes image, pull policy, resources, named ports, account, scheduling and the instance label from the runner container", () => {
    const pod: V1Pod = {
      metadata: { name: "coder-scaletest-runner-scaletest-runner", labels: { "app.kubernetes.io/instance": "coder-workspace-scaletest-runner" } },
      spec: {
        serviceAccountName: "scaletest-sa",
        nodeSelector: { pool: "runners" },
        tolerations: [{ key: "dedicated", operator: "Equal", value: "scaletest", effect: "NoSchedule" }],
        securityContext: { runAsUser: 1000, fsGroup: 1000 },
        containers: [
          { name: "sidecar", image: "other" },
          {
            name: "dev",
            image: "ghcr.io/scaletest-runner/scaletest-runner:v1",
            imagePullPolicy: "Always",
            resources: { requests: { cpu: "4", memory: "8Gi" }, limits: { cpu: "4", memory: "8Gi" } },
            ports: [{ name: "prom-traffic", containerPort: 21112 }, { containerPort: 9999 }],
          },
        ],
      },
    };
    const shape = runnerPodShape(pod, "dev");
    expect(shape).toEqual({
      image: "ghcr.io/scaletest-runner/scaletest-runner:v1",
      imagePullPolicy: "Always",
      serviceAccountName: "scaletest-sa",
      nodeSelector: { pool: "runners" },
      affinity: undefined,
      tolerations: [{ key: "dedicated", operator: "Equal", value: "scaletest", effect: "NoSchedule" }],
      securityContext: { runAsUser: 1000, fsGroup: 1000 },
      resources: { requests: { cpu: "4", memory: "8Gi" }, limits: { cpu: "4", memory: "8Gi" } },
      ports: [{ name: "prom-traffic", containerPort: 21112 }],
      instance: "coder-workspace-scaletest-runner",
    });
    const spec = buildShardJob(input({ pod: shape })).spec!.template.spec!;
    expect(spec.nodeSelector).toEqual({ pool: "runners" });
    expect(spec.containers[0]!.ports).toEqual([{ name: "prom-traffic", containerPort: 21112, protocol: "TCP" }]);
    expect(jobRefusal(buildShardJob(input({ pod: shape })))).toBeUndefined();
  });
});
