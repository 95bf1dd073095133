// The run's liveness mark: one holder per run id, released at the end; a dead holder (gone pid, reused pid, stale
// heartbeat on another host) is taken over and its run counts as crashed; the holder's own runs are not "live others".
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { holderAlive, liveRuns, locksDir, processStart, RunLock, RunLockedError, STALE_MS, type RunLockInfo } from "../../../src/state/run-lock.ts";
import { deadPid, writeForeignLock } from "../../helpers/run-locks.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "run-lock-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const foreignLock = (run: string, info: Partial<RunLockInfo>, mtimeMs?: number) => writeForeignLock(dir, run, info, mtimeMs);

describe("run lock", () => {
  it("is held by one process at a time, 0600, and released at the end", () => {
    const lock = RunLock.acquire(dir, "scaletest-2024-01-01T00-00-00Z");
    expect(statSync(lock.path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(lock.path, "utf8"))).toMatchObject({ run: "scaletest-2024-01-01T00-00-00Z", pid: process.pid, host: hostname() });
    expect(() => RunLock.acquire(dir, "scaletest-2024-01-01T00-00-00Z")).toThrow(RunLockedError);
    // Another run id is another lock.
    const other = RunLock.acquire(dir, "create-workspaces-1");
    lock.release();
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
    expect(RunLock.acquire(dir, "scaletest-2024-01-01T00-00-00Z").path).toBe(lock.path);
    other.release();
  });

  it("refuses a run id a live process holds, naming it", () => {
    foreignLock("r1", { pid: process.ppid, procStart: processStart(process.ppid) });
    expect(() => RunLock.acquire(dir, "r1")).toThrow(`run "r1" is already running (pid ${process.ppid} on ${hostname()}`);
  });

  it("takes over the lock of a crashed holder", () => {
    foreignLock("r1", { pid: deadPid() });
    const lock = RunLock.acquire(dir, "r1");
    expect(JSON.parse(readFileSync(lock.path, "utf8")).pid).toBe(process.pid);
    lock.release();
  });

  it("lists live runs of other processes only", () => {
    const mine = RunLock.acquire(dir, "mine");
    foreignLock("alive", { pid: process.ppid, procStart: processStart(process.ppid) });
    foreignLock("crashed", { pid: deadPid() });
    foreignLock("reused-pid", { pid: process.ppid, procStart: "1" }); // the pid now belongs to another process
    foreignLock("other-host-fresh", { pid: 1, host: "elsewhere.invalid" }, Date.now());
    foreignLock("other-host-stale", { pid: 1, host: "elsewhere.invalid" }, Date.now() - STALE_MS - 1000);
    writeFileSync(join(locksDir(dir), "garbage.lock"), "{not json");
    expect([...liveRuns(dir).keys()].sort()).toEqual(["alive", "other-host-fresh"]);
    // Seen from another process, this one's run is live too.
    expect([...liveRuns(dir, { self: -1 }).keys()].sort()).toEqual(["alive", "mine", "other-host-fresh"]);
    mine.release();
  });

  it("judges another host by its heartbeat only", () => {
    const info: RunLockInfo = { run: "r", pid: 1, host: "elsewhere.invalid", startedAt: "" };
    expect(holderAlive(info, 1_000_000, 1_000_000 + STALE_MS - 1)).toBe(true);
    expect(holderAlive(info, 1_000_000, 1_000_000 + STALE_MS)).toBe(false);
  });

  it("reads no runs from a state dir without locks", () => {
    expect(liveRuns(join(dir, "absent")).size).toBe(0);
  });
});
