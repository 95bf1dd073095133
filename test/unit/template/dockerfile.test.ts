// The runner image recipe: the base, the tools and the layout the template's scripts rely on (docker may be absent here, so read the file).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const dockerfile = readFileSync(join(root, "template/Dockerfile"), "utf8");
const mainTf = readFileSync(join(root, "template/main.tf"), "utf8");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

/** Instructions with comments removed and continuation lines joined. */
const instructions = dockerfile
  .split("\n")
  .filter((l) => !l.trimStart().startsWith("#"))
  .join("\n")
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter(Boolean);
const run = instructions.filter((l) => l.startsWith("RUN ")).join("\n");

describe("template/Dockerfile", () => {
  it("builds on Node 20 with Debian bookworm", () => {
    expect(instructions[0]).toMatch(/^FROM node:20-bookworm(-slim)?$/);
  });

  it("installs the runtime dependencies only, and tsx is one of them", () => {
    expect(run).toMatch(/npm ci --omit=dev/);
    expect(pkg.dependencies.tsx).toBeDefined();
    expect(pkg.devDependencies?.tsx).toBeUndefined();
  });

  it("installs Chromium from Debian and the tools the scripts call", () => {
    const apt = /apt-get install[^\n]*/.exec(run)?.[0] ?? "";
    for (const tool of ["chromium", "openssh-client", "curl", "jq", "ca-certificates"]) expect(apt.split(/\s+/)).toContain(tool);
  });

  it("does not bake in the coder CLI; the startup script downloads it into a directory on PATH", () => {
    expect(run).not.toMatch(/coder-linux|install\.sh|\/bin\/coder\b/);
    expect(mainTf).toContain('"$${CODER_URL%/}/bin/coder-linux-$arch"');
    const path = instructions.find((l) => l.startsWith("ENV PATH="));
    expect(path).toContain("/home/coder/.local/bin");
    expect(mainTf).toContain('"$HOME/.local/bin/coder"');
  });

  it("puts tsx on PATH and the source where main.tf's scripts look for it", () => {
    expect(mainTf).toContain('app_dir        = "/opt/scaletest-runner"');
    expect(instructions).toContain("WORKDIR /opt/scaletest-runner");
    expect(instructions.find((l) => l.startsWith("ENV PATH="))).toContain("/opt/scaletest-runner/node_modules/.bin");
  });

  it("runs only scripts that exist; the agent metadata items run under plain node (tsx starts too slowly for them)", () => {
    const scripts = [...mainTf.matchAll(/\$\{local\.app_dir\}\/(scripts\/[\w.-]+)/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) expect(existsSync(join(root, s)), s).toBe(true);
    const metadataScripts = [...mainTf.matchAll(/script\s*=\s*"([^"]*scripts\/metadata[^"]*)"/g)].map((m) => m[1]!);
    expect(metadataScripts).toHaveLength(3);
    for (const s of metadataScripts) expect(s).toMatch(/^node \$\{local\.app_dir\}\/scripts\/metadata\.js (status|phase|previous-phase)$/);
  });

  it("copies only paths that exist and runs as uid 1000 (the pod's security context)", () => {
    for (const l of instructions.filter((x) => x.startsWith("COPY "))) {
      const sources = l.split(/\s+/).slice(1, -1);
      for (const s of sources) expect(existsSync(join(root, s)), s).toBe(true);
    }
    expect(run).toMatch(/usermod -l coder -d \/home\/coder -m node/); // node:*'s user "node" is uid 1000
    expect(instructions.filter((l) => l.startsWith("USER ")).at(-1)).toBe("USER coder");
    expect(mainTf).toMatch(/run_as_user = 1000/);
  });
});
