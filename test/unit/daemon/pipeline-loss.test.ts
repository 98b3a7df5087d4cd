// No event lost without a count, in the pipeline: a record that does not
// decode, an output that throws, an enrichment or a build that fails, and the
// losses other parts count (stdout, the ring-buffer reader) all become loss
// events; nothing of it reaches the ring buffer's callback as an exception.
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/abi/plan.ts';
import { EventPipeline } from '../../../src/daemon/pipeline.ts';
import { IdGenerator } from '../../../src/events/id.ts';
import { eventSchemaErrors } from '../../../src/events/schema.ts';
import type { BpfgateEvent, LossEvent } from '../../../src/events/types.ts';
import type { EventOutput } from '../../../src/sinks/sink.ts';
import { recordBytes, rule } from '../../support/events.ts';

const PLAN: Plan = {
  formatVersion: 1,
  features: 'test',
  policies: [{ slot: 0, name: 'p', mode: 'enforce', cgroups: [], exceptionsCgroups: [] }],
  rules: [rule('file', { policy: 'p' })],
  programs: [],
  maps: [],
  exeIds: {},
  warnings: [],
};

function pipeline(outputs: EventOutput[], enrich?: () => Promise<object>) {
  const warnings: string[] = [];
  const p = new EventPipeline({
    host: 'h',
    mode: 'enforce',
    clock: { offsetNs: 0n },
    ids: new IdGenerator(),
    outputs,
    log: { warn: (_o, msg) => warnings.push(msg) },
    ...(enrich ? { enricher: { enrich } } : {}),
  });
  p.setPlan(PLAN, 0);
  return { p, warnings };
}

const losses = (events: BpfgateEvent[]) =>
  events.filter((e): e is LossEvent => e.type === 'loss').map((e) => e.loss);

describe('EventPipeline losses', () => {
  it('records that do not decode become one loss event (decode) with their count', () => {
    const out: BpfgateEvent[] = [];
    const { p } = pipeline([{ publish: (e) => out.push(e) }]);
    p.handleRecord(new Uint8Array(10));
    p.handleRecord(recordBytes((_dv, b) => (b[0] = 0)).subarray(0, 100));
    p.handleRecord(recordBytes(() => {}));
    expect(p.counters.decodeErrors).toBe(2);
    p.flushLosses();
    expect(losses(out)).toEqual([{ source: 'decode', count: 2 }]);
    expect(eventSchemaErrors(out.at(-1))).toEqual([]);
    p.flushLosses(); // reported once
    expect(losses(out)).toHaveLength(1);
  });

  it('an output that throws: the others still get the event, the failure is counted and reported', () => {
    const good: BpfgateEvent[] = [];
    const { p } = pipeline([
      {
        publish: (e) => {
          if (e.type === 'violation') throw new Error('boom');
        },
      },
      { publish: (e) => good.push(e) },
    ]);
    expect(() => p.handleRecord(recordBytes(() => {}))).not.toThrow();
    expect(good.map((e) => e.type)).toEqual(['violation']);
    expect(p.counters.emitErrors).toBe(1);
    p.flushLosses();
    expect(losses(good)).toEqual([{ source: 'emit', count: 1 }]);
  });

  it('a failing enrichment still emits the event; a build that throws is counted, never unhandled', async () => {
    const out: BpfgateEvent[] = [];
    const { p } = pipeline([{ publish: (e) => out.push(e) }], () => Promise.reject(new Error('proc gone')));
    p.handleRecord(recordBytes(() => {}));
    await p.idle();
    expect(out.map((e) => e.type)).toEqual(['violation']);

    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { p: q } = pipeline(
        [
          {
            publish: () => {
              throw new Error('output broke');
            },
          },
        ],
        () => Promise.resolve({}),
      );
      q.handleRecord(recordBytes(() => {}));
      await q.idle();
      await new Promise((r) => setTimeout(r, 10));
      expect(q.counters.emitErrors).toBe(1);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('losses counted elsewhere (stdout, the ring-buffer reader) are reported by source', () => {
    const out: BpfgateEvent[] = [];
    const { p } = pipeline([{ publish: (e) => out.push(e) }]);
    p.noteLoss('stdout', 3);
    p.noteLoss('stdout', 2);
    p.noteLoss('reader', 1);
    p.noteLoss('ringbuf', 0);
    p.flushLosses();
    expect(losses(out)).toEqual([
      { source: 'reader', count: 1 },
      { source: 'stdout', count: 5 },
    ]);
    for (const e of out) expect(eventSchemaErrors(e)).toEqual([]);
  });
});
