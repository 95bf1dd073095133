import { mkdtempSync, rmSync, statSync, appendFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Ledger, defaultStateDir, deploymentKey, keptRuns, ledgerPath, outstanding, readLedger, type LedgerRecord } from "../../../src/state/ledger.ts";

let dir: string;
beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), "ledger-")), "state");
});
afterEach(() => rmSync(join(dir, ".."), { recursive: true, force: true }));

const URL_A = "http://127.0.0.1:3000/";

describe("run ledger", () => {
  it("creates the file with mode 0600 in a 0700 directory and appends JSON lines", async () => {
    const l = await Ledger.open(dir, { url: URL_A, run: "r1" });
    await l.append({ op: "create-user", username: "scaletest-abc-0", email: "abc-0@scaletest.local" });
    await l.append({ op: "created-user", id: "u1", username: "scaletest-abc-0" });
    await l.close();
    expect(statSync(ledgerPath(dir)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const lines = readFileSync(ledgerPath(dir), "utf8").trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\{"op":"create-user","username":"scaletest-abc-0","email":"abc-0@scaletest.local","url":"http:\/\/127.0.0.1:3000","run":"r1","ts":"/);
  });

  it("appends across opens (append-only) and survives a torn last line", async () => {
    const a = await Ledger.open(dir, { url: URL_A, run: "r1" });
    await a.append({ op: "create-workspace", owner: "scaletest-abc-0", name: "scaletest-xyz-0" });
    await a.close();
    appendFileSync(ledgerPath(dir), '{"op":"created-workspace","id":"w1","own'); // crash mid-write
    const b = await Ledger.open(dir, { url: URL_A, run: "r2" });
    await b.append({ op: "create-user", username: "scaletest-def-1", email: "def-1@scaletest.local" });
    await b.close();
    const entries = await readLedger(dir);
    expect(entries.map((e) => [e.op, e.run])).toEqual([
      ["create-workspace", "r1"],
      ["create-user", "r2"],
    ]);
  });

  it("refuses to store anything that looks like a secret", async () => {
    const l = await Ledger.open(dir, { url: URL_A, run: "r1" });
    const bad = { op: "create-user", username: "u", email: "e", password: "hunter22" } as unknown as LedgerRecord;
    expect(() => l.append(bad)).toThrow(/password/);
    await l.close();
    expect(readFileSync(ledgerPath(dir), "utf8")).toBe("");
  });

  it("serialises concurrent appends into whole lines", async () => {
    const l = await Ledger.open(dir, { url: URL_A, run: "r1" });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => l.append({ op: "create-user", username: `scaletest-x-${i}`, email: `x-${i}@scaletest.local` })),
    );
    await l.close();
    const entries = await readLedger(dir);
    expect(entries).toHaveLength(50);
    expect(new Set(entries.map((e) => e.op === "create-user" && e.username)).size).toBe(50);
  });

  it("reads an absent ledger as empty", async () => {
    expect(await readLedger(join(dir, "nope"))).toEqual([]);
  });
});

describe("outstanding", () => {
  it("lists announced and created resources not deleted since, for one deployment only", async () => {
    const a = await Ledger.open(dir, { url: URL_A, run: "r1" });
    const other = await Ledger.open(dir, { url: "http://127.0.0.1:4000", run: "r9" });
    await a.append({ op: "create-user", username: "scaletest-a-0", email: "a-0@scaletest.local" });
    await a.append({ op: "created-user", id: "u0", username: "scaletest-a-0" });
    await a.append({ op: "create-workspace", owner: "scaletest-a-0", name: "scaletest-w-0" });
    await a.append({ op: "created-workspace", id: "w0", owner: "scaletest-a-0", name: "scaletest-w-0" });
    await a.append({ op: "create-user", username: "scaletest-a-1", email: "a-1@scaletest.local" }); // response never arrived
    await a.append({ op: "create-workspace", owner: "scaletest-a-2", name: "scaletest-w-2" });
    await a.append({ op: "deleted-workspace", owner: "scaletest-a-2", name: "scaletest-w-2" });
    await a.append({ op: "create-user", username: "scaletest-a-2", email: "a-2@scaletest.local" });
    await a.append({ op: "deleted-user", username: "scaletest-a-2" });
    await other.append({ op: "create-user", username: "scaletest-b-0", email: "b-0@scaletest.local" });
    await a.close();
    await other.close();
    const out = outstanding(await readLedger(dir), "http://127.0.0.1:3000");
    expect(out.workspaces).toEqual([{ owner: "scaletest-a-0", name: "scaletest-w-0", id: "w0", run: "r1" }]);
    expect(out.users).toEqual([
      { username: "scaletest-a-0", email: "a-0@scaletest.local", id: "u0", run: "r1" },
      { username: "scaletest-a-1", email: "a-1@scaletest.local", run: "r1" },
    ]);
  });

  it("normalises the deployment URL", () => {
    expect(deploymentKey("https://coder.example.com/")).toBe("https://coder.example.com");
    expect(deploymentKey("https://user:pw@coder.example.com/base/")).toBe("https://coder.example.com/base");
  });

  it("state dir honours a non-empty SCALETEST_STATE_DIR", () => {
    expect(defaultStateDir({ SCALETEST_STATE_DIR: "/x/y" })).toBe("/x/y");
    expect(defaultStateDir({ SCALETEST_STATE_DIR: "" })).toMatch(/\.scaletest$/);
  });
});

describe("keptRuns", () => {
  it("names the runs that asked to keep their resources, per deployment", async () => {
    const a = await Ledger.open(dir, { url: URL_A, run: "kept" });
    await a.append({ op: "keep", reason: "--no-cleanup" });
    await a.close();
    const b = await Ledger.open(dir, { url: "http://127.0.0.1:4000", run: "elsewhere" });
    await b.append({ op: "keep", reason: "--no-cleanup" });
    await b.close();
    const c = await Ledger.open(dir, { url: URL_A, run: "plain" });
    await c.append({ op: "create-user", username: "scaletest-p-0", email: "p-0@scaletest.local" });
    await c.close();
    expect([...keptRuns(await readLedger(dir), URL_A)]).toEqual(["kept"]);
  });
});
