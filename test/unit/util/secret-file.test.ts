import { linkSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeSecretFile } from "../../../src/util/secret-file.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "secret-file-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("writeSecretFile", () => {
  it("creates the file with mode 0600", () => {
    const path = join(dir, "token");
    writeSecretFile(path, "s3cret\n");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, "utf8")).toBe("s3cret\n");
  });

  it("never writes the secret into a pre-existing, world-readable file", () => {
    const path = join(dir, "token");
    writeFileSync(path, "old\n", { mode: 0o644 });
    // A second name for the old inode: whatever lands in that inode is visible here.
    linkSync(path, join(dir, "old-inode"));
    writeSecretFile(path, "s3cret\n");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, "utf8")).toBe("s3cret\n");
    expect(readFileSync(join(dir, "old-inode"), "utf8")).toBe("old\n");
    expect(statSync(join(dir, "old-inode")).mode & 0o777).toBe(0o644);
  });

  it("replaces a symlink instead of writing through it", () => {
    const elsewhere = join(dir, "elsewhere");
    writeFileSync(elsewhere, "untouched\n", { mode: 0o644 });
    const path = join(dir, "token");
    symlinkSync(elsewhere, path);
    writeSecretFile(path, "s3cret\n");
    expect(readFileSync(elsewhere, "utf8")).toBe("untouched\n");
    expect(statSync(path).isFile()).toBe(true);
    expect(readFileSync(path, "utf8")).toBe("s3cret\n");
  });
});
