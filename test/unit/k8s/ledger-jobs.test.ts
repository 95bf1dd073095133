// Shard Jobs in the run ledger: recorded before they exist, gone once a delete is recorded, kept apart by cluster.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Ledger, ledgerPath, outstanding, outstandingJobs, readLedger } from "../../../src/state/ledger.ts";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("shard Jobs in the ledger", () => {
  it("are outstanding from create-job until deleted-job on the same cluster, whatever the deployment; never workspaces", async () => {
    dir = mkdtempSync(join(tmpdir(), "ledger-jobs-"));
    const a = await Ledger.open(dir, { url: "https://coder.example.com", run: "run-a" });
    await a.append({ op: "create-job", cluster: "https://k8s-1:6443", namespace: "coder-big", name: "run-a-web-terminal-traffic" });
    await a.append({ op: "create-job", cluster: "https://k8s-1:6443", namespace: "coder-big", name: "run-a-app-traffic" });
    await a.append({ op: "deleted-job", cluster: "https://k8s-1:6443", namespace: "coder-big", name: "run-a-app-traffic" });
    // Same name on another cluster: a different Job, and its deletion does not count for the first.
    await a.append({ op: "deleted-job", cluster: "https://k8s-2:6443", namespace: "coder-big", name: "run-a-web-terminal-traffic" });
    await a.close();
    const entries = await readLedger(dir);
    expect(outstandingJobs(entries)).toEqual([
      { url: "https://coder.example.com", cluster: "https://k8s-1:6443", namespace: "coder-big", name: "run-a-web-terminal-traffic", run: "run-a" },
    ]);
    expect(outstanding(entries, "https://coder.example.com")).toEqual({ users: [], workspaces: [] });
    expect(readFileSync(ledgerPath(dir), "utf8")).not.toMatch(/token|secret/i);
  });
});
