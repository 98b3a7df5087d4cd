// The JetStream publisher's window: the events in flight, in publish order,
// each waiting for its acknowledgement, acknowledged, or failed (nats.ts).
import type { BpfgateEvent } from '../events/types.ts';

/** JetStream publishes outstanding at once (a sliding window: one acknowledgement frees one place) */
export const WINDOW = 8192;

/**
 * The events in flight, in publish order: a slot per event holding
 * 0 (waiting), 1 (acknowledged) or the failure text; number n = base + index.
 */
export class InFlight {
  #prefix = '';
  #base = 0;
  #next = 0;
  #events: BpfgateEvent[] = [];
  #state: (0 | 1 | string)[] = [];
  #sentAt: number[] = [];
  /** events[0..#done) acknowledged in order */
  #done = 0;

  reset(prefix: string): void {
    this.#prefix = prefix;
    this.#base = this.#next;
    this.#events = [];
    this.#state = [];
    this.#sentAt = [];
    this.#done = 0;
  }

  /** Record an event as sent; returns its reply subject. */
  push(e: BpfgateEvent): string {
    const n = this.#next++;
    this.#events.push(e);
    this.#state.push(0);
    this.#sentAt.push(Date.now());
    return this.#prefix + n;
  }

  pending(): number {
    return this.#events.length - this.#done;
  }

  /** An acknowledgement (bad: why it failed). True when it unblocks the head of the window. */
  settle(n: number, bad: string | undefined): boolean {
    const i = n - this.#base;
    if (!(i >= this.#done && i < this.#state.length) || this.#state[i] !== 0) return false;
    this.#state[i] = bad ?? 1;
    return i === this.#done;
  }

  /** Move past the events acknowledged in order; returns how many. */
  advance(): number {
    const from = this.#done;
    while (this.#done < this.#state.length && this.#state[this.#done] === 1) this.#done++;
    const n = this.#done - from;
    if (this.#done >= 4096 && this.#done * 2 >= this.#events.length) {
      this.#events.splice(0, this.#done);
      this.#state.splice(0, this.#done);
      this.#sentAt.splice(0, this.#done);
      this.#base += this.#done;
      this.#done = 0;
    }
    return n;
  }

  /** Why the head of the window failed: a negative acknowledgement, or none within timeoutMs. */
  failure(timeoutMs: number): string | undefined {
    const s = this.#state[this.#done];
    if (typeof s === 'string') return s;
    if (s === 0 && Date.now() - this.#sentAt[this.#done]! >= timeoutMs)
      return `no acknowledgement within ${timeoutMs} ms`;
    return undefined;
  }

  oldestDeadline(timeoutMs: number): number {
    return (this.#sentAt[this.#done] ?? Date.now()) + timeoutMs;
  }

  /** Give up on everything not acknowledged in order; later acknowledgements are ignored. */
  abandon(): BpfgateEvent[] {
    const out = this.#events.slice(this.#done);
    this.#base = this.#next;
    this.#events = [];
    this.#state = [];
    this.#sentAt = [];
    this.#done = 0;
    return out;
  }
}
