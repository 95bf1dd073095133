// Executable lookup as `which` does it: PATH order, empty entries skipped, non-executables passed over.
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findOnPath, isExecutable, pathDirs } from "../../../src/util/which.ts";

let a: string;
let b: string;

beforeAll(async () => {
  a = await mkdtemp(join(tmpdir(), "which-a-"));
  b = await mkdtemp(join(tmpdir(), "which-b-"));
  await writeFile(join(a, "tool"), "", { mode: 0o644 }); // present but not executable
  await writeFile(join(b, "tool"), "#!/bin/sh\n");
  await chmod(join(b, "tool"), 0o755);
});
afterAll(async () => {
  await rm(a, { recursive: true, force: true });
  await rm(b, { recursive: true, force: true });
});

describe("which", () => {
  it("finds the first executable on PATH, skipping ones that cannot run", () => {
    expect(findOnPath("tool", { PATH: `${a}:${b}` })).toBe(join(b, "tool"));
    expect(findOnPath("tool", { PATH: a })).toBeUndefined();
    expect(findOnPath("tool", {})).toBeUndefined();
    expect(isExecutable(join(a, "tool"))).toBe(false);
    expect(isExecutable(join(b, "tool"))).toBe(true);
  });

  it("drops empty PATH entries (they would mean the working directory)", () => {
    expect(pathDirs({ PATH: "::/x::/y:" })).toEqual(["/x", "/y"]);
    expect(pathDirs({})).toEqual([]);
  });
});
