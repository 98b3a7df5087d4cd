// Repeats the kernel counted without a record (bg_repeats): each counted
// attempt is reported exactly once, by the next record of its process and
// rule (the event's count), by a sweep of the kernel's counts (an event that
// repeats the last record), or as a loss when no record of the key reached
// the daemon. Records arriving out of order, a sweep racing a record and a
// daemon adopting another's counts never report an attempt twice.
import { describe, expect, it } from 'vitest';
import { EVENT_LAYOUT, EVENT_SIZE, Outcome, Size } from '../../../src/abi/layout.ts';
import type { Plan } from '../../../src/abi/plan.ts';
import { EventPipeline } from '../../../src/daemon/pipeline.ts';
import { Aggregator } from '../../../src/events/aggregate.ts';
import { IdGenerator } from '../../../src/events/id.ts';
import { type RepeatCount, RepeatLedger } from '../../../src/events/kernel-repeats.ts';
import type { BpfgateEvent, LossEvent, ViolationEvent } from '../../../src/events/types.ts';
import { decodeRecord, decodeRepeatCount } from '../../../src/kernel/decoder.ts';
import { Kind } from '../../../src/kinds/index.ts';
import { record, rule } from '../../support/events.ts';

const plan: Plan = {
  formatVersion: 1,
  features: 'test',
  policies: [{ slot: 0, name: 'net', mode: 'enforce', cgroups: [], exceptionsCgroups: [] }],
  rules: [rule('socket', { policy: 'net', rule: 'raw', message: 'raw socket' })],
  programs: [],
  maps: [],
  exeIds: {},
  warnings: [],
};

function socketRecord(tgid: number, repeats: bigint, bootNs: bigint, target = 5n): Uint8Array {
  const b = new Uint8Array(EVENT_SIZE);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(EVENT_LAYOUT.ts_ns.offset, bootNs, true);
  dv.setUint32(EVENT_LAYOUT.tgid.offset, tgid, true);
  dv.setUint32(EVENT_LAYOUT.pid.offset, tgid, true);
  b[EVENT_LAYOUT.kind.offset] = Kind.socket;
  b[EVENT_LAYOUT.action.offset] = 3;
  b[EVENT_LAYOUT.mechanism.offset] = 1;
  b[EVENT_LAYOUT.outcome.offset] = Outcome.denied;
  dv.setBigUint64(EVENT_LAYOUT.repeats.offset, repeats, true);
  dv.setBigUint64(EVENT_LAYOUT.target.offset, target, true);
  dv.setBigUint64(EVENT_LAYOUT.arg.offset, 2n, true);
  return b;
}

function kernelCount(tgid: number, counted: bigint, sec = 10n): RepeatCount {
  return {
    key: { tgid, ruleId: 0, gen: 0, kind: 'socket', op: 0, outcome: 'denied', target: 5n },
    counted,
    sec,
  };
}

function pipeline(clock = { ms: 0 }) {
  const out: BpfgateEvent[] = [];
  const p = new EventPipeline({
    host: 'h',
    mode: 'enforce',
    clock: { offsetNs: 0n },
    ids: new IdGenerator(),
    outputs: [{ publish: (e) => out.push(e) }],
    log: { warn: () => {} },
    now: () => clock.ms,
  });
  p.setPlan(plan, 0);
  return { p, out, clock };
}

const violations = (out: BpfgateEvent[]) => out.filter((e): e is ViolationEvent => e.type === 'violation');
const attempts = (out: BpfgateEvent[]) =>
  violations(out).reduce((n, e) => n + (e.count ?? 1), 0) +
  out.filter((e): e is LossEvent => e.type === 'loss').reduce((n, e) => n + e.loss.count, 0);

