// Chromium discovery (flag, env, PATH, the packaged fallback, clear error) and the launch flags that keep the browser on the target.
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumArgs, CHROMIUM_ENV, findChromium, MARKER_SWITCH, systemChromiumCandidates } from "../../../src/browser/chromium.ts";
import { packagedChromium } from "../../../src/browser/packaged-chromium.ts";
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

  it("looks for each name over every PATH entry, as which does", () => {
    expect(systemChromiumCandidates({ PATH: "/a::/b" }).slice(0, 4)).toEqual(["/a/chromium", "/b/chromium", "/a/chromium-browser", "/b/chromium-browser"]);
    expect(systemChromiumCandidates({ PATH: "" })).toEqual([]);
    expect(findChromium({ env: { PATH: `${join(dir, "missing")}:${dir}` } })).toBe(exe);
  });

  it("falls back to the packaged Chromium, unpacked into the user's cache, when none is on PATH", () => {
    const packaged = { version: "1.2.3", binDir: "/unused" };
    expect(findChromium({ env: { PATH: "", XDG_CACHE_HOME: "/cache" }, packaged })).toBe("/cache/scaletest-runner/chromium-1.2.3/chromium");
    expect(findChromium({ env: { PATH: "", HOME: "/home/op" }, packaged })).toBe("/home/op/.cache/scaletest-runner/chromium-1.2.3/chromium");
    // A system Chromium still wins over the packaged one.
    expect(findChromium({ env: { PATH: dir }, packaged })).toBe(exe);
  });

  it("finds the package npm ci installed, at the version package.json pins", async () => {
    const manifest = JSON.parse(await readFile(new URL("../../../package.json", import.meta.url), "utf8")) as { dependencies: Record<string, string> };
    expect(packagedChromium()?.version).toBe(manifest.dependencies["@sparticuz/chromium"]);
  });

  it("says which flag to set when there is neither a system nor a packaged Chromium", () => {
    expect(() => findChromium({ env: { PATH: join(dir, "missing") }, packaged: null })).toThrow(
      /validate --chromium-path: no Chromium found \(chromium, .* on PATH\).*apt-get install chromium\) or set --chromium-path \/ SCALETEST_CHROMIUM_PATH/,
    );
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
