// stdout as the daemon uses it (the journal, a pipe): a reader that went away
// (EPIPE) or stopped reading (a full pipe) must neither crash the daemon nor
// block its event loop, and every event that could not be written is counted.
// Real pipes: the write end of a child's stdin.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { buildEvent, buildLossEvent } from '../../../src/events/build.ts';
import { IdGenerator } from '../../../src/events/id.ts';
import { StdoutSink } from '../../../src/sinks/stdout.ts';
import { ctx, record, rule } from '../../support/events.ts';

const violation = () => buildEvent(record('file'), rule('file'), ctx());
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** The write end of a pipe whose reader is `argv` (its stdin). */
async function pipeTo(argv: string[]): Promise<{ fd: number; child: ChildProcess }> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(child);
  await new Promise((r) => child.once('spawn', r));
  const fd = (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
  return { fd, child };
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe('StdoutSink on a real pipe', () => {
  it('a reader that went away (EPIPE): no crash, every violation counted as not written', async () => {
    // the reader closes its end and lives on: the pipe has no reader left
    const { fd } = await pipeTo(['sh', '-c', 'exec 0<&-; sleep 30']);
    await tick(200);
    const out = new StdoutSink({ format: 'native', fd });
    await out.start();
    for (let i = 0; i < 10; i++) out.publish(violation());
    // a loss event that cannot be written is not itself a lost violation
    out.publish(buildLossEvent({ source: 'ringbuf', count: 5 }, { host: 'h', ids: new IdGenerator() }));
    await out.stop();
    expect(out.stats()).toMatchObject({ written: 0, dropped: 10 });
    expect(out.stats().closed).toMatch(/EPIPE/);
  });

  it('a reader that stopped reading (full pipe): publish never blocks, what does not fit is counted', async () => {
    const { fd } = await pipeTo(['sleep', '30']);
    const out = new StdoutSink({ format: 'native', fd, maxBufferBytes: 256 * 1024 });
    await out.start();
    let timerRan = false;
    setTimeout(() => {
      timerRan = true;
    }, 0);
    const t0 = performance.now();
    for (let i = 0; i < 5000; i++) out.publish(violation()); // several MB: the pipe holds 64 KiB
    expect(performance.now() - t0).toBeLessThan(2000);
    await tick(50);
    expect(timerRan).toBe(true);
    const s = out.stats();
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.pending).toBeGreaterThan(0);
    expect(s.written + s.dropped + s.pending).toBe(5000);
    await out.stop(200); // gives up on what the reader never takes, and counts it
    const end = out.stats();
    expect(end.pending).toBe(0);
    expect(end.written + end.dropped).toBe(5000);
  });

  it('writes every line in order to a reader that reads', async () => {
    const child = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
    children.push(child);
    await new Promise((r) => child.once('spawn', r));
    const fd = (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
    let text = '';
    child.stdout!.on('data', (d) => {
      text += d;
    });
    const out = new StdoutSink({ format: 'ocsf', fd });
    await out.start();
    const events = Array.from({ length: 300 }, () => violation());
    for (const e of events) out.publish(e);
    await out.stop();
    child.stdin!.end();
    await new Promise((r) => child.once('exit', r));
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(300);
    expect(lines.map((l) => JSON.parse(l).metadata.uid)).toEqual(events.map((e) => e.id));
    expect(out.stats()).toMatchObject({ written: 300, dropped: 0, pending: 0, closed: null });
  });
});
