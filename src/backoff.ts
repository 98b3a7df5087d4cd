// A doubling delay for trying again what failed (a policy read, a status
// write, a ring-buffer poll): the first wait, then twice the previous one up
// to a ceiling; a success starts over at the first.

export class Backoff {
  readonly #firstMs: number;
  readonly #maxMs: number;
  #nextMs: number;

  constructor(firstMs: number, maxMs: number) {
    this.#firstMs = firstMs;
    this.#maxMs = Math.max(firstMs, maxMs);
    this.#nextMs = firstMs;
  }

  /** The wait the next call to `next()` returns. */
  get upcomingMs(): number {
    return this.#nextMs;
  }

  /** The wait before the next attempt; the one after it is twice as long (at most the ceiling). */
  next(): number {
    const wait = this.#nextMs;
    this.#nextMs = Math.min(wait * 2, this.#maxMs);
    return wait;
  }

  /** After a success: the next failure waits the first delay again. */
  reset(): void {
    this.#nextMs = this.#firstMs;
  }
}
