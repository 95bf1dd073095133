// The integration tier's one-time check of its Debian parts: found where the helpers look, installed once when it
// may, and otherwise one error naming every missing part and the command to run.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ensureDebianParts, INSTALL_COMMAND, missingDebianParts, type DebianPartsDeps, type MissingPart } from "../../helpers/real-parts.ts";

const SSHD: MissingPart = { name: "sshd", where: "/usr/sbin/sshd", debianPackage: "openssh-server" };
const PROMETHEUS: MissingPart = { name: "prometheus", where: "/usr/bin/prometheus", debianPackage: "prometheus" };

/** Deps whose `missing` answers from a list that a successful install empties. */
function machine(opts: { missing: MissingPart[]; canInstall: boolean; installWorks: boolean; exitCode?: number }) {
  let missing = [...opts.missing];
  const calls = { install: 0, logs: [] as string[] };
  const deps: DebianPartsDeps = {
    missing: () => missing,
    canInstall: () => opts.canInstall,
    install: async () => {
      calls.install++;
      if (opts.installWorks) missing = [];
      return opts.exitCode ?? 0;
    },
    log: (line) => calls.logs.push(line),
  };
  return { deps, calls };
}

describe("ensureDebianParts", () => {
  it("does nothing when every part is here", async () => {
    const { deps, calls } = machine({ missing: [], canInstall: true, installWorks: true });
    await ensureDebianParts(deps);
    expect(calls).toEqual({ install: 0, logs: [] });
  });

  it("installs the missing parts once when it may", async () => {
    const { deps, calls } = machine({ missing: [SSHD, PROMETHEUS], canInstall: true, installWorks: true });
    await ensureDebianParts(deps);
    expect(calls.install).toBe(1);
    expect(calls.logs).toEqual(["test setup: sshd, prometheus missing; installing openssh-server prometheus with scripts/install-deps.sh"]);
  });

  it("fails at once with one message naming every part and the command when it may not install", async () => {
    const { deps, calls } = machine({ missing: [SSHD, PROMETHEUS], canInstall: false, installWorks: true });
    const err = await ensureDebianParts(deps).catch((e: unknown) => e as Error);
    expect(calls.install).toBe(0);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain("sshd (/usr/sbin/sshd; Debian package openssh-server), prometheus (/usr/bin/prometheus; Debian package prometheus)");
    expect(err!.message).toContain(`\`${INSTALL_COMMAND}\``);
    expect(err!.message.split("\n")).toHaveLength(1);
  });

  it("says the install ran when it did not bring the parts", async () => {
    const { deps, calls } = machine({ missing: [PROMETHEUS], canInstall: true, installWorks: false, exitCode: 100 });
    await expect(ensureDebianParts(deps)).rejects.toThrow(/scripts\/install-deps.sh ran here \(exit 100\) and did not bring them/);
    expect(calls.install).toBe(1);
  });
});

describe("missingDebianParts", () => {
  it("looks where the helpers look: ssh-keygen on PATH, Prometheus at PROMETHEUS_BIN", () => {
    const missing = missingDebianParts({ PATH: "", PROMETHEUS_BIN: "/nonexistent/prometheus" });
    expect(missing).toContainEqual({ name: "ssh-keygen", where: "PATH", debianPackage: "openssh-client" });
    expect(missing).toContainEqual({ name: "prometheus", where: "/nonexistent/prometheus", debianPackage: "prometheus" });
  });
});

describe("scripts/install-deps.sh --check", () => {
  const script = fileURLToPath(new URL("../../../scripts/install-deps.sh", import.meta.url));
  const check = (env: NodeJS.ProcessEnv) => {
    const r = spawnSync("bash", [script, "--check"], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
    return { status: r.status, packages: r.stdout.trim().split(/\s+/).filter(Boolean) };
  };

  it("finds missing what the test helpers find missing, prometheus at $PROMETHEUS_BIN or Debian's path alike", () => {
    const dir = mkdtempSync(join(tmpdir(), "install-deps-"));
    try {
      const fake = join(dir, "prometheus");
      writeFileSync(fake, "#!/bin/sh\n");
      chmodSync(fake, 0o755);
      for (const env of [{ PROMETHEUS_BIN: join(dir, "absent") }, { PROMETHEUS_BIN: fake }, {}]) {
        const helpers = missingDebianParts({ PATH: process.env.PATH, ...env }).map((m) => m.debianPackage);
        const r = check(env);
        expect(r.packages, JSON.stringify(env)).toEqual(helpers);
        expect(r.status).toBe(helpers.length === 0 ? 0 : 1);
      }
      expect(check({ PROMETHEUS_BIN: join(dir, "absent") }).packages).toContain("prometheus");
      expect(check({ PROMETHEUS_BIN: fake }).packages).not.toContain("prometheus");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
