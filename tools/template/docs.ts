// Renders the template's parameter table (markdown) from main.tf and keeps README sections between markers in sync.
import type { ConfigProblem } from "../../src/errors.ts";
import type { TemplateModel } from "./model.ts";

export const BEGIN_MARKER = "<!-- BEGIN PARAMETERS -->";
export const END_MARKER = "<!-- END PARAMETERS -->";

const UNIT_WORD: Record<string, string> = { m: "minutes", s: "seconds", ms: "milliseconds" };

/** A markdown table cell: pipes escaped, one line. */
export const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
/** An inline code span (`""` for the empty string). */
export const code = (s: string) => (s === "" ? '`""`' : `\`${s.replace(/`/g, "'")}\``);

/** The markdown table of every coder_parameter, in form order, with the env var it sets. */
export function renderParameterTable(model: TemplateModel): string {
  const rows = [...model.parameters].sort((a, b) => (a.order ?? 1e9) - (b.order ?? 1e9) || a.name.localeCompare(b.name));
  const lines = [
    "| # | Parameter | Type | Default | Allowed | Env var | Description |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const p of rows) {
    const env = model.env.find((e) => e.parameter?.label === p.label);
    const unit = env?.parameter?.suffix ? ` (${UNIT_WORD[env.parameter.suffix] ?? env.parameter.suffix})` : "";
    const allowed =
      p.options.length > 0
        ? p.options.map((o) => code(o.value)).join(", ")
        : p.min !== undefined || p.max !== undefined
          ? `${p.min ?? "…"}–${p.max ?? "…"}`
          : p.regex !== undefined
            ? code(p.regex)
            : "";
    const flags = [p.mutable ? "" : "immutable", p.ephemeral ? "ephemeral" : ""].filter(Boolean).join(", ");
    const label = p.displayName && p.displayName !== p.name ? `${p.displayName} (\`${p.name}\`)` : p.name;
    lines.push(
      `| ${p.order ?? ""} | ${cell(label)}${flags ? ` *(${flags})*` : ""} | ${p.type}${unit} | ${p.default === undefined ? "required" : code(p.default)} | ${cell(allowed)} | ${env ? `\`${env.name}\`` : ""} | ${cell(p.description)} |`,
    );
  }
  return lines.join("\n");
}

/** Replaces the text between two markers; throws when they are missing. */
export function replaceMarkedSection(text: string, beginMarker: string, endMarker: string, table: string): string {
  const begin = text.indexOf(beginMarker);
  const end = text.indexOf(endMarker);
  if (begin < 0 || end < begin) throw new Error(`missing ${beginMarker} / ${endMarker} markers`);
  return `${text.slice(0, begin + beginMarker.length)}\n${table}\n${text.slice(end)}`;
}

/** Reports a doc whose section between the markers differs from `table` (`what` names the table in the message). */
export function markedSectionProblems(fileName: string, text: string, markers: readonly [string, string], table: string, what: string): ConfigProblem[] {
  let want: string;
  try {
    want = replaceMarkedSection(text, markers[0], markers[1], table);
  } catch (err) {
    return [{ path: fileName, message: (err as Error).message }];
  }
  return want === text ? [] : [{ path: fileName, message: `${what} is stale; run \`npm run template:docs\`` }];
}

/** Replaces the text between the parameter markers; throws when they are missing. */
export function replaceParameterSection(text: string, table: string): string {
  return replaceMarkedSection(text, BEGIN_MARKER, END_MARKER, table);
}

/** Reports a README whose parameter section differs from what main.tf generates. */
export function docsProblems(fileName: string, text: string, model: TemplateModel): ConfigProblem[] {
  return markedSectionProblems(fileName, text, [BEGIN_MARKER, END_MARKER], renderParameterTable(model), "parameter table");
}
