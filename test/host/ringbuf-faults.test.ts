// The ring-buffer reader against the real kernel ring buffer when reading
// fails, each failure forced with the addon's test-only fault switch
// (ringFault, native/src/ringbuf.c): a record that cannot be staged is lost
// alone and counted, the records read before it are delivered; a batch that
// cannot be handed over is counted whole; a poll error stops reading, says
// why, and reading resumes after a back-off with nothing lost. The exec
// tracepoint only observes; every record the kernel wrote is accounted for
// as delivered or lost.
import { execFileSync } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../../src/kernel/binding/native.ts';
import { type BpfLink, BpfObject, KernelError, RingBufferReader } from '../../src/kernel/binding.ts';
import { buildTestObject } from '../support/test-object.ts';

const EIO = 5;
const cleanup: { close(): void }[] = [];
let objPath = '';

beforeAll(() => {
  objPath = buildTestObject();
});
// each test's reader and link go with it: the faults are process-wide, and another reader would take them
afterEach(() => {
  native().ringFault('clear', 0);
  for (const c of cleanup.splice(0).reverse()) c.close();
});

/** The test object with its exec tracepoint; records(): every exec record the kernel wrote since attach. */
function execRing(): { o: BpfObject; attach(): void; written(): bigint } {
  const o = BpfObject.open(objPath);
  cleanup.push(o);
  o.loadOnly(['test_exec']);
  o.load();
  const zero = Buffer.alloc(4);
  return {
    o,
    attach() {
      const link: BpfLink = o.attachTrace('test_exec');
      cleanup.push({ close: () => link.destroy() });
    },
    written: () =>
      o
        .map('test_counts')
        .lookupPercpu(zero)!
        .reduce((s, v) => s + v.readBigUInt64LE(), 0n),
  };
}

/** n processes started while the event loop is blocked: their records wait in the ring together. */
function execs(n: number): number[] {
  const pids: number[] = [];
  for (let i = 0; i < n; i++) pids.push(Number(execFileSync('sh', ['-c', 'echo $$']).toString().trim()));
  return pids;
}

async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; )
    await new Promise((r) => setTimeout(r, 10));
  return cond();
}

const tgid = (r: Buffer) => r.readUInt32LE(4);

describe('ring-buffer reader failures (real kernel ring buffer, forced by the fault switch)', () => {
  it('an allocation failure inside a batch keeps the records read before it and counts the lost one', async () => {
    const ring = execRing();
    const sizes: number[] = [];
    const seen = new Set<number>();
    const errors: unknown[] = [];
    const reader = RingBufferReader.open(
      ring.o.map('test_events'),
      (b) => {
        sizes.push(b.count);
        for (const r of b) seen.add(tgid(r));
      },
      { onError: (e) => errors.push(e) },
    );
    cleanup.push(reader);
    ring.attach();
    native().ringFault('alloc', 4);
    const pids = execs(10);
    // every record the kernel wrote is either delivered or counted lost
    expect(await until(() => BigInt(reader.delivered + reader.lost) === ring.written())).toBe(true);
    expect(reader.lost).toBe(1);
    expect(errors).toEqual([]);
    // the batch that met the failure ended there, with the three records read before it
    expect(sizes).toContain(3);
    expect(pids.filter((p) => seen.has(p)).length).toBeGreaterThanOrEqual(9);
  });

  it('a batch that cannot be handed over is counted whole, reported, and reading goes on', async () => {
    const ring = execRing();
    const seen = new Set<number>();
    const errors: [KernelError, unknown][] = [];
    const reader = RingBufferReader.open(
      ring.o.map('test_events'),
      (b) => {
        for (const r of b) seen.add(tgid(r));
      },
      { onError: (e, stopped) => errors.push([e, stopped]) },
    );
    cleanup.push(reader);
    ring.attach();
    native().ringFault('copy', 0);
    execs(5);
    expect(await until(() => errors.length > 0)).toBe(true);
    expect(errors[0]![0]).toMatchObject({ op: 'ring_batch_copy', errnoName: 'ENOMEM' });
    expect(errors[0]![1]).toBeNull();
    expect(reader.lost).toBeGreaterThanOrEqual(1);
    const later = execs(3);
    expect(await until(() => later.every((p) => seen.has(p)))).toBe(true);
    expect(await until(() => BigInt(reader.delivered + reader.lost) === ring.written())).toBe(true);
  });

  it('a poll error stops reading and says why; reading resumes with back-off and nothing is lost', async () => {
    const ring = execRing();
    const seen = new Set<number>();
    const stops: number[] = [];
    const errors: KernelError[] = [];
    let resumed = 0;
    const reader = RingBufferReader.open(
      ring.o.map('test_events'),
      (b) => {
        for (const r of b) seen.add(tgid(r));
      },
      {
        retryMs: 20,
        onError: (e, stopped) => {
          errors.push(e);
          stops.push(stopped?.resumeInMs ?? -1);
        },
        onResume: () => resumed++,
      },
    );
    cleanup.push(reader);
    ring.attach();
    native().ringFault('poll', EIO);
    const pids = execs(4);
    // every retry meets the error again: stopped, with a growing delay, nothing read
    expect(await until(() => stops.length >= 4)).toBe(true);
    expect(reader.stoppedBy).toBeInstanceOf(KernelError);
    expect(errors[0]).toMatchObject({ op: 'ring_buffer_poll', errnoName: 'EIO' });
    expect(stops.slice(0, 4)).toEqual([20, 40, 80, 160]);
    expect(pids.some((p) => seen.has(p))).toBe(false);
    native().ringFault('clear', 0);
    // the records waited in the ring: all of them arrive once reading resumes
    expect(await until(() => pids.every((p) => seen.has(p)))).toBe(true);
    expect(reader.stoppedBy).toBeNull();
    expect(resumed).toBeGreaterThanOrEqual(1);
    expect(reader.lost).toBe(0);
    expect(await until(() => BigInt(reader.delivered) === ring.written())).toBe(true);
  });
});