describe('kernel repeats in the event pipeline', () => {
  it('a record carries the attempts counted since the previous record of its process and rule', async () => {
    const { p, out } = pipeline();
    p.handleRecord(socketRecord(7, 0n, 1_000n));
    p.handleRecord(socketRecord(7, 0n, 2_000n));
    p.handleRecord(socketRecord(7, 500n, 3_000n));
    await p.idle();
    const v = violations(out);
    expect(v.map((e) => e.count)).toEqual([undefined, undefined, 501]);
    // the counted attempts came after the previous record
    expect(v[2]).toMatchObject({ firstTimeNs: '2000', lastTimeNs: '3000', timeNs: '3000' });
    expect(attempts(out)).toBe(503);
  });

  it('keeps processes apart, and an older count arriving late adds nothing', async () => {
    const { p, out } = pipeline();
    p.handleRecord(socketRecord(7, 0n, 1n));
    p.handleRecord(socketRecord(8, 0n, 1n));
    p.handleRecord(socketRecord(7, 40n, 5n));
    p.handleRecord(socketRecord(7, 30n, 4n)); // written before the one above, read after it
    p.handleRecord(socketRecord(8, 3n, 6n));
    await p.idle();
    expect(violations(out).map((e) => [e.process.tgid, e.count ?? 1])).toEqual([
      [7, 1],
      [8, 1],
      [7, 41],
      [7, 1],
      [8, 4],
    ]);
  });

  it('another target of the same process and rule is another count', async () => {
    const { p, out } = pipeline();
    p.handleRecord(socketRecord(7, 0n, 1n, 5n));
    p.handleRecord(socketRecord(7, 0n, 2n, 6n));
    p.handleRecord(socketRecord(7, 30n, 3n, 5n));
    p.handleRecord(socketRecord(7, 2n, 4n, 6n));
    await p.idle();
    expect(violations(out).map((e) => e.count ?? 1)).toEqual([1, 1, 31, 3]);
  });

  it('a sweep reports a count no record followed, once, as a repeat of the last record', async () => {
    const { p, out, clock } = pipeline();
    p.handleRecord(socketRecord(7, 10n, 1_000_000_000n));
    await p.idle();
    // still repeating (a record within idleMs): left to its records
    expect(p.sweepRepeats([kernelCount(7, 90n)], 1000)).toEqual([]);
    clock.ms = 1500;
    const done = p.sweepRepeats([kernelCount(7, 90n, 3n)], 1000);
    await p.idle();
    expect(done).toEqual([kernelCount(7, 90n, 3n)]);
    const last = violations(out).at(-1)!;
    expect(last).toMatchObject({ count: 80, firstTimeNs: '1000000000', lastTimeNs: '3000000000' });
    expect(last.process.tgid).toBe(7);
    expect(last.policy).toMatchObject({ name: 'net', rule: 'raw' });
    // the same count again: nothing new
    p.sweepRepeats([kernelCount(7, 90n, 3n)], 1000);
    await p.idle();
    expect(attempts(out)).toBe(1 + 10 + 80);
    // a record written before the sweep but read after it adds only itself
    p.handleRecord(socketRecord(7, 60n, 2_000_000_000n));
    await p.idle();
    expect(violations(out).at(-1)!.count).toBeUndefined();
    expect(attempts(out)).toBe(92);
  });

  it('a count of a key whose records were all lost is a loss of that many', () => {
    const { p, out, clock } = pipeline();
    clock.ms = 5000;
    p.sweepRepeats([kernelCount(9, 1234n)], 1000);
    p.flushLosses();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: 'loss', loss: { source: 'ringbuf', count: 1234 } });
  });

  it('counts another daemon reported are never reported again', async () => {
    const { p, out, clock } = pipeline();
    p.primeRepeats([kernelCount(7, 500n)]);
    p.handleRecord(socketRecord(7, 520n, 1n));
    await p.idle();
    expect(violations(out)[0]!.count).toBe(21);
    clock.ms = 5000;
    p.sweepRepeats([kernelCount(7, 520n)], 1000);
    await p.idle();
    expect(out).toHaveLength(1);
  });

  it('the aggregator adds a kernel-aggregated event’s count', () => {
    const out: BpfgateEvent[] = [];
    const a = new Aggregator({ windowMs: 60_000 }, (e) => out.push(e));
    const { p, out: built } = pipeline();
    p.handleRecord(socketRecord(7, 0n, 1_000n));
    p.handleRecord(socketRecord(7, 99n, 2_000n));
    for (const e of built) a.push(e);
    a.flush();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ count: 101, firstTimeNs: '1000', lastTimeNs: '2000' });
  });
});

