// The runner template as the template tests read it: main.tf's text, and copies of it with one edit.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { parseTemplate, type TemplateModel } from "../../tools/template/model.ts";

export const templateDir = join(fileURLToPath(new URL("../../", import.meta.url)), "template");
export const mainTf = readFileSync(join(templateDir, "main.tf"), "utf8");

/** A copy of main.tf with one edit; fails loudly if the edit would be a no-op. */
export async function mutated(from: string | RegExp, to: string): Promise<TemplateModel> {
  const text = mainTf.replace(from, to);
  expect(text, `mutation ${String(from)} must change main.tf`).not.toBe(mainTf);
  return parseTemplate(text);
}
