// The layering lint: no import circle in src/, no arrow from a lower floor up; and the checker itself catches both.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { findCycles, layerViolations, readImportGraph, type ImportGraph } from "../../../tools/imports.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));

describe("the project's imports", () => {
  const graph = readImportGraph(root);

  it("reads the whole of src/", () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get("src/run/staged.ts")).toContain("src/scenarios/index.ts");
  });

  it("have no import circle", () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it("never point from a lower floor up", () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it("come from files of at most 500 lines", () => {
    const ts = [...graph.keys()].filter((f) => f.endsWith(".ts"));
    expect(ts.length).toBeGreaterThan(100);
    const long = ts.map((f) => ({ f, lines: readFileSync(join(root, f), "utf8").split("\n").length - 1 })).filter((x) => x.lines > 500);
    expect(long).toEqual([]);
  });

  it("build a Harness only in a scenario's phase (or the harness itself): the CLI and the staged run call the phases", () => {
    const builders = [...graph.keys()].filter((f) => /\bnew Harness\(/.test(readFileSync(join(root, f), "utf8")));
    expect(builders.length).toBeGreaterThan(0);
    expect(builders.filter((f) => !f.startsWith("src/scenarios/") && !f.startsWith("src/harness/"))).toEqual([]);
  });
});

describe("the checker", () => {
  const g = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges).map(([k, v]) => [k, new Set(v)]));
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("finds a circle of three files and a file that imports itself, not a diamond", () => {
    const cycles = findCycles(
      g({
        "src/a.ts": ["src/b.ts"],
        "src/b.ts": ["src/c.ts"],
        "src/c.ts": ["src/a.ts"],
        "src/self.ts": ["src/self.ts"],
        "src/top.ts": ["src/left.ts", "src/right.ts"],
        "src/left.ts": ["src/bottom.ts"],
        "src/right.ts": ["src/bottom.ts"],
        "src/bottom.ts": [],
      }),
    );
    expect(cycles).toEqual([["src/a.ts", "src/b.ts", "src/c.ts"], ["src/self.ts"]]);
  });

  it("names each forbidden direction", () => {
    const v = layerViolations(
      g({
        "src/harness/harness.ts": ["src/coder/client.ts", "src/util/abort.ts"],
        "src/traffic/rpty.ts": ["src/scenarios/index.ts", "src/coder/urls.ts"],
        "src/scenarios/index.ts": ["src/run/staged.ts", "src/cli/run.ts"],
        "src/run/staged.ts": ["tools/imports.ts", "src/cli.ts"],
      }),
    );
    expect(v).toEqual([
      "src/harness/harness.ts -> src/coder/client.ts (the harness knows nothing of Coder or the project)",
      "src/run/staged.ts -> src/cli.ts (the staged run is called by the scripts and the CLI)",
      "src/run/staged.ts -> tools/imports.ts (runtime code never loads dev tooling)",
      "src/scenarios/index.ts -> src/cli/run.ts (a scenario is called by the staged run and the CLI, never the other way)",
      "src/scenarios/index.ts -> src/run/staged.ts (a scenario is called by the staged run and the CLI, never the other way)",
      "src/traffic/rpty.ts -> src/scenarios/index.ts (the traffic engine is driven, it does not drive)",
    ]);
  });

  it("reads type-only, re-export and dynamic imports from files, and ignores commented ones", () => {
    dir = mkdtempSync(join(tmpdir(), "imports-"));
    const write = (p: string, text: string) => {
      mkdirSync(dirname(join(dir!, p)), { recursive: true });
      writeFileSync(join(dir!, p), text);
    };
    write("src/a.ts", 'import type { B } from "./b.ts";\nexport const a = 1;\n');
    write("src/b.ts", 'export { c } from "./sub/c.ts";\nexport type B = number;\n');
    write("src/sub/c.ts", 'export const c = async () => (await import("../a.ts")).a;\n// import { x } from "../b.ts";\n');
    // A "/*" inside a string is code, not the start of a comment that hides the imports after it.
    write("src/glob.ts", 'const route = "/api/v2/*";\nimport { a } from "./a.ts";\n/** doc */\nexport const g = [route, a];\n');
    const graph = readImportGraph(dir);
    expect([...graph.get("src/sub/c.ts")!]).toEqual(["src/a.ts"]);
    expect([...graph.get("src/glob.ts")!]).toEqual(["src/a.ts"]);
    expect(findCycles(graph)).toEqual([["src/a.ts", "src/b.ts", "src/sub/c.ts"]]);
  });
});
