// Regenerates the parameter tables in README.md and template/README.md from template/main.tf, and the table of the
// other runner settings in docs/cli.md from the settings table (`npm run template:docs`).
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { renderParameterTable, replaceParameterSection } from "../tools/template/docs.ts";
import { readTemplate } from "../tools/template/model.ts";
import { renderSettingsTable, replaceSettingsSection } from "../tools/template/settings-docs.ts";
import { RUNNER_SETTINGS } from "../src/run/config.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
/** The files whose parameter section this script owns. */
export const DOC_FILES = ["README.md", "template/README.md"];

const table = renderParameterTable(await readTemplate(`${root}template/main.tf`));
for (const file of DOC_FILES) {
  const path = `${root}${file}`;
  const before = await readFile(path, "utf8");
  const after = replaceParameterSection(before, table);
  if (after !== before) {
    await writeFile(path, after);
    console.log(`updated ${file}`);
  } else console.log(`${file} is up to date`);
}

/** The file whose settings section this script owns. */
export const SETTINGS_DOC = "docs/cli.md";
{
  const path = `${root}${SETTINGS_DOC}`;
  const before = await readFile(path, "utf8");
  const after = replaceSettingsSection(before, renderSettingsTable(RUNNER_SETTINGS));
  if (after !== before) {
    await writeFile(path, after);
    console.log(`updated ${SETTINGS_DOC}`);
  } else console.log(`${SETTINGS_DOC} is up to date`);
}
