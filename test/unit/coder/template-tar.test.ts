// Template archives: our tar is readable by GNU tar, deterministic, and we read tars GNU tar writes.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { buildTar, diffTemplateFiles, parseTar, readTemplateDir } from "../../../src/coder/template-tar.ts";

const minimalDir = fileURLToPath(new URL("../../../template/variants/kubernetes-minimal/", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "tpl-tar-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("template tar", () => {
  it("reads a variant directory into relative paths", async () => {
    const files = await readTemplateDir(minimalDir);
    expect([...files.keys()].sort()).toEqual(["README.md", "main.tf", "ws-apps.pl"]);
  });

  it("writes an archive GNU tar lists and extracts byte for byte", async () => {
    const files = await readTemplateDir(minimalDir);
    files.set("sub/dir/file.txt", Buffer.from("x".repeat(513)));
    const tarPath = join(work, "a.tar");
    writeFileSync(tarPath, buildTar(files));
    const list = spawnSync("tar", ["-tf", tarPath], { encoding: "utf8" });
    expect(list.status).toBe(0);
    expect(list.stdout.trim().split("\n")).toEqual(["README.md", "main.tf", "sub/dir/file.txt", "ws-apps.pl"]);
    const out = join(work, "out");
    mkdirSync(out);
    expect(spawnSync("tar", ["-xf", tarPath, "-C", out]).status).toBe(0);
    expect(readFileSync(join(out, "main.tf")).equals(files.get("main.tf")!)).toBe(true);
    expect(readFileSync(join(out, "sub/dir/file.txt"), "utf8")).toBe("x".repeat(513));
  });

  it("is deterministic and round-trips through parseTar", async () => {
    const files = await readTemplateDir(minimalDir);
    const a = buildTar(files);
    expect(a.equals(buildTar(new Map([...files].reverse())))).toBe(true);
    expect(diffTemplateFiles(files, parseTar(a))).toEqual([]);
  });

  it("reads archives GNU tar writes, including directories and long names", () => {
    const src = join(work, "src");
    const longDir = "d".repeat(90);
    mkdirSync(join(src, longDir), { recursive: true });
    writeFileSync(join(src, "main.tf"), "a = 1\n");
    writeFileSync(join(src, longDir, "nested-file-with-a-long-name.tf"), "b = 2\n");
    const tarPath = join(work, "gnu.tar");
    expect(spawnSync("tar", ["-cf", tarPath, "-C", src, "."]).status).toBe(0);
    const files = parseTar(readFileSync(tarPath));
    expect([...files.keys()].sort()).toEqual([`${longDir}/nested-file-with-a-long-name.tf`, "main.tf"]);
    expect(files.get("main.tf")?.toString()).toBe("a = 1\n");
  });

  it("names the paths that differ", () => {
    const a = new Map([["main.tf", Buffer.from("1")], ["README.md", Buffer.from("r")]]);
    const b = new Map([["main.tf", Buffer.from("2")], ["extra.tf", Buffer.from("e")], ["README.md", Buffer.from("r")]]);
    expect(diffTemplateFiles(a, b)).toEqual(["extra.tf", "main.tf"]);
  });

  it("refuses a path longer than the ustar name field", () => {
    expect(() => buildTar(new Map([["p".repeat(101), Buffer.alloc(0)]]))).toThrow(/tar field too long/);
  });
});
