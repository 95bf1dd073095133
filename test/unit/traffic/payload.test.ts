import { describe, expect, it } from "vitest";
import { ALPHABET, makePayload, markerByte, MAX_CHUNK, stampMarker, terminalEcho } from "../../../src/traffic/payload.ts";
import { ptyFrames } from "../../../src/traffic/rpty.ts";

describe("payload", () => {
  it("uses upstream's 95-character alphabet: TAB, SPACE and ! to }", () => {
    expect(ALPHABET.length).toBe(95);
    expect(ALPHABET[0]).toBe(0x09);
    expect(ALPHABET[1]).toBe(0x20);
    expect(ALPHABET[94]).toBe(0x7d);
  });

  it("is exactly bytes-per-tick long, ends with a newline and holds only alphabet bytes before it", () => {
    const p = makePayload(3000);
    expect(p.bytes.length).toBe(3000);
    expect(p.bytes[2999]).toBe(0x0a);
    const allowed = new Set(ALPHABET);
    for (let i = 0; i < 2999; i++) expect(allowed.has(p.bytes[i]!)).toBe(true);
    expect(p.chunks.map((c) => c.length)).toEqual([1024, 1024, 952]);
    expect(p.chunks.every((c) => c.buffer === p.bytes.buffer)).toBe(true);
  });

  it("stamps a marker that markerByte reads back, without touching other bytes", () => {
    const p = makePayload(64);
    const before = Buffer.from(p.bytes);
    stampMarker(p.bytes, 0, 123456, p.markerLen);
    for (let i = 0; i < p.markerLen; i++) expect(p.bytes[i]).toBe(markerByte(123456, i));
    expect(p.bytes.subarray(p.markerLen).equals(before.subarray(p.markerLen))).toBe(true);
    expect(new Set(ALPHABET).has(p.bytes[0]!)).toBe(true);
  });

  it("shrinks the marker for tiny payloads", () => {
    expect(makePayload(1).markerLen).toBe(0);
    expect(makePayload(3).markerLen).toBe(2);
    expect(() => makePayload(0)).toThrow(/positive integer/);
  });

  it("renders the terminal echo with CRLF", () => {
    const p = makePayload(10);
    const e = terminalEcho(p);
    expect(e.length).toBe(11);
    expect(e.subarray(-2).toString()).toBe("\r\n");
    expect(e.subarray(0, 9).equals(p.bytes.subarray(0, 9))).toBe(true);
    // One shared copy per payload (every job compares against it), another for another payload.
    expect(terminalEcho(p)).toBe(e);
    expect(terminalEcho(makePayload(10))).not.toBe(e);
  });

  it("frames PTY input as one {\"data\"} JSON object per chunk of at most 1024 bytes, far below the 32 KiB limit", () => {
    const p = makePayload(100_000);
    const frames = ptyFrames(p);
    expect(frames.length).toBe(Math.ceil(100_000 / MAX_CHUNK));
    let joined = "";
    for (const f of frames) {
      expect(f.length).toBeLessThan(32_768);
      expect(f[f.length - 1]).toBe(0x0a);
      joined += (JSON.parse(f.toString("latin1")) as { data: string }).data;
    }
    expect(Buffer.from(joined, "latin1").equals(p.bytes)).toBe(true);
    expect(frames[0]!.subarray(0, 9).toString()).toBe('{"data":"');
  });
});
