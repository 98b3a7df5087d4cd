import { describe, expect, it } from 'vitest';
import { buildEvent, buildLossEvent } from '../../../src/events/build.ts';
import { IdGenerator } from '../../../src/events/id.ts';
import type { BpfgateEvent } from '../../../src/events/types.ts';
import { AggregatingSink } from '../../../src/sinks/aggregate.ts';
import { formatEvent } from '../../../src/sinks/format.ts';
import { asSink, Fanout, type Sink } from '../../../src/sinks/sink.ts';
import { ctx, record, rule } from '../../support/events.ts';

const violation = () => buildEvent(record('file'), rule('file'), ctx());
const loss = () => buildLossEvent({ source: 'ringbuf', count: 3 }, { host: 'h', ids: new IdGenerator() });

/** A sink that records what happens to it. */
function probe(name: string, log: string[]): Sink & { events: BpfgateEvent[] } {
  const events: BpfgateEvent[] = [];
  return {
    events,
    publish: (e) => {
      events.push(e);
      log.push(`${name}:publish`);
    },
    start: async () => {
      log.push(`${name}:start`);
    },
    stop: async () => {
      log.push(`${name}:stop`);
    },
  };
}

describe('sinks', () => {
  it('one formatting step: OCSF only for violations, loss and policy_error always native', () => {
    const v = violation();
    expect(formatEvent(v, 'native')).toBe(v);
    expect(formatEvent(v, 'ocsf')).toMatchObject({ class_uid: expect.any(Number) });
    const l = loss();
    expect(formatEvent(l, 'ocsf')).toBe(l);
  });

  it('a fan-out starts in order, hands every event to each, stops in reverse', async () => {
    const log: string[] = [];
    const f = new Fanout([probe('a', log), probe('b', log)]);
    await f.start();
    f.publish(violation());
    await f.stop();
    expect(log).toEqual(['a:start', 'b:start', 'a:publish', 'b:publish', 'b:stop', 'a:stop']);
  });

  it('the aggregating sink merges repeats and flushes them to the next sink on stop', async () => {
    const log: string[] = [];
    const next = probe('next', log);
    const s = new AggregatingSink(60_000, next);
    await s.start();
    for (let i = 0; i < 3; i++) s.publish(violation());
    s.publish(loss());
    expect(next.events.map((e) => e.type)).toEqual(['loss']);
    await s.stop();
    expect(next.events.map((e) => (e.type === 'violation' ? e.count : e.type))).toEqual(['loss', 3]);
    expect(log.at(-1)).toBe('next:stop');
  });

  it('an output without a lifetime becomes a sink', async () => {
    const seen: BpfgateEvent[] = [];
    const s = asSink({ publish: (e) => seen.push(e) });
    await s.start();
    s.publish(loss());
    await s.stop();
    expect(seen).toHaveLength(1);
  });
});
