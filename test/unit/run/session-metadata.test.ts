import { execFileSync } from "node:child_process";
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectSettings } from "../../../src/run/lifecycle.ts";
import { metadata } from "../../../src/run/metadata.js";
import { readRunnerToken, tokenPath, writeRunnerToken } from "../../../src/run/session.ts";
import { endPhase, startPhase } from "../../../src/state/phase.ts";
import { writeStatus } from "../../../src/state/status.ts";
import { ConfigError, redact } from "../../../src/errors.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "session-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("runner token file", () => {
  it("is written with mode 0600 and registered as a secret", () => {
    writeRunnerToken(dir, "abcdef-0123456789secret");
    expect(statSync(tokenPath(dir)).mode & 0o777).toBe(0o600);
    expect(readRunnerToken(dir)).toBe("abcdef-0123456789secret");
    expect(redact("token abcdef-0123456789secret")).toBe("token [REDACTED]");
  });

  it("replaces a looser pre-existing file instead of rewriting it in place", () => {
    mkdirSync(join(dir, "state"), { recursive: true });
    writeFileSync(tokenPath(dir), "stale\n", { mode: 0o644 });
    linkSync(tokenPath(dir), join(dir, "old-inode"));
    writeRunnerToken(dir, "abcdef-0123456789fresh");
    expect(statSync(tokenPath(dir)).mode & 0o777).toBe(0o600);
    expect(readRunnerToken(dir)).toBe("abcdef-0123456789fresh");
    // The token never went into the 0644 inode.
    expect(readFileSync(join(dir, "old-inode"), "utf8")).toBe("stale\n");
  });

  it("is absent before prepare", () => {
    expect(readRunnerToken(dir)).toBeUndefined();
  });
});

describe("metadata", () => {
  it("prints Not started / None before anything, then the state", () => {
    const env = { SCALETEST_RUN_DIR: dir };
    expect(metadata({}, "status")).toBe("Not started");
    expect(metadata(env, "phase")).toBe("None");
    const state = join(dir, "state");
    writeStatus(state, "Running");
    startPhase(state, "Creating workspaces");
    endPhase(state, "Creating workspaces");
    startPhase(state, "Waiting 5m to establish baseline");
    expect(metadata(env, "status")).toBe("Running");
    expect(metadata(env, "phase")).toBe("Waiting 5m to establish baseline");
    expect(metadata(env, "previous-phase")).toBe("Creating workspaces");
    endPhase(state, "Waiting 5m to establish baseline");
    expect(metadata(env, "phase")).toBe("Waiting 5m to establish baseline [done]");
  });

  it("runs under plain node, without tsx (the agent runs it every 2 s with a 2 s timeout)", () => {
    const script = fileURLToPath(new URL("../../../scripts/metadata.js", import.meta.url));
    const state = join(dir, "state");
    writeStatus(state, "Running");
    startPhase(state, "Creating workspaces");
    // No --import tsx: a .ts module anywhere in its imports would fail to load on Node 20.
    const node = (item: string) => execFileSync(process.execPath, [script, item], { env: { SCALETEST_RUN_DIR: dir }, encoding: "utf8" });
    expect(node("status")).toBe("Running\n");
    expect(node("phase")).toBe("Creating workspaces\n");
    expect(node("previous-phase")).toBe("None\n");
    expect(() => execFileSync(process.execPath, [script, "nope"], { stdio: "pipe" })).toThrow(/unknown item "nope"; use status, phase, previous-phase/);
  });
});

describe("connectSettings", () => {
  it("parses comma-separated resolve entries and names the variable on bad input", () => {
    expect(connectSettings({ resolve: "*.apps.localhost:8080:127.0.0.1, a.b:443:::1", coderBinary: "/bin/coder" })).toEqual({
      coderBinary: "/bin/coder",
      resolve: [
        { host: "*.apps.localhost", port: 8080, address: "127.0.0.1" },
        { host: "a.b", port: 443, address: "::1" },
      ],
    });
    expect(() => connectSettings({ resolve: "nope", coderBinary: "" })).toThrow(ConfigError);
    expect(() => connectSettings({ resolve: "nope", coderBinary: "" })).toThrow(/CODER_SCALETEST_RESOLVE/);
  });
});
