import { describe, expect, it } from "vitest";
import { Progress } from "../../../src/report/progress.ts";
import type { TestRun } from "../../../src/harness/test-run.ts";

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (c: string) => (chunks.push(c), true) } as unknown as NodeJS.WritableStream & { isTTY?: boolean } };
}
const run = (outcome: TestRun["outcome"]) => ({ outcome }) as TestRun;

describe("Progress", () => {
  it("redraws one line in place on a terminal and ends it with a newline", () => {
    let t = 0;
    const s = sink(true);
    const p = new Progress({ stream: s.stream, label: "create-workspaces", total: 3, now: () => t });
    p.events.runStarted!(run(undefined));
    p.events.runStarted!(run(undefined));
    t = 1500;
    p.events.runFinished!(run("ok"));
    p.events.runFinished!(run("timed_out"));
    p.stop();
    expect(s.chunks.every((c) => c.startsWith("\r\x1b[2K"))).toBe(true);
    expect(s.chunks.at(-1)).toBe("\r\x1b[2Kcreate-workspaces: 2/3 done  ok 1  failed 0  timed out 1  running 0  elapsed 1.5s\n");
    expect(s.chunks.slice(0, -1).some((c) => c.includes("\n"))).toBe(false);
  });

  it("prints at most one line per interval when not a terminal, plus the final line", () => {
    let t = 0;
    const s = sink(false);
    const p = new Progress({ stream: s.stream, label: "cleanup workspaces", total: 10, intervalMs: 1000, now: () => t });
    for (let i = 0; i < 10; i++) {
      p.events.runStarted!(run(undefined));
      t += 300;
      p.events.runFinished!(run(i === 3 ? "failed" : "ok"));
    }
    p.stop();
    expect(s.chunks).toEqual([
      "cleanup workspaces: 4/10 done  ok 3  failed 1  running 0  elapsed 1.2s\n",
      "cleanup workspaces: 8/10 done  ok 7  failed 1  running 0  elapsed 2.4s\n",
      "cleanup workspaces: 10/10 done  ok 9  failed 1  running 0  elapsed 3s\n",
    ]);
  });

  it("appends the caller's detail, so a phase whose jobs all run until the end still shows movement", () => {
    let t = 0;
    let actions = 0;
    const s = sink(false);
    const p = new Progress({ stream: s.stream, label: "dashboard", total: 2, intervalMs: 1000, now: () => t, detail: () => `actions ${actions}` });
    p.events.runStarted!(run(undefined));
    p.events.runStarted!(run(undefined));
    t = 1000;
    actions = 7;
    p.stop();
    expect(s.chunks).toEqual(["dashboard: 0/2 done  ok 0  failed 0  running 2  actions 7  elapsed 1s\n"]);
  });
});
