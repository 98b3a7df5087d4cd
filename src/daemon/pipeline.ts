// Records → events → outputs. A record that fails to decode is counted and
// skipped, never fatal. Rule ids resolve against the plan of the generation
// that produced the record.

import { RULE_DEFAULT } from '../abi/layout.ts';
import type { Plan, PlannedRule } from '../abi/plan.ts';
import { type BootClock, buildEvent, buildLossEvent, type Enrichment } from '../events/build.ts';
import type { IdSource } from '../events/id.ts';
import type { BpfgateEvent, EventMode } from '../events/types.ts';
import { decodeRecord, RecordDecodeError } from '../kernel/decoder.ts';
import type { DecodedRecord, LossReport } from '../kernel/record.ts';
import type { EventOutput } from '../sinks/sink.ts';

export interface Enricher {
  enrich(record: DecodedRecord): Promise<Enrichment>;
}

export interface PipelineLog {
  warn(obj: object, msg: string): void;
}

export interface PipelineCounters {
  records: number;
  decodeErrors: number;
  events: number;
  losses: number;
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
  #pending = new Set<Promise<void>>();
  readonly counters: PipelineCounters = { records: 0, decodeErrors: 0, events: 0, losses: 0 };

  constructor(deps: {
    host: string;
    mode: EventMode;
    clock: BootClock;
    ids: IdSource;
    outputs: EventOutput[];
    enricher?: Enricher | null;
    log: PipelineLog;
  }) {
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

  /** One ring-buffer record. */
  handleRecord(buf: Uint8Array): void {
    this.counters.records++;
    let record: DecodedRecord;
    try {
      record = decodeRecord(buf);
    } catch (err) {
      if (!(err instanceof RecordDecodeError)) throw err;
      this.counters.decodeErrors++;
      if (this.counters.decodeErrors === 1 || this.counters.decodeErrors % 1000 === 0) {
        this.#log.warn(
          { err, decodeErrors: this.counters.decodeErrors },
          'skipping a ring-buffer record that does not decode',
        );
      }
      return;
    }
    const rule = this.#ruleOf(record);
    if (!this.#enricher) {
      this.#emitViolation(record, rule, {});
      return;
    }
    const p = this.#enricher
      .enrich(record)
      .catch(() => ({}))
      .then((enrichment) => this.#emitViolation(record, rule, enrichment));
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /** A loss counted somewhere (ring buffer, queue): it becomes an event of its own. */
  reportLoss(report: LossReport): void {
    this.counters.losses += report.count;
    this.publish(buildLossEvent(report, { host: this.#host, ids: this.#ids }));
  }

  /** Resolves when every record handed in so far has been emitted. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #ruleOf(record: DecodedRecord): PlannedRule | undefined {
    if (record.ruleId >>> 0 >= RULE_DEFAULT) return undefined;
    return this.#plans[record.gen]?.rules[record.ruleId];
  }

  #emitViolation(record: DecodedRecord, rule: PlannedRule | undefined, enrichment: Enrichment): void {
    const plan = this.#plans[record.gen];
    const event = buildEvent(record, rule, {
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
      kprobeFunction: (ruleId) => {
        const spec = plan?.programs.find((s) => s.attach.type === 'kprobe' && s.attach.cookie === ruleId);
        return spec?.attach.type === 'kprobe' ? spec.attach.function : undefined;
      },
    });
    this.publish(event);
  }

  /** Hand an event of the daemon's own (loss, policy error) to every output. */
  publish(event: BpfgateEvent): void {
    this.counters.events++;
    for (const o of this.#outputs) o.publish(event);
  }
}
