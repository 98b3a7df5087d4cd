// Records → events → outputs. Rule ids resolve against the plan of the
// generation that produced the record. Nothing here throws back into the ring
// buffer's callback: a record that fails to decode, an event that fails to
// build or an output that throws is counted and skipped, and every count
// becomes a loss event (flushLosses(), on the daemon's statistics timer),
// with the losses other parts count (noteLoss(): stdout, the ring reader, the
// kernel's drops). Repeats the kernel counted without a record
// (src/events/kernel-repeats.ts) become the `count` of the next event of
// their process and rule, or of an event sweepRepeats() repeats from the last
// one; every counted attempt is reported once.

import { RULE_DEFAULT } from '../abi/layout.ts';
import type { Plan, PlannedRule } from '../abi/plan.ts';
import type { BinaryInode } from '../abi/programs.ts';
import {
  type BootClock,
  buildEvent,
  buildLossEvent,
  type Enrichment,
  formatTimeNs,
  wallNs,
} from '../events/build.ts';
import type { IdSource } from '../events/id.ts';
import { type RepeatCount, RepeatLedger } from '../events/kernel-repeats.ts';
import type { BpfgateEvent, EventMode, ViolationEvent } from '../events/types.ts';
import { decodeRecord, RecordDecodeError } from '../kernel/decoder.ts';
import { type DecodedRecord, LOSS_SOURCES, type LossReport, type LossSource } from '../kernel/record.ts';
import type { EventOutput } from '../sinks/sink.ts';

export interface Enricher {
  enrich(record: DecodedRecord): Promise<Enrichment>;
  /** the same answer when it needs no read (all in caches), else undefined */
  cached?(record: DecodedRecord): Enrichment | undefined;
}

export interface PipelineLog {
  warn(obj: object, msg: string): void;
}

export interface PipelineCounters {
  records: number;
  decodeErrors: number;
  /** events that failed to build, or that an output threw on */
  emitErrors: number;
  events: number;
  /** events reported lost (loss events' counts) */
  losses: number;
}

/** Attempts an event stands for: its own and those the kernel counted without a record. */
interface Repeat {
  count: number;
  /** boot time of the earliest (a lower bound: the previous record's time) */
  firstBootNs: bigint;
}

export class EventPipeline {
  readonly #host: string;
  readonly #mode: EventMode;
  readonly #clock: BootClock;
  readonly #ids: IdSource;
  readonly #outputs: EventOutput[];
  readonly #enricher: Enricher | null;
  readonly #log: PipelineLog;
  /** the plan written under each generation; a record resolves against the one of its gen */
  #plans: [Plan | null, Plan | null] = [null, null];
  /** each generation's executables by exe id (the ids the kernel attaches to processes at exec) */
  #executables: [Map<number, string>, Map<number, string>] = [new Map(), new Map()];
  #inodes: [ReadonlyMap<number, BinaryInode>, ReadonlyMap<number, BinaryInode>] = [new Map(), new Map()];
  #pending = new Set<Promise<void>>();
  /** losses counted but not reported yet, by source */
  #unreported = new Map<LossSource, number>();
  readonly #repeats: RepeatLedger;
  readonly counters: PipelineCounters = { records: 0, decodeErrors: 0, emitErrors: 0, events: 0, losses: 0 };

  constructor(deps: {
    host: string;
    mode: EventMode;
    clock: BootClock;
    ids: IdSource;
    outputs: EventOutput[];
    enricher?: Enricher | null;
    log: PipelineLog;
    /** the ledger's clock (ms), for tests */
    now?: () => number;
  }) {
    this.#repeats = new RepeatLedger(deps.now);
    this.#host = deps.host;
    this.#mode = deps.mode;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
    this.#outputs = deps.outputs;
    this.#enricher = deps.enricher ?? null;
    this.#log = deps.log;
  }

