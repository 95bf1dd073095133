// Cleanup of shard Jobs a coordinator left (crashed, killed, or its delete failed): found through the run ledger only.
import { getErrorMessage } from "../errors.ts";
import { Ledger, outstandingJobs, readLedger, type PendingJob } from "../state/ledger.ts";
import { liveRuns } from "../state/run-lock.ts";
import { deleteShardJob } from "./coordinator.ts";
import type { KubeApi } from "./kube.ts";

/** What a shard-Job cleanup did. */
export interface ShardJobCleanup {
  deleted: string[];
  /** Jobs still recorded, each with why it was not deleted. */
  left: string[];
}

const label = (j: PendingJob) => `Job ${j.namespace}/${j.name} (run ${j.run})`;

/**
 * Deletes every shard Job the ledgers of `stateDir` record as created and not deleted, unless its run is still live
 * (it deletes its own) or it lives on another cluster than `connect` reaches. Connects only when there is one to delete.
 */
export async function cleanupShardJobs(o: { stateDir: string; connect: () => Promise<KubeApi>; log: (line: string) => void }): Promise<ShardJobCleanup> {
  const out: ShardJobCleanup = { deleted: [], left: [] };
  const live = liveRuns(o.stateDir);
  const pending = outstandingJobs(await readLedger(o.stateDir));
  const mine = pending.filter((j) => {
    if (!live.has(j.run)) return true;
    out.left.push(`${label(j)}: its run is still running; it deletes its own Jobs`);
    return false;
  });
  if (mine.length === 0) return out;
  let kube: KubeApi;
  try {
    kube = await o.connect();
  } catch (err) {
    for (const j of mine) out.left.push(`${label(j)}: ${getErrorMessage(err)}`);
    return out;
  }
  for (const j of mine) {
    if (j.cluster !== kube.server) {
      out.left.push(`${label(j)}: on cluster ${j.cluster}, this config reaches ${kube.server}`);
      continue;
    }
    const ledger = await Ledger.open(o.stateDir, { url: j.url, run: j.run });
    try {
      const ok = await deleteShardJob(kube, j, (rec) => ledger.append(rec), o.log);
      (ok ? out.deleted : out.left).push(ok ? label(j) : `${label(j)}: the delete failed`);
    } finally {
      await ledger.close();
    }
  }
  return out;
}
