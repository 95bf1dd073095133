// `scaletest dashboard` flags: upstream defaults, env vars, and the checks that run before anything is sent.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM_ENV } from "../../../src/browser/chromium.ts";
import { readDashboardFlags, register } from "../../../src/cli/dashboard.ts";
import { ConfigError } from "../../../src/errors.ts";

let fakeChromium: string;
beforeAll(() => {
  fakeChromium = join(mkdtempSync(join(tmpdir(), "dashboard-cli-")), "chromium");
  writeFileSync(fakeChromium, "#!/bin/sh\n", { mode: 0o755 });
});
afterAll(() => rmSync(dirname(fakeChromium), { recursive: true, force: true }));

async function read(args: string[], env: NodeJS.ProcessEnv = {}) {
  const program = new Command("scaletest").exitOverride();
  register(program);
  const cmd = program.commands.find((c) => c.name() === "dashboard")!;
  cmd.exitOverride().action(() => {});
  await program.parseAsync(["dashboard", ...args], { from: "user" });
  // A stand-in binary path keeps these tests independent of the machine's browser; `true` is executable everywhere.
  return readDashboardFlags(cmd, { [CHROMIUM_ENV]: "/bin/true", HOME: "/nonexistent", ...env });
}

describe("scaletest dashboard flags", () => {
  it("has upstream's defaults", async () => {
    const f = await read([]);
    expect(f).toMatchObject({ intervalMs: 10_000, jitterMs: 5_000, targetUsers: "", headless: true, seed: 0, promAddress: "0.0.0.0:21112", promWaitMs: 15_000, runDir: "." });
    expect(f.strategy).toEqual({ concurrency: 1, timeoutMs: 30 * 60_000, jobTimeoutMs: 5 * 60_000 });
    expect(f.outputs).toEqual([{ format: "text" }]);
    expect(f.chromiumPath).toBe("/bin/true");
  });

  it("reads flags over env vars, and env vars when non-empty", async () => {
    const f = await read(["--interval", "2s", "--headless=false", "--target-users", "1:3"], {
      CODER_SCALETEST_DASHBOARD_INTERVAL: "9s",
      CODER_SCALETEST_DASHBOARD_JITTER: "500ms",
      CODER_SCALETEST_DASHBOARD_RAND_SEED: "42",
      CODER_SCALETEST_DASHBOARD_HEADLESS: "",
    });
    expect(f).toMatchObject({ intervalMs: 2_000, jitterMs: 500, headless: false, seed: 42, targetUsers: "1:3" });
  });

  it("checks interval and jitter, naming the flag", async () => {
    await expect(read(["--interval", "0"])).rejects.toThrow("validate --interval: must be greater than zero");
    await expect(read(["--interval", "1s", "--jitter", "1s"])).rejects.toThrow("validate --jitter: must be at least 0 and less than --interval");
  });

  it("rejects a bad --target-users with upstream's message", async () => {
    await expect(read(["--target-users", "4:2"])).rejects.toThrow('validate --target-users: invalid target users "4:2": end cannot be less than start');
  });

  it("names --chromium-path when the binary is missing", async () => {
    const err = await read(["--chromium-path", "/nonexistent/chromium"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems[0]!.path).toBe("--chromium-path");
  });

  it("finds a Chromium on PATH by itself, else the packaged one", async () => {
    const f = await read([], { [CHROMIUM_ENV]: "", PATH: dirname(fakeChromium) });
    expect(f.chromiumPath).toBe(fakeChromium);
    const packaged = await read([], { [CHROMIUM_ENV]: "", PATH: "", XDG_CACHE_HOME: "/cache" });
    expect(packaged.chromiumPath).toMatch(/^\/cache\/scaletest-runner\/chromium-[\d.]+\/chromium$/);
  });
});
