// The project's import graph (static, type-only and dynamic imports alike) and the layering rules it must keep.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** File → the project files it imports, paths relative to the root ("src/run/staged.ts"). */
export type ImportGraph = Map<string, Set<string>>;

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

/** Reads every .ts/.js file under `dir` (relative to `root`) and the relative imports each makes. */
export function readImportGraph(root: string, dir = "src"): ImportGraph {
  const graph: ImportGraph = new Map();
  const walk = (d: string): void => {
    for (const e of readdirSync(join(root, d), { withFileTypes: true })) {
      const rel = join(d, e.name);
      if (e.isDirectory()) walk(rel);
      else if (/\.(ts|js)$/.test(e.name)) graph.set(rel, importsOf(root, rel));
    }
  };
  walk(dir);
  return graph;
}

function importsOf(root: string, file: string): Set<string> {
  // Block comments are taken out only where they start a line: a "/*" inside a string (a route glob) is code.
  const text = readFileSync(join(root, file), "utf8").replace(/^\s*\/\*[\s\S]*?\*\//gm, "").replace(/^\s*\/\/.*$/gm, "");
  const out = new Set<string>();
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2]!;
    out.add(relative(root, resolve(root, dirname(file), spec)));
  }
  return out;
}

/** Every import circle, each as the files in order (Tarjan's strongly connected components of size > 1, or a self-import). */
export function findCycles(graph: ImportGraph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || graph.get(v)?.has(v)) cycles.push(comp.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return cycles;
}

/** A layering rule: files under `from` may not import files under any of `not` (or, with `only`, anything in src outside it). */
export interface LayerRule {
  from: string;
  not?: readonly string[];
  only?: readonly string[];
  why: string;
}

/** The directions the code must keep: lower floors never reach up. */
export const LAYER_RULES: readonly LayerRule[] = [
  // src/errors.ts imports nothing: it is ground floor like util.
  { from: "src/harness/", only: ["src/harness/", "src/util/", "src/errors.ts"], why: "the harness knows nothing of Coder or the project" },
  { from: "src/errors.ts", only: [], why: "errors are ground floor" },
  { from: "src/util/", only: ["src/util/", "src/errors.ts"], why: "util is the ground floor" },
  { from: "src/traffic/", not: ["src/scenarios/", "src/run/", "src/config/", "src/cli/", "src/cli.ts", "src/metrics/"], why: "the traffic engine is driven, it does not drive" },
  { from: "src/coder/", not: ["src/scenarios/", "src/run/", "src/cli/", "src/cli.ts", "src/traffic/", "src/simulator/"], why: "the REST client stands alone" },
  { from: "src/scenarios/", not: ["src/run/", "src/cli/", "src/cli.ts", "src/simulator/"], why: "a scenario is called by the staged run and the CLI, never the other way" },
  { from: "src/metrics/", not: ["src/scenarios/", "src/run/", "src/cli/", "src/cli.ts"], why: "metrics are bumped from below and read from above" },
  { from: "src/report/", not: ["src/scenarios/", "src/run/", "src/cli/", "src/cli.ts"], why: "reports render plain results" },
  { from: "src/run/", not: ["src/cli/", "src/cli.ts"], why: "the staged run is called by the scripts and the CLI" },
  { from: "src/k8s/", not: ["src/scenarios/", "src/run/", "src/cli/", "src/cli.ts", "src/simulator/", "src/traffic/", "src/coder/", "src/metrics/"], why: "the coordinator drives Kubernetes; it knows no scenario or Coder API" },
  { from: "src/simulator/", not: ["src/scenarios/", "src/run/", "src/cli/", "src/cli.ts", "src/traffic/"], why: "the simulator is a stand-in for coderd, not a client of the runner" },
  { from: "src/", not: ["tools/", "test/", "scripts/", "bench/"], why: "runtime code never loads dev tooling" },
];

/** Every import that breaks a rule, as "file -> imported (why)". */
export function layerViolations(graph: ImportGraph, rules: readonly LayerRule[] = LAYER_RULES): string[] {
  const out: string[] = [];
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      for (const r of rules) {
        if (!file.startsWith(r.from)) continue;
        const bad = r.only ? dep.startsWith("src/") && !r.only.some((p) => dep.startsWith(p)) : r.not!.some((p) => dep.startsWith(p));
        if (bad) out.push(`${file} -> ${dep} (${r.why})`);
      }
    }
  }
  return out.sort();
}
