// The bench target's per-frame work, kept cheap so the target is never what limits a run: unmasking a client frame
// and turning `{"data":"…"}` input into what a terminal echoes. At 2000 connections × 10 ticks a second these run
// 20 000 times a second; written byte by byte with a closure per frame they took a third of the target's CPU.
import { endianness } from "node:os";

const LITTLE_ENDIAN = endianness() === "LE";

/** Byte `n mod 4` of a masking key held as one 32-bit value (a top-level function: one per frame would be a closure). */
function keyByte(key: number, n: number): number {
  return (key >>> ((n & 3) * 8)) & 0xff;
}

/**
 * XORs `buf[from, to)` in place with the 4-byte masking key at `buf[keyAt]` (RFC 6455 §5.3), the aligned middle a
 * 32-bit word at a time.
 */
export function unmask(buf: Buffer, keyAt: number, from: number, to: number): void {
  // The key as one 32-bit value, its first byte lowest: byte i of the payload takes byte (i - from) mod 4.
  const key = buf[keyAt]! | (buf[keyAt + 1]! << 8) | (buf[keyAt + 2]! << 16) | (buf[keyAt + 3]! << 24);
  let i = from;
  if (LITTLE_ENDIAN) {
    // Bytes until the absolute address is a multiple of 4 (an Int32Array view must be aligned).
    for (; i < to && ((buf.byteOffset + i) & 3) !== 0; i++) buf[i] = buf[i]! ^ keyByte(key, i - from);
    const words = (to - i) >> 2;
    if (words > 0) {
      // The key rotated to this word's phase (a little-endian load puts the lowest address lowest).
      const shift = ((i - from) & 3) * 8;
      const word = shift === 0 ? key : (key >>> shift) | (key << (32 - shift));
      const view = new Int32Array(buf.buffer, buf.byteOffset + i, words);
      for (let w = 0; w < words; w++) view[w] = view[w]! ^ word;
      i += words * 4;
    }
  }
  for (; i < to; i++) buf[i] = buf[i]! ^ keyByte(key, i - from);
}

/** What `decodeInput` found; one object, reused (the caller reads it before the next call). */
export interface Decoded {
  /** Bytes written to `out`. */
  n: number;
  /** Input characters decoded (the bytes the client sent, before the echo's CRLF and ^C expansion). */
  data: number;
  /** A Ctrl+C was decoded: the echo ends with `^C` and the session should end. */
  interrupt: boolean;
}

const result: Decoded = { n: 0, data: 0, interrupt: false };
const DATA_KEY = Buffer.from('"data":"', "latin1");

/**
 * Decodes the `{"data":"…"}` objects in `p` (one or more) into `out` from `at`, as a canonical tty echoes input
 * (ONLCR: `\n` and `\r` become `\r\n`; Ctrl+C echoes `^C` and ends decoding). `out` needs room for
 * `2 × p.length` bytes.
 */
export function decodeInput(p: Buffer, out: Buffer, at: number): Decoded {
  let o = at;
  let data = 0;
  let interrupt = false;
  let i = 0;
  const n = p.length;
  outer: while (i < n) {
    const start = p.indexOf(DATA_KEY, i);
    if (start < 0) break;
    for (i = start + DATA_KEY.length; i < n; i++) {
      let c = p[i]!;
      // Printable bytes other than `"` and `\` are the common case: copied as they are.
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
        out[o++] = c;
        data++;
        continue;
      }
      if (c === 0x22) break;
      if (c === 0x5c) {
        const e = p[++i];
        if (e === undefined) break outer;
        if (e === 0x6e) c = 0x0a;
        else if (e === 0x74) c = 0x09;
        else if (e === 0x72) c = 0x0d;
        else if (e === 0x62) c = 0x08;
        else if (e === 0x66) c = 0x0c;
        else if (e === 0x75) {
          const cp = parseInt(p.toString("latin1", i + 1, i + 5), 16);
          i += 4;
          if (cp >= 0x80) {
            // A non-ASCII character echoes as its UTF-8 bytes.
            for (const b of Buffer.from(String.fromCharCode(cp), "utf8")) {
              out[o++] = b;
              data++;
            }
            continue;
          }
          c = cp;
        } else c = e; // \" \\ \/
      }
      data++;
      if (c === 0x0a || c === 0x0d) {
        out[o++] = 0x0d;
        out[o++] = 0x0a;
      } else if (c === 0x03) {
        out[o++] = 0x5e;
        out[o++] = 0x43;
        interrupt = true;
        break outer;
      } else out[o++] = c;
    }
  }
  result.n = o - at;
  result.data = data;
  result.interrupt = interrupt;
  return result;
}
