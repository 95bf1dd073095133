// `npm run demo` end to end, smaller and shorter: the staged test with all four scenarios against the built-in simulator, a readable summary, nothing left.
import { execa } from "execa";
import { describe, expect, it } from "vitest";

describe("npm run demo", () => {
  it("runs every phase and scenario, Dashboard Traffic included, and leaves the simulator clean", async () => {
    const res = await execa("npx", ["tsx", "scripts/demo.ts"], {
      reject: false,
      env: { DEMO_COUNT: "4", DEMO_SCENARIO_DURATION: "8s", DEMO_BASELINE: "1s" },
    });
    expect(res.exitCode, res.stderr).toBe(0);
    for (const name of ["SSH Traffic", "Web Terminal Traffic", "App Traffic", "Dashboard Traffic"]) {
      expect(res.stdout).toMatch(new RegExp(`ok\\s+\\d+\\. Load scenario: ${name}`));
    }
    const actions = /(\d+) actions?, duration p50/.exec(res.stdout);
    expect(actions, res.stdout).not.toBeNull();
    expect(Number(actions![1])).toBeGreaterThan(0);
    expect(res.stderr).toMatch(/built-in simulator: 0 scaletest workspace\(s\) and 0 scaletest user\(s\) left \(clean\)/);
  });
});
