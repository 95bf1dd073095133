// Renders the runner settings that are not template parameters (the deployment context, fixed ports, laptop-only
// env) from the settings table, with each one's default and allowed range, into docs/cli.md between markers.
import type { ConfigProblem } from "../../src/errors.ts";
import { describeAllowed, formatSetting, type Setting } from "../../src/config/settings.ts";

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

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");

/** The markdown table of every setting that is not a template parameter, in table order. */
export function renderSettingsTable(settings: ReadonlyArray<readonly [string, Setting]>): string {
  const lines = ["| Env var | Set by | Default | Allowed | Description |", "|---|---|---|---|---|"];
  for (const [, s] of settings) {
    if (s.source === "parameter") continue;
    const def = s.secret ? "" : formatSetting(s, s.default);
    const aliases = s.aliases?.length ? ` (or ${s.aliases.map((a) => `\`${a}\``).join(", ")})` : "";
    lines.push(`| \`${s.env}\`${aliases} | ${SOURCE_WORD[s.source]} | ${def === "" ? '`""`' : `\`${def}\``} | ${cell(describeAllowed(s))} | ${cell(s.description)} |`);
  }
  return lines.join("\n");
}

/** Replaces the text between the settings markers; throws when they are missing. */
export function replaceSettingsSection(text: string, table: string): string {
  const begin = text.indexOf(SETTINGS_BEGIN);
  const end = text.indexOf(SETTINGS_END);
  if (begin < 0 || end < begin) throw new Error(`missing ${SETTINGS_BEGIN} / ${SETTINGS_END} markers`);
  return `${text.slice(0, begin + SETTINGS_BEGIN.length)}\n${table}\n${text.slice(end)}`;
}

/** Reports a doc whose settings section differs from what the settings table generates. */
export function settingsDocsProblems(fileName: string, text: string, settings: ReadonlyArray<readonly [string, Setting]>): ConfigProblem[] {
  let want: string;
  try {
    want = replaceSettingsSection(text, renderSettingsTable(settings));
  } catch (err) {
    return [{ path: fileName, message: (err as Error).message }];
  }
  return want === text ? [] : [{ path: fileName, message: "settings table is stale; run `npm run template:docs`" }];
}
