// Memory of one browser: RSS and PSS summed over its process tree, read from /proc (Linux only).
import { readdirSync, readFileSync } from "node:fs";
import { MARKER_SWITCH } from "./chromium.ts";

/** Memory of a browser's process tree in bytes; PSS splits shared pages fairly, RSS counts them once per process. */
export interface BrowserMemory {
  processes: number;
  rssBytes: number;
  /** Proportional set size (0 where /proc/<pid>/smaps_rollup is unreadable). */
  pssBytes: number;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The parent PID from /proc/<pid>/stat (the command name may contain spaces and parentheses). */
function parentPid(stat: string): number {
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

function kbField(text: string | undefined, field: string): number {
  const m = text ? new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text) : null;
  return m ? Number(m[1]) * 1024 : 0;
}

/** Memory of the browser started with `marker` and all its descendants; zero processes when it is gone or not on Linux. */
export function browserMemory(marker: string, procRoot = "/proc"): BrowserMemory {
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((p) => /^\d+$/.test(p));
  } catch {
    return { processes: 0, rssBytes: 0, pssBytes: 0 };
  }
  const children = new Map<number, number[]>();
  let root: number | undefined;
  const tag = `${MARKER_SWITCH}=${marker}`;
  for (const p of pids) {
    const stat = readText(`${procRoot}/${p}/stat`);
    if (!stat) continue;
    const pid = Number(p);
    const ppid = parentPid(stat);
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
    if (root === undefined && readText(`${procRoot}/${p}/cmdline`)?.split("\0").includes(tag)) root = pid;
  }
  if (root === undefined) return { processes: 0, rssBytes: 0, pssBytes: 0 };
  const out: BrowserMemory = { processes: 0, rssBytes: 0, pssBytes: 0 };
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.processes++;
    out.rssBytes += kbField(readText(`${procRoot}/${pid}/status`), "VmRSS");
    out.pssBytes += kbField(readText(`${procRoot}/${pid}/smaps_rollup`), "Pss");
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}
