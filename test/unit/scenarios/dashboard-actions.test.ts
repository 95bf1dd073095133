// The dashboard action table, the seeded choice, the wait window, `--target-users` ranges and the timing checks.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.ts";
import { chooseAction, DASHBOARD_ACTIONS, nextWaitMs } from "../../../src/scenarios/dashboard/actions.ts";
import { validateWalkTiming } from "../../../src/scenarios/dashboard/setup.ts";
import { parseTargetRange, selectRange } from "../../../src/scenarios/targets.ts";
import { seededRandom } from "../../../src/util/random.ts";

describe("DASHBOARD_ACTIONS", () => {
  it("keeps upstream's labels in upstream's order", () => {
    expect(DASHBOARD_ACTIONS.map((a) => a.label)).toEqual([
      "workspace_list",
      "starter_templates",
      "workspace_details",
      "workspace_build_details",
      "template_list",
      "template_docs",
      "template_files",
      "template_versions",
      "template_version_details",
      "user_list",
    ]);
  });

  it("fixes template_files: it clicks the Source Code tab, not the docs link", () => {
    const files = DASHBOARD_ACTIONS.find((a) => a.label === "template_files")!;
    const docs = DASHBOARD_ACTIONS.find((a) => a.label === "template_docs")!;
    expect(files.click).not.toBe(docs.click);
    expect(files.click).toContain('[href$="/files"]');
    expect(files.waitFor).toBe(".monaco-editor");
  });
});

describe("chooseAction", () => {
  it("returns undefined when nothing matched", () => {
    expect(chooseAction(DASHBOARD_ACTIONS.map(() => 0), seededRandom(0))).toBeUndefined();
  });

  it("only picks actions with matches, and a match index within their count", () => {
    const counts = DASHBOARD_ACTIONS.map((a) => (a.label === "user_list" ? 1 : a.label === "workspace_details" ? 7 : 0));
    const rand = seededRandom(42);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const c = chooseAction(counts, rand)!;
      seen.add(c.action.label);
      expect(c.index).toBeGreaterThanOrEqual(0);
      expect(c.index).toBeLessThan(c.action.label === "user_list" ? 1 : 7);
    }
    expect([...seen].sort()).toEqual(["user_list", "workspace_details"]);
  });

  it("is the same sequence for the same seed (every user walks alike, as upstream)", () => {
    const counts = DASHBOARD_ACTIONS.map((_, i) => i + 1);
    const walk = (seed: number) => {
      const rand = seededRandom(seed);
      return Array.from({ length: 20 }, () => {
        const c = chooseAction(counts, rand)!;
        return `${c.action.label}#${c.index}`;
      });
    };
    expect(walk(7)).toEqual(walk(7));
    expect(walk(7)).not.toEqual(walk(8));
  });
});

describe("nextWaitMs", () => {
  it("lies in [interval - jitter, interval + jitter)", () => {
    const rand = seededRandom(3);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < 1000; i++) {
      const w = nextWaitMs(10_000, 5_000, rand);
      lo = Math.min(lo, w);
      hi = Math.max(hi, w);
    }
    expect(lo).toBeGreaterThanOrEqual(5_000);
    expect(hi).toBeLessThan(15_000);
    expect(hi - lo).toBeGreaterThan(9_000);
  });

  it("is exactly the interval without jitter", () => {
    expect(nextWaitMs(1000, 0, seededRandom(1))).toBe(1000);
  });
});

describe("parseTargetRange", () => {
  it("selects everything for an empty value", () => {
    expect(parseTargetRange("", "users")).toEqual({ start: 0, end: 0 });
  });

  it("gives upstream's errors", () => {
    expect(() => parseTargetRange("1-2", "users")).toThrow('invalid target users "1-2"');
    expect(() => parseTargetRange("a:2", "users")).toThrow('invalid target users "a:2"');
    expect(() => parseTargetRange("1:2:3", "users")).toThrow('invalid target users "1:2:3"');
    expect(() => parseTargetRange("3:3", "users")).toThrow('invalid target users "3:3": start and end cannot be equal');
    expect(() => parseTargetRange("5:2", "users")).toThrow('invalid target users "5:2": end cannot be less than start');
    expect(() => parseTargetRange("0:0", "users")).toThrow("start and end cannot be equal");
  });

  it("selects START <= i < END, END beyond the list means to the end; a negative START is refused", () => {
    const list = ["a", "b", "c", "d"];
    expect(selectRange(list, parseTargetRange("1:3", "users"))).toEqual(["b", "c"]);
    expect(selectRange(list, parseTargetRange("2:99", "users"))).toEqual(["c", "d"]);
    expect(() => parseTargetRange("-3:0", "users")).toThrow('invalid target users "-3:0": start must be 0 or more');
    expect(selectRange(list, parseTargetRange("", "users"))).toEqual(list);
  });
});

describe("validateWalkTiming", () => {
  it("accepts jitter below the interval", () => {
    expect(() => validateWalkTiming(10_000, 5_000)).not.toThrow();
    expect(() => validateWalkTiming(1_000, 0)).not.toThrow();
  });

  it("names the flag and the rule", () => {
    expect(() => validateWalkTiming(0, 0)).toThrow(ConfigError);
    expect(() => validateWalkTiming(0, 0)).toThrow("validate --interval: must be greater than zero");
    expect(() => validateWalkTiming(1_000, 1_000)).toThrow("validate --jitter: must be at least 0 and less than --interval");
    expect(() => validateWalkTiming(1_000, -1)).toThrow("validate --jitter");
  });
});
