// Names and credentials for the users and workspaces a scale test creates (as Coder's Go runner makes them).
import { randomInt } from "node:crypto";

const ALPHANUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** The prefix every scaletest user and workspace name carries; cleanup deletes nothing without it. */
export const SCALETEST_PREFIX = "scaletest-";
/** The email domain of scaletest users. */
export const SCALETEST_EMAIL_DOMAIN = "@scaletest.local";

/** `n` characters from a crypto RNG over 0-9A-Za-z. */
export function randomName(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += ALPHANUM[randomInt(ALPHANUM.length)];
  return s;
}

/** Username, email and password for job `index`, as upstream's createworkspaces names them. */
export function scaletestUser(index: number): { username: string; email: string; password: string } {
  const r = randomName(8);
  return { username: `${SCALETEST_PREFIX}${r}-${index}`, email: `${r}-${index}${SCALETEST_EMAIL_DOMAIN}`, password: randomName(16) };
}

/** Workspace name for job `index`. */
export function scaletestWorkspaceName(index: number): string {
  return `${SCALETEST_PREFIX}${randomName(8)}-${index}`;
}

/** True for names cleanup may delete. */
export function isScaletestName(name: string): boolean {
  return name.startsWith(SCALETEST_PREFIX);
}

/** True for users cleanup may delete: the scaletest email domain and the name prefix. */
export function isScaletestUser(user: { username: string; email: string }): boolean {
  return user.email.endsWith(SCALETEST_EMAIL_DOMAIN) && isScaletestName(user.username);
}
