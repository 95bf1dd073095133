// The simulated reconnecting PTY: coderd's checks, the JSON input stream, tty echo, replay, limits and faults.
import { once } from "node:events";
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JsonObjectStream, PtyEndpoint, ReplayBuffer, parsePtyQuery, type PtyInput } from "../../../src/simulator/pty.ts";
import { ALICE, ALICE_AGENT, BOB, OFFLINE_AGENT, OWNER, fakeHost, openRecording, serveEndpoints, upgradeRefusal } from "../../helpers/traffic-host.ts";

const frame = (data: string): Buffer => Buffer.from(`${JSON.stringify({ data })}\n`);

describe("JsonObjectStream", () => {
  it("decodes objects split across chunks and several objects in one chunk", () => {
    const got: PtyInput[] = [];
    const d = new JsonObjectStream();
    const text = '{"data":"a}{\\"b"}  {"height":24,"width":80}\n{"data":"\\u0003"}';
    for (const part of [text.slice(0, 5), text.slice(5, 17), text.slice(17)]) d.push(Buffer.from(part), (o) => got.push(o));
    expect(got).toEqual([{ data: 'a}{"b' }, { height: 24, width: 80 }, { data: "\u0003" }]);
  });

  it("splits a multi-byte UTF-8 character across chunks without corrupting it", () => {
    const bytes = Buffer.from('{"data":"héllo ✓"}');
    const got: PtyInput[] = [];
    const d = new JsonObjectStream();
    for (let i = 0; i < bytes.length; i++) d.push(bytes.subarray(i, i + 1), (o) => got.push(o));
    expect(got).toEqual([{ data: "héllo ✓" }]);
  });

  it("rejects a value that is not an object and a data field that is not a string", () => {
    expect(() => new JsonObjectStream().push(Buffer.from("[1]"), () => {})).toThrow(/beginning of value/);
    expect(() => new JsonObjectStream().push(Buffer.from('{"data":1}'), () => {})).toThrow(/type string/);
  });
});

describe("ReplayBuffer", () => {
  it("keeps the newest bytes, oldest first, across wrap-around", () => {
    const r = new ReplayBuffer(8);
    r.write(Buffer.from("abc"));
    expect(r.contents().toString()).toBe("abc");
    r.write(Buffer.from("defgh"));
    r.write(Buffer.from("ij"));
    expect(r.contents().toString()).toBe("cdefghij");
    r.write(Buffer.from("0123456789"));
    expect(r.contents().toString()).toBe("23456789");
  });
});

describe("parsePtyQuery", () => {
  it("applies coderd's defaults and validations", () => {
    const id = randomUUID();
    expect(parsePtyQuery(new URL(`http://x/?reconnect=${id}`))).toEqual({ reconnect: id, width: 80, height: 80, command: "" });
    expect(parsePtyQuery(new URL("http://x/?width=-1&height=x"))).toEqual({
      validations: [
        { field: "reconnect", detail: 'Query param "reconnect" is required and cannot be empty' },
        { field: "height", detail: 'Query param "height" must be a valid positive integer (strconv.ParseUint: parsing "x": invalid syntax)' },
        { field: "width", detail: 'Query param "width" must be a valid positive integer (strconv.ParseUint: parsing "-1": invalid syntax)' },
      ],
    });
  });
});

