// Writes a token or credentials file that is mode 0600 from its first byte.
import { rmSync, writeFileSync } from "node:fs";

/**
 * Replaces `path` with `content` in a new file created with mode 0600. Unlinking first (rather than writing into
 * the old file and chmod-ing after) means a pre-existing, looser file never holds the secret, and the exclusive
 * create (O_EXCL) never follows a symlink planted at `path`.
 */
export function writeSecretFile(path: string, content: string): void {
  rmSync(path, { force: true });
  writeFileSync(path, content, { mode: 0o600, flag: "wx" });
}
