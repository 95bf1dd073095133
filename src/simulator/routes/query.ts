// coderd's search-query syntax (`q=owner:"me" name:scaletest- plain-term`), parsed into terms.

/** One term: `key` is "" for a bare word. Values are unquoted. */
export interface QueryTerm {
  key: string;
  value: string;
}

/** Splits on spaces outside double quotes; `key:value` and `key:"quoted value"` both work. */
export function parseSearchQuery(q: string): QueryTerm[] {
  const terms: QueryTerm[] = [];
  let i = 0;
  while (i < q.length) {
    while (i < q.length && q[i] === " ") i++;
    if (i >= q.length) break;
    let token = "";
    let inQuote = false;
    while (i < q.length && (inQuote || q[i] !== " ")) {
      if (q[i] === '"') inQuote = !inQuote;
      else token += q[i];
      i++;
    }
    const colon = token.indexOf(":");
    // A quoted bare word that contains ":" is still bare only when the colon came from inside quotes; keep it simple like coderd: first colon splits.
    if (colon > 0) terms.push({ key: token.slice(0, colon).toLowerCase(), value: token.slice(colon + 1) });
    else terms.push({ key: "", value: token });
  }
  return terms;
}

/** Parses `limit` and `offset` like coderd's pagination: non-negative integers, 0 limit = no limit. */
export function parsePagination(url: URL): { limit: number; offset: number } | { field: string; detail: string } {
  const out = { limit: 0, offset: 0 };
  for (const field of ["limit", "offset"] as const) {
    const raw = url.searchParams.get(field);
    if (raw === null || raw === "") continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) return { field, detail: `Query param "${field}" must be a valid integer (${raw}).` };
    out[field] = n;
  }
  return out;
}

/** Applies offset and limit to a sorted list. */
export function page<T>(items: T[], p: { limit: number; offset: number }): T[] {
  const sliced = items.slice(p.offset);
  return p.limit > 0 ? sliced.slice(0, p.limit) : sliced;
}
