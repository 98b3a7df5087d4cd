// Event ids: 26 characters of Crockford base32, the first 10 the milliseconds
// since the epoch and the last 16 eighty bits of randomness. Within one
// millisecond the random part is incremented, so ids from one generator sort
// in the order they were made; ids from different hosts or restarts still
// differ by their random bits. Generated in user space, used as Nats-Msg-Id.
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RANDOM_BYTES = 10;

export interface IdSource {
  next(): string;
}

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits -> 16 base32 characters: two halves of 40 bits (exact in a double), 8 characters each
  let out = '';
  for (let h = 0; h < 2; h++) {
    let v = 0;
    for (let i = h * 5; i < h * 5 + 5; i++) v = v * 256 + bytes[i]!;
    let part = '';
    for (let i = 0; i < 8; i++) {
      part = ALPHABET[v % 32] + part;
      v = Math.floor(v / 32);
    }
    out += part;
  }
  return out;
}

/** A monotonic id generator. `now` and `random` are injectable for tests. */
export class IdGenerator implements IdSource {
  #lastMs = -1;
  #last: Uint8Array = new Uint8Array(RANDOM_BYTES);
  /** encodeTime(#timeMs), kept: many ids share a millisecond */
  #timeMs = -1;
  #time = '';
  readonly #now: () => number;
  readonly #random: (n: number) => Uint8Array;

  constructor(opts: { now?: () => number; random?: (n: number) => Uint8Array } = {}) {
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? ((n) => randomBytes(n));
  }

  next(): string {
    let ms = this.#now();
    if (ms <= this.#lastMs) {
      // same (or an earlier: clock stepped back) millisecond: keep the last time, increment
      ms = this.#lastMs;
      if (!increment(this.#last)) {
        // 80 bits exhausted within one millisecond: borrow the next millisecond
        ms = this.#lastMs + 1;
        this.#last = this.#random(RANDOM_BYTES);
      }
    } else {
      this.#last = this.#random(RANDOM_BYTES);
    }
    this.#lastMs = ms;
    if (ms !== this.#timeMs) {
      this.#timeMs = ms;
      this.#time = encodeTime(ms);
    }
    return this.#time + encodeRandom(this.#last);
  }
}

function increment(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 255) {
      bytes[i] = bytes[i]! + 1;
      return true;
    }
    bytes[i] = 0;
  }
  return false;
}

/** The milliseconds since the epoch encoded in an id. */
export function idTime(id: string): number {
  let t = 0;
  for (const c of id.slice(0, 10)) t = t * 32 + ALPHABET.indexOf(c);
  return t;
}

export const ID_PATTERN = '^[0-9A-HJKMNP-TV-Z]{26}$';
