// The template's Kubernetes side of the shard coordinator: RBAC namespaced and exactly what the coordinator calls, the
// shard secret, the PodMonitor selecting shard pods, POD_NAME/POD_NAMESPACE; and a shard Job rendered from the
// template's defaults agrees with the config table and the Kubernetes 1.33 schema. Each check is shown to fail.
import { beforeAll, describe, expect, it } from "vitest";
import { checkEnvMapping, checkShardKube, envFromDefaults } from "../../../tools/template/check.ts";
import { parseTemplate, type TemplateModel } from "../../../tools/template/model.ts";
import { loadRunnerConfig } from "../../../src/run/config.ts";
import { settingsPodShape } from "../../../src/run/sharded.ts";
import { buildShardJob } from "../../../src/k8s/job.ts";
import { SCENARIOS } from "../../../src/scenarios/index.ts";
import { jobRefusal } from "../../helpers/kube-api.ts";
import { mainTf, mutated } from "../../helpers/template.ts";

let model: TemplateModel;
beforeAll(async () => {
  model = await parseTemplate(mainTf);
});

describe("main.tf's Kubernetes side of the coordinator", () => {
  it("passes: one namespaced Role with the coordinator's verbs, bound to the pod's account; the shard secret; the PodMonitor", () => {
    expect(checkShardKube(model)).toEqual([]);
    expect(model.kube.clusterWide).toEqual([]);
    expect(model.kube.roles[0]!.rules).toEqual([
      { apiGroups: ["batch"], resources: ["jobs"], verbs: ["create", "get", "list", "watch", "delete"] },
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] },
      { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
    ]);
  });

  it("sets POD_NAME and POD_NAMESPACE from the downward API", () => {
    expect(model.env.filter((e) => e.name.startsWith("POD_")).map((e) => [e.name, e.where, e.fieldPath])).toEqual([
      ["POD_NAME", "container", "metadata.name"],
      ["POD_NAMESPACE", "container", "metadata.namespace"],
    ]);
  });

  it("catches anything cluster-wide", async () => {
    const m = await mutated('resource "kubernetes_role" "runner" {', 'resource "kubernetes_cluster_role" "wide" {\n  metadata {\n    name = "x"\n  }\n}\n\nresource "kubernetes_role" "runner" {');
    expect(checkShardKube(m)).toContainEqual({ path: "template/main.tf kubernetes_cluster_role.wide", message: "grants rights cluster-wide; the runner needs only its namespace (a Role and RoleBinding)" });
  });

  it("catches a verb more, or one fewer, than the coordinator uses", async () => {
    const more = await mutated('verbs      = ["get", "list"]', 'verbs      = ["get", "list", "delete"]');
    expect(checkShardKube(more).map((p) => p.message)).toEqual([expect.stringMatching(/^grants more than the coordinator uses \(.*\): core\/pods delete$/)]);
    const fewer = await mutated('verbs      = ["create", "get", "list", "watch", "delete"]', 'verbs      = ["create", "get", "list", "watch"]');
    expect(checkShardKube(fewer).map((p) => p.message)).toEqual([expect.stringMatching(/^lacks what the coordinator uses \(.*\): batch\/jobs delete$/)]);
  });

  it("catches a binding to another account, a pod on another account, a secret without the token, a PodMonitor blind to shards", async () => {
    const binding = await mutated("name      = kubernetes_service_account.runner.metadata[0].name\n    namespace = local.namespace", 'name      = "default"\n    namespace = local.namespace');
    expect(checkShardKube(binding).map((p) => p.path)).toEqual(["template/main.tf kubernetes_role_binding"]);
    const pod = await mutated("service_account_name             = kubernetes_service_account.runner.metadata[0].name", 'service_account_name             = "default"');
    expect(checkShardKube(pod).map((p) => p.path)).toEqual(["template/main.tf kubernetes_pod.main service_account_name"]);
    const secret = await mutated("token = data.coder_workspace_owner.me.session_token", "tok = data.coder_workspace_owner.me.session_token");
    expect(checkShardKube(secret)).toEqual([{ path: "template/main.tf kubernetes_secret.shard_token", message: 'must hold the key "token" (the shard pods\' CODER_SESSION_TOKEN)' }]);
    const monitor = await mutated("values   = [local.pod_instance, local.shard_instance]", "values   = [local.pod_instance]");
    expect(checkShardKube(monitor).map((p) => p.path)).toEqual(["template/main.tf kubernetes_manifest.pod_monitor"]);
  });

  it("catches POD_NAME read from another field", async () => {
    const m = await mutated('field_path = "metadata.name"', 'field_path = "spec.nodeName"');
    expect(checkEnvMapping(m)).toEqual([{ path: "template/main.tf env POD_NAME", message: 'must come from the downward API (value_from field_ref field_path "metadata.name"), got "spec.nodeName"' }]);
  });
});

