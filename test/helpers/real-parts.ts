// The real parts the integration tier talks to, found where the helpers that start them look (OpenSSH's sshd and
// ssh-keygen, Prometheus: Debian packages), and the one-time check that gets them before any test runs.
import { findOnPath, isExecutable } from "../../src/util/which.ts";
import { prometheusPath } from "./prometheus.ts";
import { SSHD_BINARY } from "./sshd.ts";

/** A part the tests need that is not on this machine. */
export interface MissingPart {
  name: string;
  /** Where it was looked for. */
  where: string;
  /** The Debian package that brings it. */
  debianPackage: string;
}

/** The command that installs every missing part (needs root; it uses sudo otherwise). */
export const INSTALL_COMMAND = "sudo bash scripts/install-deps.sh";

/** The Debian parts missing here, empty when all are present. */
export function missingDebianParts(env: NodeJS.ProcessEnv = process.env): MissingPart[] {
  const missing: MissingPart[] = [];
  if (!isExecutable(SSHD_BINARY)) missing.push({ name: "sshd", where: SSHD_BINARY, debianPackage: "openssh-server" });
  if (!findOnPath("ssh-keygen", env)) missing.push({ name: "ssh-keygen", where: "PATH", debianPackage: "openssh-client" });
  const prometheus = prometheusPath(env);
  if (!isExecutable(prometheus)) missing.push({ name: "prometheus", where: prometheus, debianPackage: "prometheus" });
  return missing;
}

/** How the check finds and installs parts; tests swap these out. */
export interface DebianPartsDeps {
  missing(): MissingPart[];
  /** Whether installing can work without asking anyone: root (or password-less sudo) and apt-get present. */
  canInstall(): boolean;
  /** Runs scripts/install-deps.sh; resolves to its exit code. */
  install(): Promise<number>;
  log(line: string): void;
}

/**
 * Makes sure the Debian parts are here: installs the missing ones once when it can, and otherwise (or when the
 * install did not bring them) throws one error that names every missing part and the command to run.
 */
export async function ensureDebianParts(deps: DebianPartsDeps): Promise<void> {
  let missing = deps.missing();
  if (missing.length === 0) return;
  let installNote = "";
  if (deps.canInstall()) {
    deps.log(`test setup: ${missing.map((m) => m.name).join(", ")} missing; installing ${missing.map((m) => m.debianPackage).join(" ")} with scripts/install-deps.sh`);
    const code = await deps.install();
    missing = deps.missing();
    if (missing.length === 0) return;
    installNote = ` scripts/install-deps.sh ran here (exit ${code}) and did not bring them.`;
  }
  const list = missing.map((m) => `${m.name} (${m.where}; Debian package ${m.debianPackage})`).join(", ");
  throw new Error(
    `npm test needs real parts that are missing on this machine: ${list}.${installNote} ` +
      `Install them with \`${INSTALL_COMMAND}\` (Debian or Ubuntu), or point PROMETHEUS_BIN at a Prometheus binary, then run npm test again.`,
  );
}
