// Tick payloads: one preallocated buffer per bytes-per-tick, upstream's alphabet, and a sequence marker in its first bytes.
import { randomBytes } from "node:crypto";

/** Upstream's 95 payload characters: TAB, SPACE and `!`..`}` (no `~`, DEL or other control bytes). */
export const ALPHABET: Buffer = Buffer.from([0x09, ...Array.from({ length: 0x7d - 0x20 + 1 }, (_, i) => 0x20 + i)]);

/** Marker digits: alphanumerics only, so a marker needs no JSON escaping and no tty treats it specially. */
const DIGITS = Buffer.from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "latin1");
const BASE = DIGITS.length;

/** Marker length in bytes (62^4 ≈ 14.8 M sequence numbers before it wraps; far more than can be outstanding). */
export const MARKER_LEN = 4;

/** Upstream's chunk limit: at most 1024 payload bytes per WebSocket message. */
export const MAX_CHUNK = 1024;

/** One tick's payload: `bytesPerTick - 1` alphabet bytes and a final `\n`; the first `markerLen` bytes carry the tick's sequence number. */
export interface Payload {
  /** The payload template; marker bytes are rewritten in place before each send. */
  readonly bytes: Buffer;
  /** How many leading bytes hold the marker (0 when the payload is too small to carry one). */
  readonly markerLen: number;
  /** Views of `bytes` of at most MAX_CHUNK bytes each: one WebSocket message apiece. */
  readonly chunks: readonly Buffer[];
}

const cache = new Map<number, Payload>();

/** The shared payload for `bytesPerTick` (allocated once per size per process). Callers must not keep it busy across ticks. */
export function payloadFor(bytesPerTick: number): Payload {
  let p = cache.get(bytesPerTick);
  if (!p) {
    p = makePayload(bytesPerTick);
    cache.set(bytesPerTick, p);
  }
  return p;
}

/** A fresh payload of `bytesPerTick` bytes (random alphabet bytes, last byte `\n`). */
export function makePayload(bytesPerTick: number): Payload {
  if (!Number.isInteger(bytesPerTick) || bytesPerTick < 1) throw new RangeError(`bytes per tick must be a positive integer, got ${bytesPerTick}`);
  const bytes = Buffer.allocUnsafe(bytesPerTick);
  const rnd = randomBytes(bytesPerTick);
  for (let i = 0; i < bytesPerTick - 1; i++) bytes[i] = ALPHABET[rnd[i]! % ALPHABET.length]!;
  bytes[bytesPerTick - 1] = 0x0a;
  const markerLen = Math.min(MARKER_LEN, bytesPerTick - 1);
  // The marker area always holds digits, so framings built from `bytes` keep it at a fixed offset.
  stampMarker(bytes, 0, 0, markerLen);
  const chunks: Buffer[] = [];
  for (let off = 0; off < bytesPerTick; off += MAX_CHUNK) chunks.push(bytes.subarray(off, Math.min(bytesPerTick, off + MAX_CHUNK)));
  return { bytes, markerLen, chunks };
}

/** Writes `seq`'s marker (base-62 digits, least significant first) into `target` at `offset`. */
export function stampMarker(target: Buffer, offset: number, seq: number, markerLen: number): void {
  let v = seq;
  for (let i = 0; i < markerLen; i++) {
    target[offset + i] = DIGITS[v % BASE]!;
    v = Math.floor(v / BASE);
  }
}

/** BASE ** i for every marker position (the echo check reads one per echoed marker byte). */
const POWERS = Array.from({ length: MARKER_LEN }, (_, i) => BASE ** i);

/** The marker byte at position `i` (< MARKER_LEN) for `seq` (what the echo must carry there). */
export function markerByte(seq: number, i: number): number {
  return DIGITS[Math.floor(seq / POWERS[i]!) % BASE]!;
}

const echoes = new WeakMap<Payload, Buffer>();

/**
 * The bytes a terminal echoes for `payload` (its final `\n` becomes `\r\n`, as the tty's ONLCR does). Built once
 * per payload and shared (read only): every job compares its echoes against it, so one copy stays in cache.
 */
export function terminalEcho(payload: Payload): Buffer {
  let echo = echoes.get(payload);
  if (!echo) {
    const b = payload.bytes;
    echo = Buffer.concat([b.subarray(0, b.length - 1), Buffer.from("\r\n")]);
    echoes.set(payload, echo);
  }
  return echo;
}
