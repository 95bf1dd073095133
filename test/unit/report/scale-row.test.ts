import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoderClient } from "../../../src/coder/client.ts";
import { loadRun, type RunData } from "../../../src/report/run-data.ts";
import { buildScaleTestRow } from "../../../src/report/scale-row.ts";
import { rowCells, rowMarkdown, ROW_COLUMNS } from "../../../src/report/scale-table.ts";
import { renderSummary } from "../../../src/report/summary.ts";
import { startSimulator, type Simulator } from "../../../src/simulator/index.ts";
import { writeRunFixture } from "../../helpers/run-fixture.ts";

describe("the Recent scale tests row", () => {
  let dir: string;
  let data: RunData;
  let sim: Simulator;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "scale-row-"));
    data = loadRun(await writeRunFixture(join(dir, "run")));
    sim = await startSimulator({ port: 0 });
  });
  afterAll(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fills what the run measured, coderd's version from its build info, and unknown for the rest", async () => {
    const row = await buildScaleTestRow(data, { client: new CoderClient({ url: sim.url }) });
    // 10 jobs started 100 ms apart, each 9 s or longer: all in flight at once; one failed. 4 SSH jobs and 2 dashboard users overlapped.
    expect(rowCells(row)).toEqual(["unknown", "unknown", "unknown", "unknown", "unknown", "9", "10", "4 SSH, 2 dashboard", "v2.16.0+sim", "Mar 2, 2026"]);
    expect(rowCells(row)).toHaveLength(ROW_COLUMNS.length);
  });

  it("says unknown when coderd cannot be asked, and keeps the operator's words", async () => {
    const down = new CoderClient({ url: "http://127.0.0.1:1", retry: { retries5xx: 0 } });
    const logs: string[] = [];
    const row = await buildScaleTestRow(data, { client: down, environment: "Kubernetes (GKE)", database: "db-custom-2-7680", log: (l) => logs.push(l) });
    expect([row.environment, row.database, row.coderVersion]).toEqual(["Kubernetes (GKE)", "db-custom-2-7680", "unknown"]);
    expect(logs.join("\n")).toMatch(/could not read coderd's build info/);
  });

  it("is a Markdown row in the summary text", async () => {
    const row = await buildScaleTestRow(data);
    const md = rowMarkdown(row);
    expect(md.split("\n")[0]).toBe("| Environment | Coder CPU | Coder RAM | Coder Replicas | Database | Users | Concurrent builds | Concurrent connections | Coder Version | Last tested |");
    expect(renderSummary({ ...data.summary, scaleTestRow: row })).toContain(`Recent scale tests row (as in Coder's scale testing docs):\n${md}`);
  });
});
