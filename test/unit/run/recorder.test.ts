import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Annotator } from "../../../src/grafana/annotations.ts";
import { RunRecorder } from "../../../src/run/recorder.ts";
import { readPhaseEvents } from "../../../src/state/phase.ts";
import { readStatus, StatusLockedError } from "../../../src/state/status.ts";
import { startFakeGrafana, type FakeGrafana } from "../../helpers/grafana.ts";

let dir: string;
let grafana: FakeGrafana;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "recorder-"));
  grafana = await startFakeGrafana();
});
afterEach(async () => {
  rmSync(dir, { recursive: true, force: true });
  await grafana.close();
});

const recorder = (onPhase?: (n: string, r: boolean) => void) => {
  const annotator = new Annotator({ url: grafana.url, token: grafana.token, recordFile: join(dir, "grafana-annotations"), log: () => {} });
  return { annotator, r: new RunRecorder(dir, annotator, { log: () => {}, onPhase }) };
};

describe("RunRecorder", () => {
  it("records a failing phase everywhere without throwing", async () => {
    const seen: string[] = [];
    const { annotator, r } = recorder((n, running) => seen.push(`${n}:${running}`));
    const p = await r.phase("Load scenario: X", "load", async () => {
      throw new Error("boom");
    });
    await annotator.flush();
    expect(p).toMatchObject({ outcome: "failed", error: "boom" });
    expect(readPhaseEvents(dir).map((e) => `${e.kind}:${e.name}`)).toEqual(["START:Load scenario: X", "END:Load scenario: X"]);
    expect(seen).toEqual(["Load scenario: X:true", "Load scenario: X:false"]);
    expect(grafana.annotations.get(1)).toMatchObject({ tags: ["scaletest", "runner", "phase", "phase-default", "error"] });
  });

  it("moves the status annotation and locks the status after a failure", async () => {
    const { annotator, r } = recorder();
    r.status("Running");
    r.status("Failed (exit=1)");
    await annotator.flush();
    const [running, failed] = [grafana.annotations.get(1)!, grafana.annotations.get(2)!];
    expect(running.text).toBe("Running");
    expect(running.timeEnd).toBeTypeOf("number");
    expect(failed).toMatchObject({ text: "Failed (exit=1)", tags: ["scaletest", "runner", "status", "error"] });
    expect(failed.timeEnd).toBeTypeOf("number");
    expect(() => r.status("Complete")).toThrow(StatusLockedError);
    expect(readStatus(dir)).toBe("Failed (exit=1)");
  });

  it("closes a status another process opened", async () => {
    const first = recorder();
    first.r.status("Preparing");
    await first.annotator.flush();
    const second = recorder();
    second.r.status("Running");
    await second.annotator.flush();
    expect(grafana.annotations.get(1)).toMatchObject({ text: "Preparing" });
    expect(grafana.annotations.get(1)!.timeEnd).toBeTypeOf("number");
    expect(grafana.annotations.get(2)!.timeEnd).toBeUndefined();
  });
});
