// The run ledger: an append-only, fsync'd JSON-lines record of what a run is about to create and did create,
// so cleanup can find resources from a crashed run even when the create response never arrived.
import { mkdirSync } from "node:fs";
import { chmod, open, readFile, type FileHandle } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

/** One thing a run did or is about to do. Never carries a password or token. */
export type LedgerRecord =
  /** Written before POST /users. */
  | { op: "create-user"; username: string; email: string }
  | { op: "created-user"; id: string; username: string }
  /** Written before POST /users/{owner}/workspaces; `owner` is the username. */
  | { op: "create-workspace"; owner: string; name: string }
  | { op: "created-workspace"; id: string; owner: string; name: string }
  | { op: "deleted-workspace"; owner: string; name: string }
  | { op: "deleted-user"; username: string }
  /** The run keeps what it made on purpose (create-workspaces --no-cleanup): only an operator's cleanup deletes it. */
  | { op: "keep"; reason: string }
  /** Written before a sharded phase creates its Kubernetes Job; `cluster` is the API server's URL. */
  | { op: "create-job"; cluster: string; namespace: string; name: string }
  | { op: "deleted-job"; cluster: string; namespace: string; name: string };

/** A record as stored: plus the deployment it concerns, the run that wrote it, and when (RFC 3339). */
export type LedgerEntry = LedgerRecord & { url: string; run: string; ts: string };

/** A workspace a run may have created and nobody has deleted yet. */
export interface PendingWorkspace {
  owner: string;
  name: string;
  id?: string;
  run: string;
}

/** A shard Job a run may have created and nobody has deleted yet. */
export interface PendingJob {
  /** The deployment the run that made it was testing (its ledger scope). */
  url: string;
  cluster: string;
  namespace: string;
  name: string;
  run: string;
}

/** A user a run may have created and nobody has deleted yet. */
export interface PendingUser {
  username: string;
  email?: string;
  id?: string;
  run: string;
}

/** The ledger file name inside the state directory. */
export const LEDGER_FILE = "ledger.jsonl";

/** `$SCALETEST_STATE_DIR` when non-empty, else `~/.scaletest`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SCALETEST_STATE_DIR || join(homedir(), ".scaletest");
}

/** Path of the ledger under a state directory. */
export function ledgerPath(stateDir: string): string {
  return join(stateDir, LEDGER_FILE);
}

// Belt and braces on top of the types: a field with one of these names is refused at runtime.
const FORBIDDEN_KEYS = /pass|token|secret|key|cookie/i;

/** The deployment identity entries are scoped by (origin plus path, no credentials, no trailing slash). */
export function deploymentKey(url: string | URL): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
}

/** An open ledger for one run against one deployment. Appends are serialised and each one is fsync'd. */
export class Ledger {
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly url: string,
    readonly run: string,
  ) {}

  /** Opens (creating, mode 0600 in a 0700 directory) the ledger of `stateDir` for appending. */
  static async open(stateDir: string, opts: { url: string | URL; run: string }): Promise<Ledger> {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const path = ledgerPath(stateDir);
    const fh = await open(path, "a+", 0o600);
    await chmod(path, 0o600);
    // A crash mid-write leaves a torn last line; start on a fresh line so our first record stays whole.
    const { size } = await fh.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) await fh.write("\n");
    }
    return new Ledger(path, fh, deploymentKey(opts.url), opts.run);
  }

  /** Appends one record and waits until it is on disk. Call it BEFORE the request it announces. */
  append(rec: LedgerRecord): Promise<void> {
    for (const k of Object.keys(rec)) if (FORBIDDEN_KEYS.test(k)) throw new Error(`ledger: refusing to store field "${k}"`);
    const entry = { ...rec, url: this.url, run: this.run, ts: new Date().toISOString() };
    const line = `${JSON.stringify(entry)}\n`;
    const next = this.chain.then(async () => {
      await this.fh.write(line);
      await this.fh.datasync();
    });
    // Keep the chain alive after a failed write; the caller still sees the failure.
    this.chain = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.fh.close();
  }
}

/** Reads every well-formed entry; a torn last line (crash mid-write) and malformed lines are skipped. */
export async function readLedger(stateDir: string): Promise<LedgerEntry[]> {
  let text: string;
  try {
    text = await readFile(ledgerPath(stateDir), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: LedgerEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as LedgerEntry;
      if (e && typeof e === "object" && typeof e.op === "string" && typeof e.url === "string") out.push(e);
    } catch {
      /* torn or foreign line */
    }
  }
  return out;
}

const str = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/** The runs on deployment `url` that asked to keep what they made (the runner's own cleanups leave them alone). */
export function keptRuns(entries: readonly LedgerEntry[], url: string | URL): Set<string> {
  const key = deploymentKey(url);
  return new Set(entries.filter((e) => e.url === key && e.op === "keep").map((e) => e.run));
}

/** What the ledger says may still exist on deployment `url`: created or announced, and not deleted since. */
export function outstanding(entries: readonly LedgerEntry[], url: string | URL): { users: PendingUser[]; workspaces: PendingWorkspace[] } {
  const key = deploymentKey(url);
  const users = new Map<string, PendingUser>();
  const workspaces = new Map<string, PendingWorkspace>();
  for (const e of entries) {
    if (e.url !== key) continue;
    switch (e.op) {
      case "create-user":
        if (str(e.username)) users.set(e.username, { ...users.get(e.username), username: e.username, email: e.email, run: e.run });
        break;
      case "created-user":
        if (str(e.username)) users.set(e.username, { ...users.get(e.username), username: e.username, id: e.id, run: e.run });
        break;
      case "create-workspace":
      case "created-workspace": {
        if (!str(e.owner) || !str(e.name)) break;
        const k = `${e.owner}/${e.name}`;
        const id = e.op === "created-workspace" ? e.id : workspaces.get(k)?.id;
        workspaces.set(k, { owner: e.owner, name: e.name, id, run: e.run });
        break;
      }
      case "deleted-workspace":
        workspaces.delete(`${e.owner}/${e.name}`);
        break;
      case "deleted-user":
        users.delete(e.username);
        break;
    }
  }
  return { users: [...users.values()], workspaces: [...workspaces.values()] };
}

/** The shard Jobs the ledger says may still exist (created or announced, not deleted since), whatever the deployment. */
export function outstandingJobs(entries: readonly LedgerEntry[]): PendingJob[] {
  const jobs = new Map<string, PendingJob>();
  for (const e of entries) {
    if (e.op !== "create-job" && e.op !== "deleted-job") continue;
    if (!str(e.cluster) || !str(e.namespace) || !str(e.name)) continue;
    const k = `${e.cluster} ${e.namespace}/${e.name}`;
    if (e.op === "create-job") jobs.set(k, { url: e.url, cluster: e.cluster, namespace: e.namespace, name: e.name, run: e.run });
    else jobs.delete(k);
  }
  return [...jobs.values()];
}