describe('RepeatLedger', () => {
  it('forgets idle keys the kernel no longer holds, and keeps those it does', () => {
    const clock = { ms: 0 };
    const l = new RepeatLedger(() => clock.ms);
    l.onRecord(record('socket', { tgid: 1, target: 5n }));
    l.onRecord(record('socket', { tgid: 2, target: 5n }));
    clock.ms = 2000;
    l.sweep([kernelCount(2, 0n)], 1000);
    expect(l.size).toBe(1);
    expect(l.reported(kernelCount(2, 0n))).toBe(true);
    expect(l.reported(kernelCount(2, 1n))).toBe(false);
  });
});

describe('what the daemon reported, kept for the next daemon', () => {
  it('names each key whose reported count changed since the last call, once', async () => {
    const { p, clock } = pipeline();
    p.handleRecord(socketRecord(7, 0n, 1n));
    expect(p.reportedRepeats()).toEqual([]);
    p.handleRecord(socketRecord(7, 12n, 2n));
    await p.idle();
    expect(p.reportedRepeats()).toEqual([{ key: kernelCount(7, 0n).key, reported: 12n }]);
    expect(p.reportedRepeats()).toEqual([]);
    clock.ms = 5000;
    p.sweepRepeats([kernelCount(7, 40n), kernelCount(8, 3n)], 1000);
    expect(p.reportedRepeats()).toEqual([
      { key: kernelCount(7, 0n).key, reported: 40n },
      { key: kernelCount(8, 0n).key, reported: 3n },
    ]);
    // a deleted key is not written back
    p.handleRecord(socketRecord(7, 50n, 3n));
    p.forgetRepeats([kernelCount(7, 50n)]);
    expect(p.reportedRepeats()).toEqual([]);
  });
});

describe('a key deleted from the kernel', () => {
  it('a record read after the deletion adds nothing already reported; a new process under the pid later counts again', async () => {
    const { p, out, clock } = pipeline();
    p.handleRecord(socketRecord(7, 0n, 1n));
    await p.idle();
    clock.ms = 2000;
    const done = p.sweepRepeats([kernelCount(7, 50n)], 1000);
    p.forgetRepeats(done);
    // written before the process died, read after its key went
    p.handleRecord(socketRecord(7, 40n, 2n));
    await p.idle();
    expect(attempts(out)).toBe(1 + 50 + 1);
    clock.ms = 2000 + 31_000;
    p.sweepRepeats([], 1000);
    // the tombstone is gone: a later process given pid 7 starts from zero
    p.handleRecord(socketRecord(7, 3n, 3n));
    await p.idle();
    expect(attempts(out)).toBe(52 + 4);
  });
});

describe('bg_repeats entries', () => {
  it('decode key and value as struct bg_repeat_key and struct bg_repeat', () => {
    const key = new Uint8Array(Size.repeatKey);
    const kv = new DataView(key.buffer);
    kv.setUint32(0, 4242, true);
    kv.setUint32(4, 3, true);
    key.set([1, Kind.file, 2, Outcome['would-block']], 8);
    const value = new Uint8Array(Size.repeatVal);
    const vv = new DataView(value.buffer);
    kv.setBigUint64(16, 0xfeedn, true);
    vv.setBigUint64(0, 77n, true);
    vv.setBigUint64(8, 123_456n, true);
    vv.setUint32(16, 16, true);
    expect(decodeRepeatCount(key, value)).toEqual({
      key: { tgid: 4242, ruleId: 3, gen: 1, kind: 'file', op: 2, outcome: 'would-block', target: 0xfeedn },
      counted: 123_456n,
      sec: 77n,
    });
    key[9] = 250;
    expect(decodeRepeatCount(key, value)).toBeNull();
  });

  it('the record’s repeats field decodes', () => {
    expect(decodeRecord(socketRecord(1, 2n ** 40n, 5n)).repeats).toBe(2n ** 40n);
  });
});
