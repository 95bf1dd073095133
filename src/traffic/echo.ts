// Echo verification and true round-trip time: match each tick's marker in the echoed stream and compare every byte.
import { markerByte, type Payload } from "./payload.ts";

/** Why an echo did not match what was sent. */
export class EchoMismatchError extends Error {
  override name = "EchoMismatchError";
}

/** Receives round-trip samples (milliseconds). */
export type RoundTripSink = (ms: number) => void;

/**
 * Tracks outstanding ticks in a fixed ring and checks the echoed bytes against them.
 * The expected echo of a tick is `template` with the first `markerLen` bytes replaced by its sequence marker.
 * Ticks are numbered consecutively, so the ring keeps only their send times.
 */
export class EchoVerifier {
  private readonly sentAt: Float64Array;
  /** Sequence number of the oldest outstanding tick (the next one expected when none is). */
  private headSeq = 0;
  private head = 0;
  private count = 0;
  private offset = 0; // bytes of the head tick already matched
  private closing = false;
  private readonly rttAt: number;
  /** The first mismatch, once one was seen; the verifier then ignores further data. */
  error: EchoMismatchError | undefined;
  /** Ticks whose echo arrived complete and correct. */
  verified = 0;

  /**
   * @param template what one tick's echo looks like (e.g. the payload, or the terminal's rendering of it)
   * @param markerLen leading bytes that carry the marker
   * @param capacity most ticks that may await their echo; `full` is true at that point (the tick is then skipped)
   */
  constructor(
    private readonly template: Buffer,
    private readonly markerLen: number,
    private readonly onRoundTrip: RoundTripSink,
    capacity = 32,
  ) {
    this.sentAt = new Float64Array(capacity);
    this.rttAt = Math.max(1, markerLen);
  }

  /** A verifier for a payload echoed byte for byte (SSH dd, the wsec mirror). */
  static exact(payload: Payload, onRoundTrip: RoundTripSink, capacity?: number): EchoVerifier {
    return new EchoVerifier(payload.bytes, payload.markerLen, onRoundTrip, capacity);
  }

  /** True when no more ticks may be outstanding. */
  get full(): boolean {
    return this.count === this.sentAt.length;
  }

  /** Ticks sent whose echo has not fully arrived. */
  get outstanding(): number {
    return this.count;
  }

  /** Records that tick `seq` (one more than the previous tick's) was written at `now` (milliseconds, performance.now()). */
  sent(seq: number, now: number): void {
    const cap = this.sentAt.length;
    if (this.count === cap) throw new RangeError("echo verifier is full");
    if (this.count === 0) this.headSeq = seq;
    else if (seq !== this.headSeq + this.count) throw new RangeError(`tick ${seq} sent after tick ${this.headSeq + this.count - 1}: ticks must be numbered consecutively`);
    this.sentAt[(this.head + this.count) % cap] = now;
    this.count++;
  }

  /** From now on, bytes beyond the outstanding ticks are not errors (e.g. a terminal's `^C` after Ctrl+C). */
  startClosing(): void {
    this.closing = true;
  }

  /** Checks echoed bytes; on the first mismatch sets `error` and returns false. `now` is performance.now(). */
  consume(chunk: Buffer, now: number): boolean {
    if (this.error) return false;
    const tlen = this.template.length;
    let i = 0;
    while (i < chunk.length) {
      if (this.count === 0) {
        if (this.closing) return true;
        return this.fail(`unexpected ${chunk.length - i} byte(s) with no tick outstanding`);
      }
      const seq = this.headSeq;
      if (this.offset < this.markerLen) {
        const want = markerByte(seq, this.offset);
        if (chunk[i] !== want) return this.fail(mismatch(seq, this.offset, want, chunk[i]!));
        i++;
        this.offset++;
      } else {
        const n = Math.min(chunk.length - i, tlen - this.offset);
        if (chunk.compare(this.template, this.offset, this.offset + n, i, i + n) !== 0) {
          for (let k = 0; k < n; k++) {
            if (chunk[i + k] !== this.template[this.offset + k]) {
              return this.fail(mismatch(seq, this.offset + k, this.template[this.offset + k]!, chunk[i + k]!));
            }
          }
        }
        i += n;
        this.offset += n;
      }
      if (this.offset === this.rttAt) this.onRoundTrip(now - this.sentAt[this.head]!);
      if (this.offset === tlen) {
        this.head = (this.head + 1) % this.sentAt.length;
        this.headSeq++;
        this.count--;
        this.offset = 0;
        this.verified++;
      }
    }
    return true;
  }

  /** Call when the connection has ended: outstanding ticks mean the echo was truncated. Returns the error, if any. */
  finish(): EchoMismatchError | undefined {
    if (!this.error && this.count > 0) {
      const missing = this.count * this.template.length - this.offset;
      this.error = new EchoMismatchError(`echo truncated: ${this.count} tick(s), ${missing} byte(s) never came back`);
    }
    return this.error;
  }

  private fail(message: string): false {
    this.error = new EchoMismatchError(`echo corrupted: ${message}`);
    return false;
  }
}

function mismatch(seq: number, offset: number, want: number, got: number): string {
  return `tick ${seq} byte ${offset}: expected 0x${want.toString(16).padStart(2, "0")}, got 0x${got.toString(16).padStart(2, "0")}`;
}
