// A warning that repeats (NATS down, a publish failing) is logged with a
// back-off: the first time at once, then after 2, 4, 8... seconds (at most
// every 5 minutes), each saying how many like it were suppressed since the
// last one. When the condition ends, one line says so (with the count), and
// the next failure starts over at once.

export interface RepeatLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export const FIRST_BACKOFF_MS = 2000;
export const MAX_BACKOFF_MS = 5 * 60_000;

interface State {
  /** when the condition was first seen (ms) */
  since: number;
  /** warnings in all, logged or not */
  count: number;
  suppressed: number;
  /** no warning logged before this (ms) */
  next: number;
  backoff: number;
}

export class Repeats {
  readonly #log: RepeatLogger;
  readonly #now: () => number;
  readonly #states = new Map<string, State>();

  constructor(log: RepeatLogger, now: () => number = Date.now) {
    this.#log = log;
    this.#now = now;
  }

  /** Is `key` failing now (warned and not recovered)? */
  active(key: string): boolean {
    return this.#states.has(key);
  }

  /** A warning of condition `key`: logged now, or counted for the next one that is. Returns whether it was logged. */
  warn(key: string, obj: object, msg: string): boolean {
    const t = this.#now();
    let s = this.#states.get(key);
    if (!s) {
      s = { since: t, count: 0, suppressed: 0, next: t, backoff: FIRST_BACKOFF_MS };
      this.#states.set(key, s);
    }
    s.count += 1;
    if (t < s.next) {
      s.suppressed += 1;
      return false;
    }
    const more = s.suppressed > 0 ? ` (${s.suppressed} more like it since the last report)` : '';
    this.#log.warn({ ...obj, repeated: s.count, suppressed: s.suppressed }, `${msg}${more}`);
    s.suppressed = 0;
    s.next = t + s.backoff;
    s.backoff = Math.min(s.backoff * 2, MAX_BACKOFF_MS);
    return true;
  }

  /** Condition `key` is over: one line (only if it was warned about), and the next failure is logged at once. */
  recovered(key: string, obj: object, msg: string): boolean {
    const s = this.#states.get(key);
    if (!s) return false;
    this.#states.delete(key);
    const secs = Math.round((this.#now() - s.since) / 1000);
    this.#log.info(
      { ...obj, failures: s.count, failingForMs: this.#now() - s.since },
      `${msg} (after ${secs} s and ${s.count} failure(s))`,
    );
    return true;
  }
}
