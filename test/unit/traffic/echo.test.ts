import { describe, expect, it } from "vitest";
import { EchoVerifier } from "../../../src/traffic/echo.ts";
import { makePayload, stampMarker, terminalEcho } from "../../../src/traffic/payload.ts";

function echoOf(template: Buffer, seq: number, markerLen: number): Buffer {
  const b = Buffer.from(template);
  stampMarker(b, 0, seq, markerLen);
  return b;
}

describe("EchoVerifier", () => {
  const p = makePayload(200);

  it("accepts an exact echo split at arbitrary boundaries and times each round trip", () => {
    const rtts: number[] = [];
    const v = EchoVerifier.exact(p, (ms) => rtts.push(ms));
    v.sent(1, 100);
    v.sent(2, 110);
    const stream = Buffer.concat([echoOf(p.bytes, 1, p.markerLen), echoOf(p.bytes, 2, p.markerLen)]);
    for (const cut of [1, 3, 150, 260, 400]) {
      const prev = [1, 3, 150, 260].filter((c) => c < cut).pop() ?? 0;
      expect(v.consume(stream.subarray(prev, cut), 120)).toBe(true);
    }
    expect(v.outstanding).toBe(0);
    expect(v.verified).toBe(2);
    expect(rtts).toEqual([20, 10]);
    expect(v.finish()).toBeUndefined();
  });

  it("reports a single corrupted byte with its tick and offset", () => {
    const v = EchoVerifier.exact(p, () => {});
    v.sent(7, 0);
    const e = echoOf(p.bytes, 7, p.markerLen);
    e[100] = e[100] === 0x41 ? 0x42 : 0x41;
    expect(v.consume(e, 1)).toBe(false);
    expect(v.error?.message).toMatch(/echo corrupted: tick 7 byte 100/);
  });

  it("reports an echo of the wrong tick (marker mismatch)", () => {
    const v = EchoVerifier.exact(p, () => {});
    v.sent(1, 0);
    expect(v.consume(echoOf(p.bytes, 2, p.markerLen), 1)).toBe(false);
    expect(v.error?.message).toMatch(/tick 1 byte 0/);
  });

  it("reports a truncated echo at the end", () => {
    const v = EchoVerifier.exact(p, () => {});
    v.sent(1, 0);
    v.consume(echoOf(p.bytes, 1, p.markerLen).subarray(0, 150), 1);
    expect(v.finish()?.message).toMatch(/echo truncated: 1 tick\(s\), 50 byte\(s\)/);
  });

  it("rejects unexpected bytes, except after closing began (a terminal's ^C)", () => {
    const v = new EchoVerifier(terminalEcho(p), p.markerLen, () => {});
    v.sent(1, 0);
    expect(v.consume(echoOf(terminalEcho(p), 1, p.markerLen), 1)).toBe(true);
    v.startClosing();
    expect(v.consume(Buffer.from("^C"), 2)).toBe(true);
    const w = new EchoVerifier(terminalEcho(p), p.markerLen, () => {});
    expect(w.consume(Buffer.from("x"), 0)).toBe(false);
  });

  it("is full at its capacity", () => {
    const v = EchoVerifier.exact(p, () => {}, 2);
    v.sent(1, 0);
    v.sent(2, 0);
    expect(v.full).toBe(true);
    expect(() => v.sent(3, 0)).toThrow(/full/);
  });

  it("takes consecutive tick numbers, across ring wrap-arounds", () => {
    const rtts: number[] = [];
    const v = EchoVerifier.exact(p, (ms) => rtts.push(ms), 3);
    for (let seq = 41; seq <= 50; seq++) {
      v.sent(seq, seq);
      expect(v.consume(echoOf(p.bytes, seq, p.markerLen), seq + 2)).toBe(true);
    }
    expect(v.verified).toBe(10);
    expect(rtts).toEqual(Array(10).fill(2));
    v.sent(51, 0);
    expect(() => v.sent(53, 0)).toThrow(/tick 53 sent after tick 51/);
    // An echo of tick 52 where 51 is due is the wrong tick.
    expect(v.consume(echoOf(p.bytes, 52, p.markerLen), 1)).toBe(false);
    expect(v.error?.message).toMatch(/tick 51 byte 0/);
  });
});
