// Renders the runner settings that are not template parameters (the deployment context, fixed ports, laptop-only
// env) from the settings table, with each one's default and allowed range, into docs/cli.md between markers.
import type { ConfigProblem } from "../../src/errors.ts";
import { describeAllowed, formatSetting, type Setting } from "../../src/config/settings.ts";
import { cell, code, markedSectionProblems, replaceMarkedSection } from "./docs.ts";

export const SETTINGS_BEGIN = "<!-- BEGIN SETTINGS -->";
export const SETTINGS_END = "<!-- END SETTINGS -->";

/** Where each source's value comes from, in words. */
const SOURCE_WORD: Record<Setting["source"], string> = {
  parameter: "template parameter",
  workspace: "workspace (main.tf)",
  secret: "Kubernetes secret",
  fixed: "fixed in main.tf",
  pod: "pod (downward API)",
  local: "your environment only",
};

/** The markdown table of every setting that is not a template parameter, in table order. */
export function renderSettingsTable(settings: ReadonlyArray<readonly [string, Setting]>): string {
  const lines = ["| Env var | Set by | Default | Allowed | Description |", "|---|---|---|---|---|"];
  for (const [, s] of settings) {
    if (s.source === "parameter") continue;
    const def = s.secret ? "" : formatSetting(s, s.default);
    const aliases = s.aliases?.length ? ` (or ${s.aliases.map((a) => `\`${a}\``).join(", ")})` : "";
    lines.push(`| \`${s.env}\`${aliases} | ${SOURCE_WORD[s.source]} | ${code(def)} | ${cell(describeAllowed(s))} | ${cell(s.description)} |`);
  }
  return lines.join("\n");
}

/** Replaces the text between the settings markers; throws when they are missing. */
export function replaceSettingsSection(text: string, table: string): string {
  return replaceMarkedSection(text, SETTINGS_BEGIN, SETTINGS_END, table);
}

/** Reports a doc whose settings section differs from what the settings table generates. */
export function settingsDocsProblems(fileName: string, text: string, settings: ReadonlyArray<readonly [string, Setting]>): ConfigProblem[] {
  return markedSectionProblems(fileName, text, [SETTINGS_BEGIN, SETTINGS_END], renderSettingsTable(settings), "settings table");
}
