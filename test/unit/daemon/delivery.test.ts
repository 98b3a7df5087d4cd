// Delivery health: repeated warnings back off and count what they suppress,
// a recovery is said once, and `bpfgate status` shows a failing delivery with
// its last error and what waits (it used to say "connected, 0 published").
import { describe, expect, it } from 'vitest';
import { natsLines, renderStatus } from '../../../src/cli/commands/status.ts';
import type { StatusDocument } from '../../../src/daemon/metrics.ts';
import { FIRST_BACKOFF_MS, MAX_BACKOFF_MS, Repeats } from '../../../src/repeats.ts';
import { noStreamMessage } from '../../../src/sinks/nats.ts';

function logger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  return {
    lines,
    warn: (obj: object, msg?: string) => lines.push({ level: 'warn', obj: obj as never, msg: msg ?? '' }),
    info: (obj: object, msg?: string) => lines.push({ level: 'info', obj: obj as never, msg: msg ?? '' }),
  };
}

describe('repeated warnings', () => {
  it('an hour of a warning every second logs a few dozen lines, each counting the suppressed', () => {
    let now = 0;
    const log = logger();
    const r = new Repeats(log, () => now);
    for (let s = 0; s < 3600; s++) {
      r.warn('nats', { err: 'x' }, 'NATS unreachable');
      now += 1000;
    }
    const warns = log.lines.filter((l) => l.level === 'warn');
    expect(warns.length).toBeGreaterThan(5);
    expect(warns.length).toBeLessThan(30);
    expect(warns[0]!.msg).toBe('NATS unreachable');
    expect(warns[1]!.msg).toMatch(/^NATS unreachable \(1 more like it since the last report\)$/);
    const counted = warns.reduce((n, w) => n + 1 + (w.obj.suppressed as number), 0);
    expect(counted).toBeLessThanOrEqual(3600);
    expect(3600 - counted).toBeLessThan(MAX_BACKOFF_MS / 1000 + 1);
    expect(FIRST_BACKOFF_MS).toBe(2000);
  });

  it('a recovery is logged once, and the next failure is logged at once', () => {
    let now = 0;
    const log = logger();
    const r = new Repeats(log, () => now);
    expect(r.recovered('nats', {}, 'recovered')).toBe(false);
    r.warn('nats', {}, 'down');
    now = 500;
    expect(r.warn('nats', {}, 'down')).toBe(false);
    now = 10_000;
    expect(r.recovered('nats', {}, 'connected to NATS')).toBe(true);
    expect(r.recovered('nats', {}, 'connected to NATS')).toBe(false);
    expect(log.lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual([
      'connected to NATS (after 10 s and 2 failure(s))',
    ]);
    expect(r.warn('nats', {}, 'down again')).toBe(true);
  });
});

describe('status shows delivery health', () => {
  const failing: NonNullable<StatusDocument['nats']> = {
    connected: true,
    delivery: 'failing',
    published: 0,
    publishFailures: 41,
    queued: 12,
    queueDropped: 0,
    spoolPending: 300,
    spoolBytes: 180_000,
    spoolDropped: 0,
    lastError: { message: noStreamMessage('bpfgate.v1'), at: '2026-11-25T10:00:00.000Z' },
    oldestUndelivered: '2026-11-25T09:58:00.000Z',
  };
  const now = Date.parse('2026-11-25T10:00:30.000Z');

  it('a connected server with no stream is a failing delivery, with the fix', () => {
    const text = natsLines(failing, now).join('\n');
    expect(text).toMatch(/^nats: DELIVERY FAILING, connected; 0 published, 41 failed publish attempts/);
    expect(text).toContain(
      'waiting: 12 in memory, 300 in the spool (180000 bytes), the oldest since 3 min ago',
    );
    expect(text).toContain(
      "last error (30 s ago): no JetStream stream stores bpfgate.v1.> (503 no responders): create it with 'bpfgate nats setup --nats URL'",
    );
  });

  it('a recovered delivery keeps its last error, marked as recovered', () => {
    const ok = { ...failing, delivery: 'ok' as const, queued: 0, spoolPending: 0, oldestUndelivered: null };
    const text = natsLines(ok, now).join('\n');
    expect(text).toMatch(/^nats: delivering/);
    expect(text).toContain('last error (30 s ago, since recovered)');
    expect(text).not.toContain('the oldest since');
  });

  it('renders inside the whole status', () => {
    const doc: StatusDocument = {
      enforcing: true,
      mode: 'enforce',
      host: 'h',
      kernel: null,
      policies: [],
      counters: {
        records: 0,
        events: 0,
        decodeErrors: 0,
        ringbufDrops: 0,
        losses: 0,
        denied: 0,
        killed: 0,
        reloads: 0,
        reloadFailures: 0,
      },
      nats: failing,
      maps: {},
    };
    expect(renderStatus(doc, now)).toContain('DELIVERY FAILING');
  });
});
