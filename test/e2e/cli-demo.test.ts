// `npm run demo` end to end, smaller and shorter: the staged test with all four scenarios against the built-in simulator, a readable summary, nothing left.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

describe("npm run demo", () => {
  it("runs every phase and scenario, Dashboard Traffic included, leaves the simulator clean, and ends with the verdict, the row and report.html", async () => {
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
    // It ends with the verdict on its thresholds, the run's "Recent scale tests" row, and where report.html is.
    const end = new RegExp(
      [
        "Verdict: PASS",
        "  ok   error_rate < 1%: observed [^\\n]+",
        "  ok   build\\.p95 < 2m: observed [^\\n]+",
        "(?:  runner warning: [^\\n]+\\n)*Recent scale tests row \\(as in Coder's scale testing docs\\):",
        "\\| Environment \\| Coder CPU \\| Coder RAM \\| Coder Replicas \\| Database \\| Users \\| Concurrent builds \\| Concurrent connections \\| Coder Version \\| Last tested \\|",
        "\\| --- [^\\n]+",
        "\\| unknown \\| unknown \\| unknown \\| unknown \\| unknown \\| 4 \\| (\\d+) \\| \\d+ SSH, \\d+ terminal, \\d+ app, \\d+ dashboard \\| v2\\.16\\.0\\+sim \\| [^|\\n]+ \\|",
        "Results: \\S+",
        // execa strips the last newline.
        "Report: (\\S+/report\\.html)$",
      ].join("\\n"),
    );
    const m = end.exec(res.stdout);
    expect(m, res.stdout.slice(-2000)).not.toBeNull();
    const [, builds, report] = m!;
    expect(Number(builds)).toBeGreaterThanOrEqual(1);
    expect(Number(builds)).toBeLessThanOrEqual(4);
    try {
      expect(existsSync(report!)).toBe(true);
      expect(readFileSync(report!, "utf8")).toContain('<span class="badge pass" id="verdict">PASS</span>');
    } finally {
      // The demo keeps its run dir for the operator; the test does not.
      rmSync(dirname(report!), { recursive: true, force: true });
    }
  });
});