describe("a shard Job rendered from the template's defaults", () => {
  const render = () => {
    const env = { ...envFromDefaults(model), SCALETEST_PARAM_RUNNER_SHARDS: "3", SCALETEST_SHARD_SECRET: "coder-scaletest-runner-scaletest-runner-shard-token" };
    const cfg = loadRunnerConfig(env, { now: new Date(0), cwd: "/" });
    const row = SCENARIOS["Web Terminal Traffic"];
    return { cfg, job: buildShardJob({
      runId: cfg.runId,
      phase: row.name,
      namespace: cfg.namespace,
      shards: cfg.runnerShards,
      args: ["workspace-traffic"],
      startAt: "2026-12-07T08:00:00Z",
      pod: settingsPodShape(cfg, "traffic"),
      secretName: cfg.shardSecret,
      backoffLimitPerIndex: 2,
      activeDeadlineSeconds: 3600,
    }) };
  };

  it("agrees with the config table (image, account, resources, metrics port, secret) and the 1.33 schema", () => {
    const { cfg, job } = render();
    const param = (label: string) => model.parameters.find((p) => p.label === label)!.default;
    const pod = job.spec!.template.spec!;
    const c = pod.containers[0]!;
    expect(c.image).toBe(param("runner_image"));
    expect(pod.serviceAccountName).toBe(param("service_account"));
    expect(c.resources).toEqual({ requests: { cpu: param("runner_cpu"), memory: `${param("runner_memory")}Gi` }, limits: { cpu: param("runner_cpu"), memory: `${param("runner_memory")}Gi` } });
    expect(c.ports).toEqual([{ name: "prom-traffic", containerPort: model.metricsPorts["prom-traffic"], protocol: "TCP" }]);
    expect(c.env!.find((e) => e.name === "CODER_SESSION_TOKEN")!.valueFrom!.secretKeyRef!.name).toBe(cfg.shardSecret);
    expect(job.metadata!.namespace).toBe(param("namespace"));
    expect(jobRefusal(job)).toBeUndefined();
  });

  it("would be refused with a wrong field (strict decoding) or value (422)", () => {
    const { job } = render();
    const unknown = structuredClone(job) as unknown as { spec: Record<string, unknown> };
    unknown.spec.backoffLimitPerIndx = 2;
    expect(jobRefusal(unknown)).toMatchObject({ code: 400, reason: "BadRequest", message: 'strict decoding error: unknown field "spec.backoffLimitPerIndx"' });
    const value = structuredClone(job);
    value.spec!.completionMode = "indexed";
    expect(jobRefusal(value)).toMatchObject({ code: 422, reason: "Invalid", message: expect.stringContaining('spec.completionMode: Unsupported value: "indexed": supported values: "Indexed", "NonIndexed"') });
    const rule = structuredClone(job);
    rule.spec!.template.spec!.restartPolicy = "Always";
    expect(jobRefusal(rule)).toMatchObject({ code: 422, message: expect.stringContaining('spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"') });
  });
});
