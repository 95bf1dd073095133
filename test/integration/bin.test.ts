// bin/scaletest.js picks what to run: the TypeScript sources whenever src/ is there (a checkout, even one holding an
// old dist/), the compiled dist/ only when src/ is absent (a packed package); either way it calls main and exits with
// its code.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
let pkg: string;

beforeAll(() => {
  // A package folder with the real bin, a stand-in src/cli.ts and dist/cli.js that say which one ran, and the
  // checkout's node_modules (for tsx).
  pkg = mkdtempSync(join(tmpdir(), "scaletest-bin-"));
  mkdirSync(join(pkg, "bin"));
  cpSync(join(REPO, "bin", "scaletest.js"), join(pkg, "bin", "scaletest.js"));
  writeFileSync(join(pkg, "package.json"), JSON.stringify({ type: "module" }));
  symlinkSync(join(REPO, "node_modules"), join(pkg, "node_modules"));
  const stub = (from: string) =>
    `export async function main(argv${from === "src" ? ": string[]" : ""}) { process.stdout.write("${from} " + argv.join(" ")); return 3; }\n`;
  mkdirSync(join(pkg, "src"));
  writeFileSync(join(pkg, "src", "cli.ts"), stub("src"));
  mkdirSync(join(pkg, "dist"));
  writeFileSync(join(pkg, "dist", "cli.js"), stub("dist"));
});

afterAll(() => rmSync(pkg, { recursive: true, force: true }));

describe("bin/scaletest.js", () => {
  it("runs src/ through tsx when it exists, never a dist/ beside it, and exits with main's code", async () => {
    const res = await execa("node", [join(pkg, "bin", "scaletest.js"), "a", "--b"], { reject: false });
    expect(res.stdout).toBe("src a --b");
    expect(res.exitCode).toBe(3);
  });

  it("runs dist/ when src/ is absent, as in the packed package", async () => {
    rmSync(join(pkg, "src"), { recursive: true });
    const res = await execa("node", [join(pkg, "bin", "scaletest.js"), "x"], { reject: false });
    expect(res.stdout).toBe("dist x");
    expect(res.exitCode).toBe(3);
  });
});
