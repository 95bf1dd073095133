// Signals: the first stops the run, the second stops the cleanup (the run still ends consistent), only the third
// exits, after the last-resort steps.
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { stopOnSignals } from "../../../src/util/signals.ts";

function fakeProcess() {
  const proc = new EventEmitter() as EventEmitter & { stderr: { write: (s: string) => boolean }; exit: (code: number) => void };
  const out: string[] = [];
  const exits: number[] = [];
  proc.stderr = { write: (s: string) => (out.push(s), true) };
  proc.exit = (code: number) => void exits.push(code);
  return { proc, out, exits };
}

describe("stopOnSignals", () => {
  it("stops, then insists, then exits after the last-resort steps", () => {
    const { proc, out, exits } = fakeProcess();
    const s = stopOnSignals(proc as unknown as NodeJS.Process);
    const steps: string[] = [];
    s.atForcedExit(() => steps.push("token file removed"));
    s.atForcedExit(() => {
      throw new Error("a failing step does not stop the exit");
    });

    proc.emit("SIGTERM", "SIGTERM");
    expect([s.signal.aborted, s.insist.aborted, exits]).toEqual([true, false, []]);
    expect(out.at(-1)).toMatch(/^SIGTERM: stopping traffic/);

    proc.emit("SIGINT", "SIGINT");
    expect([s.insist.aborted, exits, steps]).toEqual([true, [], []]);
    expect(out.at(-1)).toMatch(/^SIGINT again: stopping the cleanup; writing results, naming what is left and revoking/);

    proc.emit("SIGTERM", "SIGTERM");
    expect(steps).toEqual(["token file removed"]);
    expect(exits).toEqual([143]);
  });
});