  /** The plan whose entries are written under `gen`. Set it before the generation goes live. */
  setPlan(plan: Plan, gen: 0 | 1): void {
    this.#plans[gen] = plan;
    this.#executables[gen] = new Map(Object.entries(plan.exeIds).map(([path, id]) => [id, path]));
  }

  /** rule id → the inode its uprobe is bound to, once the loader attached `gen`'s links (Loader.uprobeInodes) */
  setUprobeInodes(gen: 0 | 1, inodes: ReadonlyMap<number, BinaryInode>): void {
    this.#inodes[gen] = inodes;
  }

  /** One ring-buffer record. Never throws. */
  handleRecord(buf: Uint8Array): void {
    this.counters.records++;
    let record: DecodedRecord;
    try {
      record = decodeRecord(buf);
    } catch (err) {
      this.counters.decodeErrors++;
      this.noteLoss('decode', 1);
      if (this.counters.decodeErrors === 1 || this.counters.decodeErrors % 1000 === 0) {
        this.#log.warn(
          {
            err: err instanceof RecordDecodeError ? err : String(err),
            decodeErrors: this.counters.decodeErrors,
          },
          'skipping a ring-buffer record that does not decode',
        );
      }
      return;
    }
    const { repeats, sinceBootNs } = this.#repeats.onRecord(record);
    // the attempts the kernel counted since the previous record of this process and rule came after it
    this.#handle(
      record,
      repeats === 0 ? null : { count: 1 + repeats, firstBootNs: sinceBootNs ?? record.bootNs },
    );
  }

  /**
   * The kernel's repeat counts (bg_repeats): counts no record has carried,
   * for keys without a record for `idleMs`, as events repeating each key's
   * last record (its `count`: those attempts; `firstTime`: the last record's,
   * `lastTime`: the second they fell in). A key whose records never reached
   * the daemon (the ring was full) is a loss of that many. Returns the
   * entries whose counts are all reported (the daemon deletes those whose
   * process is gone). A generation's entries are swept with idleMs 0 before
   * its plan is replaced.
   */
  sweepRepeats(counts: readonly RepeatCount[], idleMs: number): RepeatCount[] {
    for (const s of this.#repeats.sweep(counts, idleMs)) {
      if (!s.last) {
        this.noteLoss('ringbuf', s.count);
        continue;
      }
      // at the end of the second the attempts fell in (never before the record they follow)
      let at = s.last.bootNs;
      if (s.untilBootNs > at) at = s.untilBootNs;
      this.#handle({ ...s.last, bootNs: at }, { count: s.count, firstBootNs: s.last.bootNs });
    }
    return counts.filter((c) => this.#repeats.reported(c));
  }

  /** Counts another daemon already reported (adopted pins): never reported again. */
  primeRepeats(counts: readonly RepeatCount[]): void {
    this.#repeats.prime(counts);
  }

  /** The keys whose reported count changed since the last call (for bg_repeats_reported). */
  reportedRepeats(): { key: RepeatCount['key']; reported: bigint }[] {
    return this.#repeats.takeReported();
  }

  /** Forget the ledger's entries of keys deleted from the kernel. */
  forgetRepeats(counts: readonly RepeatCount[]): void {
    for (const c of counts) this.#repeats.forget(c.key);
  }

  #handle(record: DecodedRecord, repeat: Repeat | null): void {
    const rule = this.#ruleOf(record);
    if (!this.#enricher) {
      this.#emitViolation(record, rule, {}, repeat);
      return;
    }
    // a burst from one process: its enrichment is in the caches, no promise per record
    let now: Enrichment | undefined;
    try {
      now = this.#enricher.cached?.(record);
    } catch {
      now = undefined;
    }
    if (now !== undefined) {
      this.#emitViolation(record, rule, now, repeat);
      return;
    }
    let enriched: Promise<Enrichment>;
    try {
      enriched = this.#enricher.enrich(record).catch(() => ({}));
    } catch {
      enriched = Promise.resolve({});
    }
    const p = enriched.then((enrichment) => this.#emitViolation(record, rule, enrichment, repeat));
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /** A loss counted somewhere (ring buffer, queue): it becomes an event of its own, now. */
  reportLoss(report: LossReport): void {
    this.noteLoss(report.source, report.count);
    this.flushLosses();
  }

  /** Count a loss; flushLosses() reports it. */
  noteLoss(source: LossSource, count: number): void {
    if (count > 0) this.#unreported.set(source, (this.#unreported.get(source) ?? 0) + count);
  }

  /** One loss event per source with losses counted since the last flush. */
  flushLosses(): void {
    for (const source of LOSS_SOURCES) {
      const count = this.#unreported.get(source) ?? 0;
      if (count === 0) continue;
      this.#unreported.delete(source);
      this.counters.losses += count;
      this.publish(buildLossEvent({ source, count }, { host: this.#host, ids: this.#ids }));
    }
  }

  /** Resolves when every record handed in so far has been emitted. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #ruleOf(record: DecodedRecord): PlannedRule | undefined {
    if (record.ruleId >>> 0 >= RULE_DEFAULT) return undefined;
    return this.#plans[record.gen]?.rules[record.ruleId];
  }

  #emitViolation(
    record: DecodedRecord,
    rule: PlannedRule | undefined,
    enrichment: Enrichment,
    repeat: Repeat | null,
  ): void {
    const plan = this.#plans[record.gen];
    let event: ViolationEvent;
    try {
      event = this.#build(record, rule, enrichment, plan);
      if (repeat) this.#counted(event, repeat);
    } catch (err) {
      this.#emitFailed(err);
      return;
    }
    this.publish(event);
  }

  /** An event that stands for `count` attempts, from `firstBootNs` to its own time. */
  #counted(event: ViolationEvent, repeat: Repeat): void {
    const first = wallNs(repeat.firstBootNs, this.#clock).toString();
    event.count = repeat.count;
    event.firstTimeNs = first;
    event.firstTime = formatTimeNs(BigInt(first));
    event.lastTimeNs = event.timeNs;
    event.lastTime = event.time;
  }

  #build(
    record: DecodedRecord,
    rule: PlannedRule | undefined,
    enrichment: Enrichment,
    plan: Plan | null,
  ): ViolationEvent {
    return buildEvent(record, rule, {
      host: this.#host,
      mode: this.#mode,
      enrichment,
      clock: this.#clock,
      ids: this.#ids,
      policyForSlot: (slot) => {
        const p = plan?.policies.find((x) => x.slot === slot);
        const r = plan?.rules.find((x) => x.policy === p?.name);
        return p ? { name: p.name, severity: r?.severity ?? 'high', tags: r?.tags ?? [] } : undefined;
      },
      executableOf: (exeId) => this.#executables[record.gen].get(exeId),
      inode: (ruleId) => this.#inodes[record.gen].get(ruleId),
      attachment: (ruleId) =>
        plan?.programs.find((s) => 'cookie' in s.attach && s.attach.cookie === ruleId)?.attach,
    });
  }

  /** Hand an event to every output; one that throws is counted (once per event) and does not stop the others. */
  publish(event: BpfgateEvent): void {
    this.counters.events++;
    let failure: unknown = null;
    for (const o of this.#outputs) {
      try {
        o.publish(event);
      } catch (err) {
        failure = err;
      }
    }
    // a loss event that fails is not a loss of its own: what it reports reached the outputs that took it
    if (failure !== null && event.type !== 'loss') this.#emitFailed(failure);
  }

  #emitFailed(err: unknown): void {
    this.counters.emitErrors++;
    this.noteLoss('emit', 1);
    if (this.counters.emitErrors === 1 || this.counters.emitErrors % 1000 === 0)
      this.#log.warn(
        { err: String(err), emitErrors: this.counters.emitErrors },
        'an event was lost while it was emitted',
      );
  }
}
