// The Chromium that `npm ci` brings: @sparticuz/chromium ships a brotli-compressed headless Chromium (x64 Linux) with
// the NSS libraries and fonts it needs. It is unpacked once per version into the user's cache and started through a
// small wrapper script that points it at those libraries and fonts.
import { createReadStream, createWriteStream, existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { brotliDecompress, createBrotliDecompress } from "node:zlib";
import { parseTar } from "../coder/template-tar.ts";
import { getErrorMessage } from "../errors.ts";
import { isExecutable } from "../util/which.ts";

/** The npm package that carries the browser. */
export const PACKAGED_CHROMIUM_PACKAGE = "@sparticuz/chromium";

/** An installed copy of the package: its version and the folder holding the compressed files. */
export interface PackagedChromium {
  version: string;
  binDir: string;
}

/** The installed package, or undefined when it is missing or its browser cannot run here (it is built for x64 Linux only). */
export function packagedChromium(): PackagedChromium | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return undefined;
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve(PACKAGED_CHROMIUM_PACKAGE));
  } catch {
    return undefined;
  }
  // The entry point sits a few folders below the package root; its package.json is the first one that names it.
  for (; dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; version?: string };
    if (pkg.name !== PACKAGED_CHROMIUM_PACKAGE || !pkg.version) continue;
    const binDir = join(dir, "bin");
    return existsSync(join(binDir, "chromium.br")) ? { version: pkg.version, binDir } : undefined;
  }
  return undefined;
}

/** The folder this version unpacks into: `$XDG_CACHE_HOME` (default ~/.cache)/scaletest-runner/chromium-<version>. */
export function packagedChromiumDir(pkg: PackagedChromium, env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache");
  return join(cache, "scaletest-runner", `chromium-${pkg.version}`);
}

/** The executable (the wrapper script) inside an unpacked folder. */
export function packagedChromiumPath(dir: string): string {
  return join(dir, "chromium");
}

// The bundled libraries come first so the browser gets the NSS it was built with; fonts.conf adds the shipped fonts
// to the system's (when there is one). Plain sh with no other command, so PATH does not matter; `exec` keeps the
// process ID, so playwright and the memory probe see Chromium.
const WRAPPER = `#!/bin/sh
# Starts the Chromium of ${PACKAGED_CHROMIUM_PACKAGE} with the libraries and fonts that package ships.
case "$0" in */*) here=\${0%/*} ;; *) here=. ;; esac
export LD_LIBRARY_PATH="$here/lib\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export FONTCONFIG_FILE="$here/fonts.conf"
exec "$here/headless-shell" "$@"
`;

const FONTS_CONF = `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir prefix="relative">fonts</dir>
  <cachedir prefix="relative">fonts-cache</cachedir>
</fontconfig>
`;

const inflate = promisify(brotliDecompress);

/** Writes the regular files of a brotli-compressed tar archive under `dir`. */
async function unpackTar(archive: string, dir: string): Promise<void> {
  for (const [path, data] of parseTar(await inflate(await readFile(archive)))) {
    if (path.split("/").includes("..")) throw new Error(`${archive}: entry ${JSON.stringify(path)} leaves the folder`);
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), data, { mode: 0o755 });
  }
}

/** Unpacks into a fresh sibling folder, then renames it into place, so a folder that exists is always complete. */
async function unpack(pkg: PackagedChromium, dir: string): Promise<string> {
  const exe = packagedChromiumPath(dir);
  if (isExecutable(exe)) return exe;
  await mkdir(dirname(dir), { recursive: true });
  const staging = await mkdtemp(`${dir}.unpacking-`);
  try {
    await pipeline(createReadStream(join(pkg.binDir, "chromium.br")), createBrotliDecompress(), createWriteStream(join(staging, "headless-shell"), { mode: 0o755 }));
    await unpackTar(join(pkg.binDir, "al2023.tar.br"), staging);
    await unpackTar(join(pkg.binDir, "fonts.tar.br"), staging);
    await writeFile(join(staging, "fonts.conf"), FONTS_CONF);
    await writeFile(join(staging, "chromium"), WRAPPER, { mode: 0o755 });
    try {
      await rename(staging, dir);
    } catch (err) {
      // Another process unpacked the same version first: use its copy.
      if (!isExecutable(exe)) throw err;
    }
    return exe;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

const unpacking = new Map<string, Promise<string>>();

/**
 * Unpacks the packaged Chromium into `dir` unless it is there already, and returns the executable. Safe to call from
 * several places and processes at once. Takes a few seconds (about 190 MB) the first time.
 */
export function unpackPackagedChromium(pkg: PackagedChromium, dir: string = packagedChromiumDir(pkg)): Promise<string> {
  let pending = unpacking.get(dir);
  if (!pending) {
    pending = unpack(pkg, dir).catch((err: unknown) => {
      unpacking.delete(dir);
      throw new Error(
        `unpack the Chromium of ${PACKAGED_CHROMIUM_PACKAGE} ${pkg.version} into ${dir}: ${getErrorMessage(err)} ` +
          "(set XDG_CACHE_HOME to a writable folder, or install Chromium: apt-get install chromium)",
        { cause: err },
      );
    });
    unpacking.set(dir, pending);
  }
  return pending;
}
