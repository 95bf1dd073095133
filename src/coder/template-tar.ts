// In-memory ustar archives of a template directory (what `coder templates push` uploads), and reading one back to compare.
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";

/** Template files by slash-separated relative path. */
export type TemplateFiles = Map<string, Buffer>;

const BLOCK = 512;

/** Reads every regular file under `dir` (hidden files and directories skipped, as they are not template sources). */
export async function readTemplateDir(dir: string): Promise<TemplateFiles> {
  const files: TemplateFiles = new Map();
  async function walk(d: string): Promise<void> {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const full = join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.set(relative(dir, full).split(sep).join("/"), await readFile(full));
    }
  }
  await walk(dir);
  return files;
}

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > length) throw new Error(`tar field too long: ${JSON.stringify(value)} (max ${length} bytes)`);
  bytes.copy(buf, offset);
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  writeString(buf, offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
}

/**
 * A deterministic ustar archive: entries sorted by path, mode 0644, mtime 0, owner 0, so the same
 * files always give the same bytes (and coderd's content-hash deduplication recognises them).
 */
export function buildTar(files: TemplateFiles): Buffer {
  const parts: Buffer[] = [];
  for (const path of [...files.keys()].sort()) {
    const data = files.get(path)!;
    const header = Buffer.alloc(BLOCK);
    writeString(header, 0, 100, path);
    writeOctal(header, 100, 8, 0o644);
    writeOctal(header, 108, 8, 0);
    writeOctal(header, 116, 8, 0);
    writeOctal(header, 124, 12, data.length);
    writeOctal(header, 136, 12, 0);
    header.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
    header[156] = 0x30; // '0': regular file
    writeString(header, 257, 6, "ustar\0");
    writeString(header, 263, 2, "00");
    let sum = 0;
    for (const b of header) sum += b;
    writeString(header, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
    parts.push(header, data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

function readString(buf: Buffer, offset: number, length: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString("utf8", offset, end < 0 || end > offset + length ? offset + length : end);
}

/** Regular files of a tar archive (ustar or GNU, with PAX long names); directories and links are skipped. */
export function parseTar(tar: Buffer): TemplateFiles {
  const files: TemplateFiles = new Map();
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(readString(header, 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const prefix = readString(header, 345, 155);
    let name = readString(header, 0, 100);
    if (prefix && readString(header, 257, 6) === "ustar") name = `${prefix}/${name}`;
    const body = tar.subarray(offset + BLOCK, offset + BLOCK + size);
    if (body.length < size) throw new Error(`truncated tar entry ${JSON.stringify(name)}`);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "x") {
      const m = /\d+ path=([^\n]*)\n/.exec(body.toString("utf8"));
      longName = m?.[1];
      continue;
    }
    if (type === "L") {
      longName = body.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    if (type === "0" || type === "\0") files.set((longName ?? name).replace(/^\.\//, ""), Buffer.from(body));
    longName = undefined;
  }
  return files;
}

/** Paths that differ between two file sets (added, removed or changed), sorted; empty when they match. */
export function diffTemplateFiles(want: TemplateFiles, have: TemplateFiles): string[] {
  const paths = new Set([...want.keys(), ...have.keys()]);
  return [...paths].filter((p) => !(want.has(p) && have.has(p) && want.get(p)!.equals(have.get(p)!))).sort();
}
