import { afterEach, describe, expect, it, vi } from 'vitest';
import { Aggregator } from '../../../src/events/aggregate.ts';
import { buildEvent, buildLossEvent } from '../../../src/events/build.ts';
import { IdGenerator } from '../../../src/events/id.ts';
import { eventSchemaErrors } from '../../../src/events/schema.ts';
import type { BpfgateEvent, ViolationEvent } from '../../../src/events/types.ts';
import { ctx, record, rule } from '../../support/events.ts';

const c = ctx();
const ev = (
  over: Parameters<typeof record>[1] = {},
  kind: Parameters<typeof record>[0] = 'file',
): ViolationEvent => buildEvent(record(kind, over), rule(kind), c);

afterEach(() => {
  vi.useRealTimers();
});

describe('Aggregator', () => {
  it('window 0 passes every event through at once', () => {
    const out: BpfgateEvent[] = [];
    const a = new Aggregator({ windowMs: 0 }, (e) => out.push(e));
    for (let i = 0; i < 5; i++) a.push(ev());
    expect(out).toHaveLength(5);
    expect(out.every((e) => e.type === 'violation' && e.count === undefined)).toBe(true);
  });

  it('identical violations within the window become one event with count and first/last time', () => {
    vi.useFakeTimers();
    const out: BpfgateEvent[] = [];
    const a = new Aggregator({ windowMs: 1000 }, (e) => out.push(e));
    const first = ev({ bootNs: 1_000_000_000n });
    a.push(first);
    a.push(ev({ bootNs: 1_200_000_000n }));
    a.push(ev({ bootNs: 1_500_000_000n }));
    expect(out).toHaveLength(0);
    vi.advanceTimersByTime(1000);
    expect(out).toHaveLength(1);
    const agg = out[0] as ViolationEvent;
    expect(agg.id).toBe(first.id);
    expect(agg.count).toBe(3);
    expect(agg.firstTimeNs).toBe(first.timeNs);
    expect(BigInt(agg.lastTimeNs!) - BigInt(agg.firstTimeNs!)).toBe(500_000_000n);
    expect(eventSchemaErrors(agg)).toEqual([]);
  });

  it('different rule, executable, target or cgroup are different groups', () => {
    vi.useFakeTimers();
    const out: BpfgateEvent[] = [];
    const a = new Aggregator({ windowMs: 1000 }, (e) => out.push(e));
    a.push(ev());
    a.push(ev({ path: '/etc/gshadow' }));
    a.push(ev({ cgroupId: 1n }));
    a.push(buildEvent(record('file'), rule('file', { rule: 'other' }), c));
    a.push(buildEvent(record('file'), rule('file'), ctx({ enrichment: { executable: '/bin/other' } })));
    a.push(ev());
    expect(a.openGroups).toBe(5);
    vi.advanceTimersByTime(1000);
    expect(out).toHaveLength(5);
    expect(out.map((e) => (e as ViolationEvent).count ?? 1).reduce((x, y) => x + y)).toBe(6);
  });

  it('a lone event is emitted unchanged; loss events are never held', () => {
    vi.useFakeTimers();
    const out: BpfgateEvent[] = [];
    const a = new Aggregator({ windowMs: 500 }, (e) => out.push(e));
    const loss = buildLossEvent({ source: 'ringbuf', count: 2 }, { host: 'h', ids: new IdGenerator() });
    a.push(loss);
    expect(out).toEqual([loss]);
    const e = ev();
    a.push(e);
    vi.advanceTimersByTime(500);
    expect(out[1]).toEqual(e);
  });

  it('stop() flushes what is open; the bound on groups emits the oldest early', () => {
    const out: BpfgateEvent[] = [];
    const a = new Aggregator({ windowMs: 60_000, maxGroups: 2 }, (e) => out.push(e));
    a.push(ev({ cgroupId: 1n }));
    a.push(ev({ cgroupId: 2n }));
    a.push(ev({ cgroupId: 3n }));
    expect(out.map((e) => (e as ViolationEvent).process.cgroup.id)).toEqual(['1']);
    a.push(ev({ cgroupId: 3n }));
    a.stop();
    expect(out).toHaveLength(3);
    expect((out[2] as ViolationEvent).count).toBe(2);
    a.push(ev());
    expect(out).toHaveLength(4);
  });

  it('uses unref’d timers (a pending window never keeps the process alive)', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const a = new Aggregator({ windowMs: 10_000 }, () => {});
    a.push(ev());
    const timer = spy.mock.results.at(-1)?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    a.stop();
    spy.mockRestore();
  });
});
