// Executable lookup: whether a path can be run, and where a command is on PATH (as `which` finds it).
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** Whether `path` exists and may be executed by this process. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The entries of `env.PATH` in order, empty ones dropped (an unset PATH has none). */
export function pathDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.PATH ?? "").split(delimiter).filter((d) => d !== "");
}

/** The first executable `name` on PATH, or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return pathDirs(env).map((d) => join(d, name)).find(isExecutable);
}
