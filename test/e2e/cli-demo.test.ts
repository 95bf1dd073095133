// The create-and-clean-up demo (`DEMO=create npm run demo`) end to end, with fewer workspaces to stay quick: progress on stderr, a clean summary.
import { execa } from "execa";
import { describe, expect, it } from "vitest";

describe("npm run demo", () => {
  it("creates the workspaces with progress, cleans up, and reports a clean simulator", async () => {
    const res = await execa("npx", ["tsx", "scripts/demo.ts"], { reject: false, env: { DEMO: "create", DEMO_COUNT: "8", DEMO_CONCURRENCY: "4" } });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/create-workspaces: 8\/8 done {2}ok 8 {2}failed 0/);
    expect(res.stderr).toMatch(/cleanup users: 8\/8 done/);
    expect(res.stdout).toContain("Jobs:      8 total, 8 passed, 0 failed");
    expect(res.stdout).toMatch(/Job time: {2}p50 [\d.]+m?s, p95 [\d.]+m?s/);
    expect(res.stdout).toContain("Cleaned:   8 workspaces, 8 users");
    expect(res.stdout).toContain("Left over: 0 scaletest workspaces, 0 scaletest users (clean)");
  });
});
