// A small Grafana annotations API on 127.0.0.1:0 that records requests and checks them against Grafana's documented shape.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the fake Grafana received, with the problems found against the documented API. */
export interface RecordedRequest {
  method: string;
  path: string;
  authorization?: string;
  contentType?: string;
  body: unknown;
  /** Violations of the API shape (empty when the request was well-formed). */
  problems: string[];
}

/** An annotation as the fake stores it. */
export interface StoredAnnotation {
  id: number;
  time: number;
  timeEnd?: number;
  tags: string[];
  text: string;
  dashboardUID?: string;
}

export interface FakeGrafana {
  url: string;
  token: string;
  requests: RecordedRequest[];
  annotations: Map<number, StoredAnnotation>;
  /** Every problem over all requests. */
  problems(): string[];
  /** Answer every request with this status from now on (undefined = behave normally). */
  failWith(status: number | undefined): void;
  close(): Promise<void>;
}

const isInt = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0;
const isStrArray = (v: unknown) => Array.isArray(v) && v.every((t) => typeof t === "string");

// Fields of POST /api/annotations and PATCH /api/annotations/:id per Grafana's HTTP API docs.
const POST_FIELDS = new Set(["dashboardUID", "dashboardId", "panelId", "time", "timeEnd", "tags", "text"]);
const PATCH_FIELDS = new Set(["time", "timeEnd", "tags", "text"]);

function check(body: unknown, allowed: Set<string>, required: string[]): string[] {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return ["body must be a JSON object"];
  const b = body as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(b)) if (!allowed.has(k)) problems.push(`unknown field "${k}"`);
  for (const k of required) if (!(k in b)) problems.push(`missing field "${k}"`);
  for (const k of ["time", "timeEnd", "dashboardId", "panelId"]) {
    if (k in b && !isInt(b[k])) problems.push(`"${k}" must be a non-negative integer (epoch ms / id)`);
  }
  if ("tags" in b && !isStrArray(b.tags)) problems.push(`"tags" must be an array of strings`);
  if ("text" in b && typeof b.text !== "string") problems.push(`"text" must be a string`);
  if ("dashboardUID" in b && typeof b.dashboardUID !== "string") problems.push(`"dashboardUID" must be a string`);
  return problems;
}

/** Starts the fake on an ephemeral loopback port; requests must carry `Authorization: Bearer <token>`. */
export async function startFakeGrafana(token = "grafana-test-token-123"): Promise<FakeGrafana> {
  const requests: RecordedRequest[] = [];
  const annotations = new Map<number, StoredAnnotation>();
  let nextId = 1;
  let forced: number | undefined;

  const reply = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    let body: unknown;
    const problems: string[] = [];
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      problems.push("body is not JSON");
    }
    const rec: RecordedRequest = {
      method: req.method ?? "",
      path,
      authorization: req.headers.authorization,
      contentType: req.headers["content-type"],
      body,
      problems,
    };
    requests.push(rec);
    if (forced !== undefined) return reply(res, forced, { message: "forced failure" });
    if (rec.authorization !== `Bearer ${token}`) {
      problems.push("missing or wrong Authorization: Bearer token");
      return reply(res, 401, { message: "Unauthorized" });
    }
    if (!rec.contentType?.startsWith("application/json")) problems.push("Content-Type must be application/json");

    if (rec.method === "POST" && path === "/api/annotations") {
      problems.push(...check(body, POST_FIELDS, ["time", "tags", "text"]));
      if (problems.length > 0) return reply(res, 400, { message: problems.join("; ") });
      const b = body as Omit<StoredAnnotation, "id">;
      const id = nextId++;
      annotations.set(id, { id, time: b.time, timeEnd: b.timeEnd, tags: b.tags, text: b.text, dashboardUID: b.dashboardUID });
      return reply(res, 200, { message: "Annotation added", id });
    }
    const m = /^\/api\/annotations\/(\d+)$/.exec(path);
    if (rec.method === "PATCH" && m) {
      problems.push(...check(body, PATCH_FIELDS, []));
      if (problems.length > 0) return reply(res, 400, { message: problems.join("; ") });
      const a = annotations.get(Number(m[1]));
      if (!a) {
        problems.push(`annotation ${m[1]} does not exist`);
        return reply(res, 404, { message: "Annotation not found" });
      }
      Object.assign(a, body);
      return reply(res, 200, { message: "Annotation patched" });
    }
    problems.push(`unexpected ${rec.method} ${path}`);
    return reply(res, 404, { message: "Not found" });
  };

  const server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (raw += c));
    req.on("end", () => handle(req, res, raw));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    annotations,
    problems: () => requests.flatMap((r) => r.problems.map((p) => `${r.method} ${r.path}: ${p}`)),
    failWith: (status) => (forced = status),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
