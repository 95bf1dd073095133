import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodeInput, unmask } from "../../../bench/echo-codec.ts";
import { makePayload } from "../../../src/traffic/payload.ts";
import { ptyFrames } from "../../../src/traffic/rpty.ts";
import { unmaskReference } from "../../helpers/rfc6455.ts";

function decode(input: Buffer): { echo: string; data: number; interrupt: boolean } {
  const out = Buffer.alloc(input.length * 2 + 4);
  const r = decodeInput(input, out, 4);
  return { echo: out.toString("latin1", 4, 4 + r.n), data: r.data, interrupt: r.interrupt };
}

describe("bench target codec", () => {
  it("unmasks every length at every alignment as the RFC's byte loop does", () => {
    const key = randomBytes(4);
    for (const len of [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 125, 1024, 1029]) {
      const data = randomBytes(len);
      const want = unmaskReference(data, key);
      for (let shift = 0; shift < 8; shift++) {
        // The frame sits at `shift` in a larger buffer, its key just before its payload, as in a socket read.
        const frame = Buffer.alloc(shift + 4 + len + 3, 0xee);
        key.copy(frame, shift);
        data.copy(frame, shift + 4);
        unmask(frame, shift, shift + 4, shift + 4 + len);
        expect(frame.subarray(shift + 4, shift + 4 + len).equals(want), `len ${len} shift ${shift}`).toBe(true);
        expect(frame.subarray(0, shift).every((b) => b === 0xee)).toBe(true);
        expect(frame.subarray(shift + 4 + len).every((b) => b === 0xee)).toBe(true);
      }
    }
  });

  it("echoes the CLI's frames as a terminal does: every byte back, the final newline as CRLF", () => {
    for (const size of [1, 2, 100, 1024, 3000]) {
      const payload = makePayload(size);
      let echo = "";
      let data = 0;
      for (const frame of ptyFrames(payload)) {
        const r = decode(frame);
        expect(r.interrupt).toBe(false);
        echo += r.echo;
        data += r.data;
      }
      expect(data).toBe(size);
      expect(echo).toBe(payload.bytes.toString("latin1").replaceAll("\n", "\r\n"));
    }
  });

  it("decodes JSON escapes, several objects in one frame, and stops at Ctrl+C", () => {
    expect(decode(Buffer.from('{"data":"a\\tb\\"c\\\\d\\/e\\r"}\n'))).toEqual({ echo: 'a\tb"c\\d/e\r\n', data: 10, interrupt: false });
    expect(decode(Buffer.from('{"data":"\\u00e9x"}\n'))).toEqual({ echo: Buffer.from("éx").toString("latin1"), data: 3, interrupt: false });
    expect(decode(Buffer.from('{"data":"ab"}\n{"data":"cd"}\n'))).toEqual({ echo: "abcd", data: 4, interrupt: false });
    expect(decode(Buffer.from('{"data":"x\\u0003y"}\n{"data":"z"}\n'))).toEqual({ echo: "x^C", data: 2, interrupt: true });
    expect(decode(Buffer.from('{"height":25}'))).toEqual({ echo: "", data: 0, interrupt: false });
  });
});
