// Regenerates the parameter tables in README.md and template/README.md from template/main.tf (`npm run template:docs`).
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { renderParameterTable, replaceParameterSection } from "../tools/template/docs.ts";
import { readTemplate } from "../tools/template/model.ts";

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
