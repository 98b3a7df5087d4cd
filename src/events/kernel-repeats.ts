// Repeats the kernel counted without a record (bg_repeats, bpf/lib/event.h).
// A process repeating one violation gets a few records a second for it; the
// kernel counts the other attempts per process, rule, operation, outcome and
// target (a digest of what the record names), a count that only grows. Each record carries the count as it was when the
// record was written; the daemon also reads the map, for counts no record
// followed (the process stopped, or exited). This ledger keeps, per key, the
// count already reported, so that every counted attempt is reported exactly
// once: by the next record of its key (its event's `count`), by a sweep of
// the map (an event repeating the key's last record), or as a loss when no
// record of the key reached the daemon. Pure: no I/O, no timers.
import type { OutcomeName } from '../abi/layout.ts';
import type { DecodedRecord } from '../kernel/record.ts';
import type { RuleKind } from '../kinds/index.ts';

/** A bg_repeats key, decoded. */
export interface RepeatKey {
  tgid: number;
  ruleId: number;
  gen: 0 | 1;
  kind: RuleKind;
  op: number;
  outcome: OutcomeName;
  /** a digest of the violation's target (its arguments, path, address): 0 for any */
  target: bigint;
}

/** One bg_repeats entry: its key and the attempts counted without a record so far. */
export interface RepeatCount {
  key: RepeatKey;
  counted: bigint;
  /** the boot-time second (+ 1) of the key's last attempts: they fell before it */
  sec: bigint;
}

/** What a sweep found: attempts no record has carried. */
export interface SweptRepeat {
  key: RepeatKey;
  count: number;
  /** the key's last record (the event to repeat), when one reached the daemon */
  last?: DecodedRecord;
  /** the boot time the attempts fell before (ns) */
  untilBootNs: bigint;
}

interface Entry {
  /** the count already reported */
  reported: bigint;
  last?: DecodedRecord;
  /** ledger time (ms) of the key's last record */
  lastRecordMs: number;
}

export function repeatKeyText(k: RepeatKey): string {
  return `${k.tgid}/${k.gen}/${k.ruleId}/${k.kind}/${k.op}/${k.outcome}/${k.target}`;
}

function keyOf(r: DecodedRecord): RepeatKey {
  return {
    tgid: r.tgid,
    ruleId: r.ruleId,
    gen: r.gen,
    kind: r.kind,
    op: r.op,
    outcome: r.outcome,
    target: r.target,
  };
}

const NS_PER_SEC = 1_000_000_000n;

/** How long a deleted key's reported count is kept, for its records still on their way. */
export const TOMBSTONE_MS = 30_000;

export class RepeatLedger {
  readonly #entries = new Map<string, Entry>();
  /** keys deleted from the kernel: their reported count, and when */
  readonly #tombstones = new Map<string, { reported: bigint; at: number }>();
  /** keys whose reported count changed since takeReported() */
  readonly #dirty = new Map<string, RepeatKey>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * A record: the attempts of its key the kernel counted since the last
   * report (0 when none), and the boot time of the key's previous record
   * (those attempts came after it), if the daemon saw one.
   */
  onRecord(r: DecodedRecord): { repeats: number; sinceBootNs?: bigint } {
    const text = repeatKeyText(keyOf(r));
    const e = this.#entries.get(text);
    const now = this.#now();
    if (!e) {
      // the key's first record here: what the kernel counted before it is reported with it
      // (a daemon adopting another's pins primed the ledger with what that one reported;
      // a record read after its key was deleted finds what was reported in the tombstone)
      const before = this.#tombstones.get(text)?.reported ?? 0n;
      let reported = before;
      if (r.repeats > reported) reported = r.repeats;
      this.#entries.set(text, { reported, last: r, lastRecordMs: now });
      if (reported > before) this.#dirty.set(text, keyOf(r));
      return { repeats: Number(reported - before) };
    }
    const since = e.last?.bootNs;
    e.last = r;
    e.lastRecordMs = now;
    if (r.repeats <= e.reported) return { repeats: 0 };
    const repeats = Number(r.repeats - e.reported);
    e.reported = r.repeats;
    this.#dirty.set(text, keyOf(r));
    return since === undefined ? { repeats } : { repeats, sinceBootNs: since };
  }

  /**
   * Counts another daemon reported (bg_repeats_reported, in the pins it
   * left): taken as reported, so that adopting them reports nothing twice.
   */
  prime(counts: readonly RepeatCount[]): void {
    for (const c of counts) {
      const text = repeatKeyText(c.key);
      const e = this.#entries.get(text);
      if (!e) this.#entries.set(text, { reported: c.counted, lastRecordMs: 0 });
      else if (c.counted > e.reported) e.reported = c.counted;
    }
  }

  /**
   * The kernel's counts: those no record has carried, for keys without a
   * record for `idleMs` (a key still repeating reports through its records).
   * Ledger entries the kernel no longer holds, and idle, are forgotten.
   */
  sweep(counts: readonly RepeatCount[], idleMs: number): SweptRepeat[] {
    const now = this.#now();
    const out: SweptRepeat[] = [];
    const present = new Set<string>();
    for (const c of counts) {
      const text = repeatKeyText(c.key);
      present.add(text);
      let e = this.#entries.get(text);
      if (!e) {
        // no record of this key reached this daemon: its records were lost (the ring was full)
        e = { reported: 0n, lastRecordMs: 0 };
        this.#entries.set(text, e);
      }
      if (c.counted <= e.reported || now - e.lastRecordMs < idleMs) continue;
      const count = Number(c.counted - e.reported);
      e.reported = c.counted;
      this.#dirty.set(text, c.key);
      const swept: SweptRepeat = { key: c.key, count, untilBootNs: c.sec * NS_PER_SEC };
      if (e.last) swept.last = e.last;
      out.push(swept);
    }
    for (const [text, e] of this.#entries)
      if (!present.has(text) && now - e.lastRecordMs >= idleMs) this.#entries.delete(text);
    for (const [text, t] of this.#tombstones) if (now - t.at >= TOMBSTONE_MS) this.#tombstones.delete(text);
    return out;
  }

  /** Keys whose count is fully reported: the daemon may delete them once their process is gone. */
  reported(c: RepeatCount): boolean {
    const e = this.#entries.get(repeatKeyText(c.key));
    return e !== undefined && c.counted <= e.reported;
  }

  /** The kernel deleted the key (its process is gone): its records still on their way add nothing reported. */
  forget(key: RepeatKey): void {
    const text = repeatKeyText(key);
    const e = this.#entries.get(text);
    if (e) this.#tombstones.set(text, { reported: e.reported, at: this.#now() });
    this.#entries.delete(text);
    this.#dirty.delete(text);
  }

  /** The keys whose reported count changed since the last call, with that count (kept in the kernel for a daemon that adopts the pins). */
  takeReported(): { key: RepeatKey; reported: bigint }[] {
    const out: { key: RepeatKey; reported: bigint }[] = [];
    for (const [text, key] of this.#dirty) {
      const e = this.#entries.get(text);
      if (e) out.push({ key, reported: e.reported });
    }
    this.#dirty.clear();
    return out;
  }
}
