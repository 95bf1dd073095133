// Workspace variants: one directory per workspace template the config allows, the right sizes, and working WebSocket app targets.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { afterAll, describe, expect, it } from "vitest";
import { WORKSPACE_TEMPLATES } from "../../../src/run/settings.ts";
import { parseHcl } from "../../../tools/template/model.ts";

const variantsDir = fileURLToPath(new URL("../../../template/variants/", import.meta.url));
type Json = Record<string, any>;
const parseVariant = async (name: string): Promise<Json> =>
  parseHcl(`${name}/main.tf`, readFileSync(join(variantsDir, name, "main.tf"), "utf8"));

/** CPU and memory requests and limits of a variant's workspace container. */
function resources(tf: Json): { requests: Json; limits: Json } {
  const pod = tf.resource.kubernetes_pod?.main?.[0]?.spec?.[0] ?? tf.resource.kubernetes_deployment.main[0].spec[0].template[0].spec[0];
  return pod.container[0].resources[0];
}

describe("variants", () => {
  it("has exactly one directory per workspace template the runner config allows", () => {
    const dirs = readdirSync(variantsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(dirs.sort()).toEqual([...WORKSPACE_TEMPLATES].sort());
  });

  it.each([
    ["kubernetes-minimal", "100m", "320Mi"],
    ["kubernetes-small", "1", "1Gi"],
    ["kubernetes-medium", "2", "2Gi"],
    ["kubernetes-medium-greedy", "2", "2Gi"],
    ["kubernetes-large", "4", "4Gi"],
  ])("%s requests %s CPU / %s and limits to the same (Guaranteed QoS)", async (name, cpu, memory) => {
    const r = resources(await parseVariant(name));
    expect(r.requests).toEqual({ cpu, memory });
    expect(r.limits).toEqual({ cpu, memory });
  });

  it("keeps the pod variants identical apart from their size, image and greedy metadata (no drift)", () => {
    const normalized = (name: string) =>
      readFileSync(join(variantsDir, name, "main.tf"), "utf8")
        .replace(/^# .*\n/, "") // the one-line summary
        .replace(/\n\n  # Greedy on purpose[\s\S]*?\n  }\n(?=})/, "\n") // the greedy metadata block
        .replace(/image {13}= ".*"/, 'image             = "<image>"')
        .replace(/(cpu|memory)( +)= ".*"/g, '$1$2= "<size>"');
    const pods = ["kubernetes-small", "kubernetes-medium", "kubernetes-medium-greedy", "kubernetes-large"];
    const texts = pods.map(normalized);
    for (const [i, t] of texts.entries()) expect(t, `${pods[i]} differs from ${pods[0]}`).toBe(texts[0]);
    expect(normalized("kubernetes-medium-greedy")).not.toContain("dynamic \"metadata\"");
  });

  it("kubernetes-minimal serves wsec, wsra and wsdi as authenticated subdomain apps on agent m", async () => {
    const tf = await parseVariant("kubernetes-minimal");
    expect(Object.keys(tf.resource.coder_agent)).toEqual(["m"]);
    const apps = Object.values(tf.resource.coder_app).map((blocks: any) => blocks[0]).sort((a: any, b: any) => a.url.localeCompare(b.url));
    expect(apps.map((a: any) => [a.slug, a.url, a.subdomain, a.share, a.agent_id])).toEqual([
      ["wsec", "http://localhost:1234", true, "authenticated", "${coder_agent.m.id}"],
      ["wsra", "http://localhost:1235", true, "authenticated", "${coder_agent.m.id}"],
      ["wsdi", "http://localhost:1236", true, "authenticated", "${coder_agent.m.id}"],
    ]);
    const script: string = tf.resource.coder_script.ws_apps[0].script;
    for (const line of ["echo 1234", "random 1235", "discard 1236"]) expect(script).toContain(`perl /tmp/ws-apps.pl ${line} &`);
    expect(tf.resource.coder_script.ws_apps[0].script).toContain('file("${path.module}/ws-apps.pl")');
  });

  it("kubernetes-medium-greedy reports 16 oversized metadata items every second; the others report none", async () => {
    const greedy = await parseVariant("kubernetes-medium-greedy");
    const dyn = greedy.resource.coder_agent.main[0].dynamic.metadata[0];
    expect(dyn.for_each).toBe("${range(1, 17)}");
    expect(dyn.content[0]).toMatchObject({ interval: 1, script: "dd if=/dev/urandom bs=3072 count=1 status=none | base64" });
    const medium = await parseVariant("kubernetes-medium");
    expect(medium.resource.coder_agent.main[0].dynamic).toBeUndefined();
    expect(medium.resource.coder_agent.main[0].metadata).toBeUndefined();
  });
});

describe("ws-apps.pl (the App Traffic targets)", () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill("SIGTERM");
  });

  async function start(mode: string): Promise<string> {
    const child = spawn("perl", [join(variantsDir, "kubernetes-minimal", "ws-apps.pl"), mode, "0"], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
    const m = /listening on (127\.0\.0\.1:\d+)$/.exec(line);
    expect(m, line).not.toBeNull();
    return `ws://${m![1]}/`;
  }

  async function connect(url: string): Promise<WebSocket> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await once(ws, "open");
    return ws;
  }

  it("echo returns every message unchanged, small and over 64 KiB", async () => {
    const ws = await connect(await start("echo"));
    const big = Buffer.alloc(100_000, 7);
    for (const payload of [Buffer.from("hello"), big]) {
      const got = once(ws, "message");
      ws.send(payload);
      const [data, isBinary] = (await got) as [Buffer, boolean];
      expect(isBinary).toBe(true);
      expect(Buffer.compare(data, payload)).toBe(0);
    }
    const pong = once(ws, "pong");
    ws.ping("p1");
    expect(String(((await pong) as [Buffer])[0])).toBe("p1");
    const closed = once(ws, "close");
    ws.close(1000, "done");
    expect(((await closed) as [number])[0]).toBe(1000);
  });

  it("random streams binary data until the client closes", async () => {
    const ws = await connect(await start("random"));
    let bytes = 0;
    const enough = new Promise<void>((resolve) =>
      ws.on("message", (d: Buffer) => {
        bytes += d.length;
        if (bytes >= 64 * 1024) resolve();
      }),
    );
    await enough;
    const closed = once(ws, "close");
    ws.close(1000);
    expect(((await closed) as [number])[0]).toBe(1000);
    expect(bytes).toBeGreaterThanOrEqual(64 * 1024);
  });

  it("discard reads and drops data, still answering ping and close", async () => {
    const ws = await connect(await start("discard"));
    let messages = 0;
    ws.on("message", () => messages++);
    ws.send(Buffer.alloc(10_000, 1));
    const pong = once(ws, "pong");
    ws.ping();
    await pong; // the server has read past the data frame by now
    const closed = once(ws, "close");
    ws.close(1000);
    await closed;
    expect(messages).toBe(0);
  });

  it("answers plain HTTP without an upgrade", async () => {
    const url = (await start("echo")).replace("ws://", "http://");
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("ws-apps echo");
  });
});
