// The runner's API identity: a dedicated token made at prepare (the owner's session token dies on workspace stop).
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { CoderClient } from "../coder/client.ts";
import { clientConnection } from "../coder/headers.ts";
import { isCoderApiError } from "../coder/errors.ts";
import { connectionFromConfig, type RunnerConfig } from "./config.ts";
import { ConfigError, registerSecret } from "../errors.ts";
import { reportRetry } from "../metrics/retry-sink.ts";
import { writeSecretFile } from "../util/secret-file.ts";

/** Where prepare stores the runner's API token (mode 0600). */
export function tokenPath(runDir: string): string {
  return join(runDir, "state", "session-token");
}

/** The stored runner token, if prepare made one. */
export function readRunnerToken(runDir: string): string | undefined {
  try {
    const token = readFileSync(tokenPath(runDir), "utf8").trim();
    registerSecret(token);
    return token || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Writes the token to a new file created with mode 0600 (an existing file is replaced, never rewritten in place). */
export function writeRunnerToken(runDir: string, token: string): void {
  const path = tokenPath(runDir);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeSecretFile(path, `${token}\n`);
}

/** Removes the stored token file. */
export function removeRunnerToken(runDir: string): void {
  rmSync(tokenPath(runDir), { force: true });
}

/**
 * A client for the run: the stored runner token when prepare made one, else CODER_SESSION_TOKEN. Owner
 * requests carry the rate-limit bypass header and retry transient 5xx, as upstream's scaletest transport.
 */
export function runnerClient(cfg: RunnerConfig, opts: { storedToken?: boolean } = {}): CoderClient {
  if (!cfg.coderUrl) {
    throw new ConfigError([{ path: "CODER_URL", message: "must be set to the Coder deployment URL (npm run demo runs against the simulator)" }]);
  }
  const token = (opts.storedToken === false ? undefined : readRunnerToken(cfg.runDir)) ?? cfg.sessionToken;
  if (!token) throw new ConfigError([{ path: "CODER_SESSION_TOKEN", message: "must be set (a site owner's session or API token)" }]);
  // CODER_HEADER*, CODER_SCALETEST_REQUEST_TIMEOUT beside CODER_URL; a restarting coderd is waited out for a minute.
  const connection = clientConnection(connectionFromConfig(cfg), cfg.coderUrl);
  return new CoderClient({ url: cfg.coderUrl, token, bypassRateLimit: true, retry: { retries5xx: 3, refusedWindowMs: 60_000 }, onRetry: reportRetry, ...connection });
}

/** Token names must be unique per user; one per prepare. */
export function runnerTokenName(now = Date.now()): string {
  return `scaletest_runner_${now.toString(36)}`;
}

/**
 * Creates the runner's API token with the owner's session (POST /users/me/keys/tokens) and stores it (0600).
 * `runnerClient(cfg)` uses it from then on.
 */
export async function createRunnerToken(owner: CoderClient, runDir: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
  let name = runnerTokenName();
  for (let attempt = 0; ; attempt++) {
    try {
      const { key } = await owner.createToken("me", { lifetime: 0, scope: "all", token_name: name }, { signal: opts.signal });
      registerSecret(key);
      writeRunnerToken(runDir, key);
      return;
    } catch (err) {
      // A name taken by a prepare in the same millisecond: pick another.
      if (!isCoderApiError(err, 409) || attempt >= 3) throw err;
      name = `${runnerTokenName()}_${attempt + 1}`;
    }
  }
}

/** Deletes the runner's token at shutdown (DELETE /users/me/keys/{id}); a token already gone is fine. */
export async function deleteRunnerToken(client: CoderClient, runDir: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
  const token = readRunnerToken(runDir);
  removeRunnerToken(runDir);
  if (!token) return;
  const id = token.split("-")[0];
  try {
    await client.withToken(token).request("DELETE", `/api/v2/users/me/keys/${encodeURIComponent(id ?? "")}`, { signal: opts.signal });
  } catch (err) {
    if (!isCoderApiError(err, 401, 404, 405, 410)) throw err;
  }
}