describe("PTY endpoint", () => {
  let host: ReturnType<typeof fakeHost>;
  let srv: Awaited<ReturnType<typeof serveEndpoints>>;
  let pty: PtyEndpoint;

  beforeEach(async () => {
    host = fakeHost();
    srv = await serveEndpoints(host, (sockets) => [(pty = new PtyEndpoint(host, sockets))]);
  });
  afterEach(async () => {
    await srv.close();
  });

  const ptyUrl = (opts: { agent?: string; reconnect?: string; command?: string; token?: string | null; width?: string } = {}) => {
    const u = new URL(`/api/v2/workspaceagents/${opts.agent ?? ALICE_AGENT.id}/pty`, srv.url.replace("http", "ws"));
    u.searchParams.set("reconnect", opts.reconnect ?? randomUUID());
    u.searchParams.set("width", opts.width ?? "80");
    u.searchParams.set("height", "25");
    u.searchParams.set("command", opts.command ?? "dd if=/dev/stdin of=/dev/null bs=1024 status=none");
    if (opts.token !== null) u.searchParams.set("coder_session_token", opts.token ?? ALICE.token);
    return u.toString();
  };

  it("echoes input with LF as CRLF in binary frames, without compression", async () => {
    const c = await openRecording(ptyUrl(), { perMessageDeflate: true });
    expect(c.ws.extensions).toBe("");
    c.ws.send(frame("hello\nwor"));
    // One object split over two messages, and two objects in one message.
    const two = Buffer.concat([frame("ld\n"), frame("x\ry")]);
    c.ws.send(two.subarray(0, 7));
    c.ws.send(two.subarray(7));
    const got = await c.until((b) => b.toString().endsWith("y"));
    expect(got.toString()).toBe("hello\r\nworld\r\nx\r\ny");
    expect(c.textFrames).toBe(0);
    expect(host.counters.connections.pty).toBe(1);
    expect(host.counters.bytesOut.pty).toBe(got.length);
    c.ws.close();
  });

  it("echoes Ctrl+C as ^C and ends the session with close 1000", async () => {
    const c = await openRecording(ptyUrl());
    c.ws.send(frame("abc"));
    c.ws.send(frame("\u0003"));
    const closed = await c.closed;
    expect(closed.code).toBe(1000);
    expect(c.received().toString()).toBe("abc^C");
    expect(pty.sessions.size).toBe(0);
  });

  it("closes with 1003 on a text frame and 1009 on a message over 32 KiB", async () => {
    const a = await openRecording(ptyUrl());
    a.ws.send(JSON.stringify({ data: "x" }));
    expect((await a.closed).code).toBe(1003);
    const b = await openRecording(ptyUrl());
    b.ws.send(Buffer.alloc(32_768, 0x20)); // at the limit: accepted (whitespace between objects)
    b.ws.send(Buffer.alloc(32_769, 0x20));
    expect((await b.closed).code).toBe(1009);
  });

  it("replays the last 64 KiB to a reconnecting client, then continues the same session", async () => {
    const reconnect = randomUUID();
    const a = await openRecording(ptyUrl({ reconnect }));
    const line = `${"x".repeat(1000)}\n`;
    for (let i = 0; i < 70; i++) a.ws.send(frame(line));
    const all = await a.until((b) => b.length >= 70 * 1002);
    a.ws.close();
    await a.closed;
    const b = await openRecording(ptyUrl({ reconnect, command: "ignored on reconnect" }));
    const replay = await b.until((got) => got.length >= 65_536);
    expect(replay.equals(all.subarray(all.length - 65_536))).toBe(true);
    b.ws.send(frame("more"));
    await b.until((got) => got.subarray(65_536).toString() === "more");
    b.ws.send(frame("\u0003"));
    expect((await b.closed).code).toBe(1000);
  });

  it("sends output to every connection attached to one reconnect ID", async () => {
    const reconnect = randomUUID();
    const a = await openRecording(ptyUrl({ reconnect }));
    const b = await openRecording(ptyUrl({ reconnect }));
    b.ws.send(frame("from b"));
    await a.until((got) => got.toString() === "from b");
    await b.until((got) => got.toString() === "from b");
    a.ws.send(frame("\u0003"));
    const [ca, cb] = await Promise.all([a.closed, b.closed]);
    expect([ca.code, cb.code]).toEqual([1000, 1000]);
  });

  it("kills a session that has no connection for the reconnect timeout", async () => {
    host.setKnobs({ ptyReconnectTimeoutMs: 20 });
    const reconnect = randomUUID();
    const a = await openRecording(ptyUrl({ reconnect, command: "" }));
    await a.until((got) => got.toString() === "$ ");
    a.ws.send(frame("echo hi"));
    await a.until((got) => got.toString().endsWith("echo hi"));
    const ended = once(pty.sessions, "ended");
    a.ws.close();
    await ended;
    // A new process starts for the same ID: a fresh prompt, no replay.
    const b = await openRecording(ptyUrl({ reconnect, command: "" }));
    expect((await b.until((got) => got.length >= 2)).toString()).toBe("$ ");
    b.ws.close();
  });

  it("runs the login shell for an empty command: echo, prompt, exit", async () => {
    const c = await openRecording(ptyUrl({ command: "" }));
    c.ws.send(frame("echo 'hi there'\r"));
    await c.until((got) => got.toString().endsWith("hi there\r\n$ "));
    c.ws.send(frame("exit\r"));
    expect((await c.closed).code).toBe(1000);
    expect(c.received().toString()).toBe("$ echo 'hi there'\r\nhi there\r\n$ exit\r\n");
  });

  it("prints the argument of an `echo X` command and exits", async () => {
    const c = await openRecording(ptyUrl({ command: "echo ready" }));
    expect((await c.closed).code).toBe(1000);
    expect(c.received().toString()).toBe("ready\r\n");
  });

  it("answers coderd's status codes before upgrading", async () => {
    const unauth = await upgradeRefusal(ptyUrl({ token: null }));
    expect(unauth.status).toBe(404);
    expect(JSON.parse(unauth.body).message).toMatch(/Resource not found/);
    expect((await upgradeRefusal(ptyUrl({ token: BOB.token }))).status).toBe(404);
    expect((await upgradeRefusal(ptyUrl({ agent: randomUUID() }))).status).toBe(404);
    const offline = await upgradeRefusal(ptyUrl({ agent: OFFLINE_AGENT.id }));
    expect(offline.status).toBe(502);
    expect(String(offline.headers["content-type"])).toMatch(/text\/html/);
    const bad = await upgradeRefusal(ptyUrl({ reconnect: "nope" }));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ message: "Invalid query parameters.", validations: [{ field: "reconnect", detail: 'Query param "reconnect" must be a valid uuid' }] });
    expect((await upgradeRefusal(ptyUrl({ width: "1.5" }))).status).toBe(400);
  });

  it("accepts the cookie, the header and a site owner", async () => {
    const byCookie = await openRecording(ptyUrl({ token: null }), { headers: { Cookie: `coder_session_token=${ALICE.token}` } });
    const byHeader = await openRecording(ptyUrl({ token: null }), { headers: { "Coder-Session-Token": ALICE.token } });
    const byOwner = await openRecording(ptyUrl({ token: OWNER.token }));
    for (const c of [byCookie, byHeader, byOwner]) c.ws.close();
    host.setKnobs({ disableOwnerWorkspaceAccess: true });
    expect((await upgradeRefusal(ptyUrl({ token: OWNER.token }))).status).toBe(404);
  });

  it("corrupts the next echoed chunk on request", async () => {
    pty.sessions.corruptNextEcho();
    const c = await openRecording(ptyUrl());
    c.ws.send(frame("abcd"));
    const got = await c.until((b) => b.length >= 4);
    expect(got.toString()).not.toBe("abcd");
    expect(got.subarray(0, 3).toString()).toBe("abc");
    c.ws.send(frame("efgh"));
    await c.until((b) => b.length >= 8);
    expect(c.received().subarray(4).toString()).toBe("efgh");
    c.ws.close();
  });

  it("drops open sockets abnormally on request, without ending the sessions", async () => {
    const a = await openRecording(ptyUrl());
    const b = await openRecording(ptyUrl());
    expect(srv.sockets.count("pty")).toBe(2);
    expect(srv.sockets.dropAll({ mode: "1011", kind: "pty" })).toBe(2);
    expect((await a.closed).code).toBe(1011);
    expect((await b.closed).code).toBe(1011);
    const c = await openRecording(ptyUrl());
    srv.sockets.dropAll();
    expect((await c.closed).code).toBe(1006);
    expect(pty.sessions.size).toBe(3);
  });

  it("drops a socket picked by dropSocketsRate at its first message", async () => {
    host.setKnobs({ dropSocketsRate: 1 });
    const c = await openRecording(ptyUrl());
    c.ws.send(frame("x"));
    expect((await c.closed).code).toBe(1006);
  });
});
