import { describe, expect, it } from "vitest";
import { isScaletestName, isScaletestUser, scaletestUser, scaletestWorkspaceName } from "../../../src/coder/names.ts";
import { buildLogsUrl, ptyUrl, wsUrl } from "../../../src/coder/urls.ts";

const CODER_NAME = /^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$/;

describe("scaletest names", () => {
  it("makes usernames, emails and workspace names that Coder accepts", () => {
    const u = scaletestUser(12);
    expect(u.username).toMatch(/^scaletest-[0-9A-Za-z]{8}-12$/);
    expect(u.username).toMatch(CODER_NAME);
    expect(u.username.length).toBeLessThanOrEqual(32);
    expect(u.email).toBe(`${u.username.slice("scaletest-".length)}@scaletest.local`);
    expect(u.password).toHaveLength(16);
    const w = scaletestWorkspaceName(9_999_999);
    expect(w).toMatch(CODER_NAME);
    expect(w.length).toBeLessThanOrEqual(32);
  });

  it("recognises only prefixed names as scaletest resources", () => {
    expect(isScaletestName("scaletest-abc-1")).toBe(true);
    expect(isScaletestName("my-scaletest-abc")).toBe(false);
    expect(isScaletestUser({ username: "scaletest-a-1", email: "a-1@scaletest.local" })).toBe(true);
    expect(isScaletestUser({ username: "alice", email: "a-1@scaletest.local" })).toBe(false);
    expect(isScaletestUser({ username: "scaletest-a-1", email: "alice@example.com" })).toBe(false);
  });
});

describe("URL builders", () => {
  it("builds the PTY URL with every query parameter", () => {
    const u = ptyUrl("https://coder.example.com/", "agent-1", { reconnect: "r-1", width: 80, height: 25, command: "dd if=/dev/stdin" });
    expect(u.protocol).toBe("wss:");
    expect(u.pathname).toBe("/api/v2/workspaceagents/agent-1/pty");
    expect(Object.fromEntries(u.searchParams)).toEqual({ command: "dd if=/dev/stdin", height: "25", reconnect: "r-1", width: "80" });
  });

  it("keeps a deployment path prefix and uses ?follow for build logs", () => {
    expect(buildLogsUrl("http://127.0.0.1:3000/coder", "b1").toString()).toBe("ws://127.0.0.1:3000/coder/api/v2/workspacebuilds/b1/logs?follow");
    expect(buildLogsUrl("http://h", "b1", 42).search).toBe("?follow&after=42");
    expect(wsUrl("https://h/x").protocol).toBe("wss:");
  });
});
