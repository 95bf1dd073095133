// Spreads a burst of work over event-loop turns: at most `perTurn` items start in one turn.

/**
 * Lets at most `perTurn` items start per event-loop turn, the rest in later turns, in order. Unlike a concurrency
 * limit it never waits for an item to finish, so slow items (a handshake coderd takes seconds to answer) hold
 * nothing back; it only keeps a burst from landing in one turn, and so their completions from arriving in one.
 */
export class TurnPacer {
  private started = 0;
  private readonly waiting: (() => void)[] = [];
  private head = 0;
  private scheduled = false;

  constructor(readonly perTurn: number) {
    if (!(Number.isInteger(perTurn) && perTurn >= 1)) throw new RangeError(`perTurn must be a whole number of at least 1, got ${perTurn}`);
  }

  /** Undefined when the item may start now; otherwise a promise that resolves in the turn it may start in. */
  next(): Promise<void> | undefined {
    this.schedule();
    if (this.started < this.perTurn && this.head === this.waiting.length) {
      this.started++;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Items waiting for a later turn. */
  get pending(): number {
    return this.waiting.length - this.head;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    this.scheduled = false;
    this.started = 0;
    while (this.started < this.perTurn && this.head < this.waiting.length) {
      this.started++;
      this.waiting[this.head++]!();
    }
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
    }
    // Another turn resets the count (and releases the next items).
    if (this.started > 0) this.schedule();
  };
}
