// Go encoding/csv's reading of one record: how the Coder CLI splits comma-separated env values (CODER_HEADER, outputs).

/** Splits one CSV record as Go's encoding/csv does: commas, double-quoted fields with "" escapes. */
export function splitCsvRecord(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw new Error(`extraneous or missing " in quoted-field: ${JSON.stringify(s)}`);
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += s[i++];
      }
      if (i < s.length && s[i] !== ",") throw new Error(`extraneous or missing " in quoted-field: ${JSON.stringify(s)}`);
    } else {
      const end = s.indexOf(",", i);
      field = end === -1 ? s.slice(i) : s.slice(i, end);
      if (field.includes('"')) throw new Error(`bare " in non-quoted-field: ${JSON.stringify(s)}`);
      i = end === -1 ? s.length : end;
    }
    out.push(field);
    if (i >= s.length) return out;
    i++; // the comma
  }
}
