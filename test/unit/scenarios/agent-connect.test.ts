// Build succeeded to every agent connected, per workspace: coderd's timestamps when it gives them, else what the job saw.
import { describe, expect, it } from "vitest";
import type { Workspace } from "../../../src/coder/types.ts";
import { agentConnectMs } from "../../../src/scenarios/create-workspaces/runner.ts";

/** A workspace whose latest build job completed at `completed` with agents first connected at `connected` (ISO times). */
function workspace(completed: string | undefined, connected: Array<string | undefined>): Workspace {
  const agents = connected.map((t, i) => ({ id: `a${i}`, name: `agent${i}`, status: "connected", lifecycle_state: "ready", apps: [], operating_system: "linux", ...(t ? { first_connected_at: t } : {}) }));
  return {
    latest_build: {
      job: { status: "succeeded", ...(completed ? { completed_at: completed } : {}) },
      resources: [{ agents: agents.slice(0, 1) }, { agents: [] }, { agents: agents.slice(1) }],
    },
  } as unknown as Workspace;
}

const seen = { buildDone: 10_000, agentsConnected: 11_000 };

describe("agent connect time", () => {
  it("is the last agent's first connection after the build job completed, by coderd's clock", () => {
    expect(agentConnectMs(workspace("2026-12-07T10:00:00.000Z", ["2026-12-07T10:00:00.250Z", "2026-12-07T10:00:01.750Z"]), seen)).toBe(1750);
  });

  it("is 0 when the agents connected before the build job completed", () => {
    expect(agentConnectMs(workspace("2026-12-07T10:00:02.000Z", ["2026-12-07T10:00:01.000Z"]), seen)).toBe(0);
  });

  it("falls back to what the job saw when coderd leaves a timestamp out", () => {
    expect(agentConnectMs(workspace(undefined, ["2026-12-07T10:00:01.000Z"]), seen)).toBe(1000);
    expect(agentConnectMs(workspace("2026-12-07T10:00:00.000Z", ["2026-12-07T10:00:01.000Z", undefined]), seen)).toBe(1000);
  });

  it("is undefined for a workspace without agents", () => {
    expect(agentConnectMs(workspace("2026-12-07T10:00:00.000Z", []), seen)).toBeUndefined();
  });
});
