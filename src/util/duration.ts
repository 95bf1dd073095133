// Go-style durations: parse flag values ("1m30s") and print results the way Go's time.Duration does.

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "µs": 1e3,
  "μs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Parses a Go duration string ("300ms", "1h2m3.5s", "0") into milliseconds. Throws on bad input. */
export function parseDuration(input: string): number {
  const s = input.trim();
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let sign = 1;
  let i = 0;
  if (s.startsWith("-") || s.startsWith("+")) {
    sign = s.startsWith("-") ? -1 : 1;
    i = 1;
  }
  if (i >= s.length) throw new Error(`invalid duration "${input}"`);
  let ns = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw new Error(`invalid duration "${input}"`);
    ns += Number(m[1]) * UNIT_NS[m[2]!]!;
    i = re.lastIndex;
  }
  // Go's ParseDuration refuses what an int64 of nanoseconds cannot hold (about 292 years).
  if (ns > MAX_NS) throw new Error(`invalid duration "${input}": longer than the maximum 2562047h47m16.854775807s`);
  return (sign * ns) / 1e6;
}

const MAX_NS = 2 ** 63 - 1;

function trimFrac(whole: bigint, frac: bigint, digits: number): string {
  if (frac === 0n) return whole.toString();
  const f = frac.toString().padStart(digits, "0").replace(/0+$/, "");
  return `${whole}.${f}`;
}

/** Formats milliseconds exactly like Go's time.Duration.String() (nanosecond precision). */
export function formatGoDuration(ms: number): string {
  let ns = BigInt(Math.round(ms * 1e6));
  if (ns === 0n) return "0s";
  const neg = ns < 0n;
  if (neg) ns = -ns;
  let out: string;
  if (ns < 1000n) out = `${ns}ns`;
  else if (ns < 1_000_000n) out = `${trimFrac(ns / 1000n, ns % 1000n, 3)}µs`;
  else if (ns < 1_000_000_000n) out = `${trimFrac(ns / 1_000_000n, ns % 1_000_000n, 6)}ms`;
  else {
    const h = ns / 3_600_000_000_000n;
    const m = (ns / 60_000_000_000n) % 60n;
    const secNs = ns % 60_000_000_000n;
    const sec = trimFrac(secNs / 1_000_000_000n, secNs % 1_000_000_000n, 9) + "s";
    out = h > 0n ? `${h}h${m}m${sec}` : m > 0n ? `${m}m${sec}` : sec;
  }
  return neg ? `-${out}` : out;
}
