// Dashboard setup: the targeted scaletest users (as upstream's dashboard command picks them) and the API tokens made for them (the `--target-users` range is in targets.ts).
import type { CoderClient, CallOptions } from "../../coder/client.ts";
import { isCoderApiError } from "../../coder/errors.ts";
import { SCALETEST_EMAIL_DOMAIN } from "../../coder/names.ts";
import type { User } from "../../coder/types.ts";
import { ConfigError, registerSecret } from "../../errors.ts";

/** The scaletest users in server order (lower(username)): `q=scaletest-` pages, then the @scaletest.local email filter, as upstream. */
export async function listScaletestUsers(client: CoderClient, o?: CallOptions): Promise<User[]> {
  const users = await client.allUsers("scaletest-", o);
  return users.filter((u) => u.email.endsWith(SCALETEST_EMAIL_DOMAIN));
}

/** Upstream's token lifetime: 30 days in nanoseconds (Go duration on the wire). */
export const TOKEN_LIFETIME_NS = 30 * 24 * 3600 * 1e9;

/** One token we created: the owner and the key ID (the part of the key before the dash). */
interface CreatedToken {
  userId: string;
  keyId: string;
}

/**
 * The API tokens the dashboard scenario creates for its users. Unlike upstream, which leaves them behind for
 * 30 days, every token is remembered and deleted at the end (DELETE /api/v2/users/{user}/keys/{keyid}).
 */
export class TokenLedger {
  private readonly created: CreatedToken[] = [];

  constructor(private readonly admin: CoderClient) {}

  /** Creates a token for `user` (named `scaletest-<unix seconds>`, as upstream); the key is registered as a secret. */
  async create(user: User, o?: CallOptions): Promise<string> {
    const name = `scaletest-${Math.floor(Date.now() / 1000)}`;
    const res = await this.admin.createToken(user.id, { lifetime: TOKEN_LIFETIME_NS, scope: "", token_name: name }, o);
    registerSecret(res.key);
    this.created.push({ userId: user.id, keyId: res.key.split("-")[0]! });
    return res.key;
  }

  /** How many created tokens are not deleted yet. */
  get outstanding(): number {
    return this.created.length;
  }

  /** Deletes every token still outstanding; a token already gone (404) counts as deleted. Throws the first other failure after trying all. */
  async deleteAll(o?: CallOptions): Promise<void> {
    const errors: unknown[] = [];
    for (const t of [...this.created]) {
      try {
        await this.admin.request("DELETE", `/api/v2/users/${encodeURIComponent(t.userId)}/keys/${encodeURIComponent(t.keyId)}`, { ...o, expect: [200, 204] });
      } catch (err) {
        if (!isCoderApiError(err, 404)) {
          errors.push(err);
          continue;
        }
      }
      this.created.splice(this.created.indexOf(t), 1);
    }
    if (errors.length > 0) throw new Error(`delete ${errors.length} dashboard API token(s)`, { cause: errors[0] });
  }
}

/** The checks upstream's dashboard command runs before anything else: interval > 0, 0 <= jitter < interval. */
export function validateWalkTiming(intervalMs: number, jitterMs: number, names = { interval: "--interval", jitter: "--jitter" }): void {
  const problems = [];
  if (!(intervalMs > 0)) problems.push({ path: names.interval, message: "must be greater than zero" });
  else if (!(jitterMs >= 0 && jitterMs < intervalMs)) problems.push({ path: names.jitter, message: `must be at least 0 and less than ${names.interval}` });
  if (problems.length > 0) throw new ConfigError(problems);
}
