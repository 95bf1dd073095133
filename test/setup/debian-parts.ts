// vitest globalSetup of the integration tier: sshd, ssh-keygen and Prometheus are here before any test starts, installed
// once from Debian when missing and this run may (root or password-less sudo, apt-get present); otherwise the run
// stops at once with one message naming the command to run.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { findOnPath } from "../../src/util/which.ts";
import { ensureDebianParts, missingDebianParts, type DebianPartsDeps } from "../helpers/real-parts.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

export default async function setup(): Promise<void> {
  try {
    await ensureDebianParts(deps());
  } catch (err) {
    // The message says everything; vitest would print the setup's stack frames under it.
    if (err instanceof Error) err.stack = `${err.name}: ${err.message}`;
    throw err;
  }
}

function deps(): DebianPartsDeps {
  return {
    missing: () => missingDebianParts(),
    canInstall: () => findOnPath("apt-get") !== undefined && (process.getuid?.() === 0 || spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0),
    install: () =>
      new Promise((resolve) => {
        const child = spawn("bash", ["scripts/install-deps.sh"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
        child.once("error", () => resolve(127));
        child.once("exit", (code) => resolve(code ?? 1));
      }),
    log: (line) => process.stderr.write(`${line}\n`),
  };
}
