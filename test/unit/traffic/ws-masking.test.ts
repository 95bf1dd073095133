import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { unmaskReference } from "../../helpers/rfc6455.ts";

// ws masks every client frame; with bufferutil installed (an optional dependency) it does so natively, 20 times
// faster than its JavaScript loop for a 1 KiB tick (a sixth of the runner's CPU at 2000 connections went there).
const require = createRequire(import.meta.url);
// ws exports neither module by path: read them from its own directory.
const wsDir = dirname(require.resolve("ws"));
const bufferUtil = require(join(wsDir, "lib/buffer-util.js")) as { mask: (...a: unknown[]) => void };
const Sender = require(join(wsDir, "lib/sender.js")) as { frame(data: Buffer, o: Record<string, unknown>): Buffer[] };

describe("WebSocket client frames", () => {
  it("are masked by bufferutil, and carry the payload under the frame's own key as RFC 6455 reads it", () => {
    // ws chose the native module when it loaded.
    expect(require.resolve("bufferutil", { paths: [wsDir] })).toContain("bufferutil");
    expect(bufferUtil.mask.toString()).toContain("bufferUtil.mask");
    for (const len of [1, 47, 48, 125, 126, 1040, 3000]) {
      const data = Buffer.from(Array.from({ length: len }, (_, i) => (i * 31 + len) & 0xff));
      const frame = Buffer.concat(Sender.frame(data, { fin: true, opcode: 2, mask: true, readOnly: true, rsv1: false }));
      expect(frame[1]! & 0x80).toBe(0x80);
      const short = frame[1]! & 0x7f;
      const keyAt = short === 126 ? 4 : 2;
      expect(short === 126 ? frame.readUInt16BE(2) : short).toBe(len);
      const key = frame.subarray(keyAt, keyAt + 4);
      const body = frame.subarray(keyAt + 4);
      expect(body.length).toBe(len);
      expect(unmaskReference(body, key).equals(data), `length ${len}`).toBe(true);
    }
  });
});
