// Where the simulator's `coder` shim lives, for callers that spawn `coder ssh --stdio` against the simulator.
import { fileURLToPath } from "node:url";

/** Absolute path of the executable `coder` shim (a plain Node script with a shebang; no tsx needed). */
export function coderShimPath(): string {
  return fileURLToPath(new URL("./coder", import.meta.url));
}
