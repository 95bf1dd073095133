// Chromium discovery (flag, env, usual paths, clear error) and the launch flags that keep the browser on the target.
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumArgs, CHROMIUM_ENV, findChromium, MARKER_SWITCH } from "../../../src/browser/chromium.ts";
import { browserMemory } from "../../../src/browser/memory.ts";
import { ConfigError } from "../../../src/errors.ts";

let dir: string;
let exe: string;
let plain: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "chromium-find-"));
  exe = join(dir, "chromium");
  plain = join(dir, "not-executable");
  await writeFile(exe, "#!/bin/sh\n");
  await chmod(exe, 0o755);
  await writeFile(plain, "");
  await chmod(plain, 0o644);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("findChromium", () => {
  it("prefers the flag, then the env var, then the first installed candidate", () => {
    expect(findChromium({ path: exe, env: { [CHROMIUM_ENV]: "/nope" } })).toBe(exe);
    expect(findChromium({ env: { [CHROMIUM_ENV]: exe } })).toBe(exe);
    expect(findChromium({ env: {}, candidates: [join(dir, "missing"), plain, exe] })).toBe(exe);
  });

  it("rejects an explicit path that is not executable, naming where it came from", () => {
    expect(() => findChromium({ path: plain, env: {} })).toThrow(ConfigError);
    expect(() => findChromium({ path: plain, env: {} })).toThrow("validate --chromium-path: must be an executable");
    expect(() => findChromium({ env: { [CHROMIUM_ENV]: join(dir, "missing") } })).toThrow(`validate ${CHROMIUM_ENV}`);
  });

  it("says which flag to set when nothing is installed", () => {
    expect(() => findChromium({ env: {}, candidates: [join(dir, "missing")] })).toThrow(/validate --chromium-path: no Chromium found at .*set --chromium-path \/ SCALETEST_CHROMIUM_PATH/);
  });
});

describe("chromiumArgs", () => {
  it("turns off everything that talks to the internet and tags the process", () => {
    const args = chromiumArgs({ marker: "m1", allowHosts: ["127.0.0.1"] });
    for (const flag of ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]) {
      expect(args).toContain(flag);
    }
    expect(args).toContain(`${MARKER_SWITCH}=m1`);
    expect(args).toContain("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1");
  });

  it("adds no resolver rule without allowed hosts", () => {
    expect(chromiumArgs({ marker: "m" }).some((a) => a.startsWith("--host-resolver-rules"))).toBe(false);
  });
});

describe("browserMemory", () => {
  it("finds nothing for a marker no process carries", () => {
    expect(browserMemory("no-such-marker")).toEqual({ processes: 0, rssBytes: 0, pssBytes: 0 });
  });
});
