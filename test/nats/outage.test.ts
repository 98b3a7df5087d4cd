// Nothing lost without a count: the broker goes away under a steady stream of
// events, comes back on the same port and store, and every id is in the
// stream exactly once; a full spool counts its drops and says so in a loss event.
// NATS: the direct nats-server launcher (test/support/nats-server.ts).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent } from '../../src/events/build.ts';
import { IdGenerator } from '../../src/events/id.ts';
import type { ViolationEvent } from '../../src/events/types.ts';
import { Spool } from '../../src/sinks/spool.ts';
import { ctx, record, rule } from '../support/events.ts';
import { createStream, makeSink, readStream, withConnection } from '../support/nats.ts';
import { NatsServer, stopAllServers } from '../support/nats-server.ts';
import { sleep, waitFor } from '../support/wait.ts';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'bpfgate-spool-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  await stopAllServers();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const ids = new IdGenerator();
let n = 0;
function nextEvent(host = 'outage-host'): ViolationEvent {
  n++;
  return buildEvent(
    record('connect', { bootNs: BigInt(n) * 1_000_000n, pid: 1000 + (n % 50) }),
    rule('connect'),
    ctx({ host, ids }),
  );
}

describe('outage', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await NatsServer.start();
    await withConnection({ servers: server.url }, (nc) => createStream(nc));
  });
  afterAll(async () => server?.dispose());

  it('under a steady stream, a broker stopped for seconds loses nothing and duplicates nothing', async () => {
    const sink = makeSink({ servers: [server.url], spoolDir: tempDir(), spoolSegmentBytes: 16 * 1024 });
    await sink.start();
    const sent: string[] = [];
    let stop = false;
    const producer = (async () => {
      while (!stop) {
        for (let i = 0; i < 5; i++) {
          const e = nextEvent();
          sent.push(e.id);
          expect(sink.publish(e)).toBe(true);
        }
        await sleep(10);
      }
    })();
    await sleep(1000);
    await server.stop();
    await sleep(4000);
    const during = sink.stats();
    await server.restart();
    await sleep(1500);
    stop = true;
    await producer;
    expect(await sink.idle(30_000)).toBe(true);
    const after = sink.stats();
    await sink.stop();

    expect(during.connected).toBe(false);
    expect(during.spooled).toBeGreaterThan(0);
    expect(after.replayed).toBeGreaterThanOrEqual(during.spooled);
    expect(after.queueDropped + after.spoolDropped).toBe(0);
    expect(after.reconnects).toBeGreaterThanOrEqual(1);
    const stored = await withConnection({ servers: server.url }, (nc) => readStream(nc));
    const storedIds = stored.map((m) => m.msgId);
    expect(new Set(storedIds).size).toBe(storedIds.length); // exactly once
    expect(storedIds.length).toBe(sent.length);
    expect([...storedIds].sort()).toEqual([...sent].sort());
    // in order: the spool replays in the order events were given
    expect(storedIds).toEqual(sent);
  });
});

describe('a full spool', () => {
  it('drops the newest, counts them, and publishes a loss event when NATS is back', async () => {
    const server = await NatsServer.start();
    try {
      await withConnection({ servers: server.url }, (nc) => createStream(nc));
      const port = server.port;
      await server.stop();
      const sink = makeSink(
        {
          servers: [`nats://127.0.0.1:${port}`],
          spoolDir: tempDir(),
          spoolMaxBytes: 16 * 1024,
          spoolSegmentBytes: 4096,
        },
        'outage-host',
      );
      await sink.start();
      const sent: ViolationEvent[] = [];
      for (let i = 0; i < 100; i++) {
        const e = nextEvent();
        sent.push(e);
        sink.publish(e);
      }
      await waitFor(() => sink.stats().queued === 0, 10_000, 'queue drained to the spool');
      const full = sink.stats();
      expect(full.spoolDropped).toBeGreaterThan(0);
      expect(full.spooled + full.spoolDropped).toBe(100);
      expect(full.lossPending.spool).toBe(full.spoolDropped);
      await server.restart();
      await waitFor(() => sink.stats().lossEvents > 0 && sink.stats().spool?.pending === 0, 20_000, 'replay');
      expect(await sink.idle(20_000)).toBe(true);
      await sink.stop();
      const stored = await withConnection({ servers: server.url }, (nc) => readStream(nc));
      const violations = stored.filter((m) => m.body.type === 'violation');
      const losses = stored.filter((m) => m.body.type === 'loss');
      // the oldest were kept, in order
      expect(violations.map((m) => m.msgId)).toEqual(sent.slice(0, full.spooled).map((e) => e.id));
      expect(losses).toHaveLength(1);
      expect(losses[0]!.subject).toBe('bpfgate.v1.outage-host._loss');
      expect(losses[0]!.body.loss).toEqual({ source: 'spool', count: full.spoolDropped });
    } finally {
      await server.dispose();
    }
  });

  it('a corrupt spool left by a previous run: the intact records are replayed, each record cut is reported', async () => {
    const server = await NatsServer.start();
    try {
      await withConnection({ servers: server.url }, (nc) => createStream(nc));
      const port = server.port;
      await server.stop();
      const dir = tempDir();
      const before = makeSink({ servers: [`nats://127.0.0.1:${port}`], spoolDir: dir }, 'outage-host');
      await before.start();
      const sent = Array.from({ length: 10 }, () => nextEvent());
      for (const e of sent) before.publish(e);
      await waitFor(() => before.stats().spool?.pending === 10, 10_000, 'ten events spooled');
      await before.stop();
      // damage the fourth record's payload and the seventh's length
      const seg = join(dir, readdirSync(dir).find((f) => f.startsWith('seg-'))!);
      const b = readFileSync(seg);
      const starts: number[] = [];
      for (let off = Spool.SEGMENT_HEADER; off < b.length; off += Spool.RECORD_HEADER + b.readUInt32LE(off))
        starts.push(off);
      b.writeUInt8(
        b.readUInt8(starts[3]! + Spool.RECORD_HEADER + 10) ^ 0xff,
        starts[3]! + Spool.RECORD_HEADER + 10,
      );
      b.writeUInt8(b.readUInt8(starts[6]! + 1) ^ 0xff, starts[6]! + 1);
      writeFileSync(seg, b);
      await server.restart();
      const after = makeSink({ servers: [server.url], spoolDir: dir }, 'outage-host');
      await after.start();
      await waitFor(
        () => after.stats().lossEvents > 0 && after.stats().spool?.pending === 0,
        20_000,
        'replay',
      );
      expect(await after.idle(20_000)).toBe(true);
      await after.stop();
      const stored = await withConnection({ servers: server.url }, (nc) => readStream(nc));
      const kept = [0, 1, 2, 4, 5, 7, 8, 9].map((i) => sent[i]!.id);
      expect(stored.filter((m) => m.body.type === 'violation').map((m) => m.msgId)).toEqual(kept);
      expect(stored.filter((m) => m.body.type === 'loss').map((m) => m.body.loss)).toEqual([
        { source: 'spool', count: 2 },
      ]);
    } finally {
      await server.dispose();
    }
  });

  it('a full in-memory queue counts its drops and reports them', async () => {
    const server = await NatsServer.start();
    try {
      await withConnection({ servers: server.url }, (nc) => createStream(nc));
      const sink = makeSink({ servers: [server.url], queueMax: 10 }, 'outage-host');
      await sink.start();
      let accepted = 0;
      for (let i = 0; i < 50; i++) if (sink.publish(nextEvent())) accepted++;
      expect(sink.stats().queueDropped).toBe(50 - accepted);
      expect(await sink.idle(10_000)).toBe(true);
      await sink.stop();
      const stored = await withConnection({ servers: server.url }, (nc) => readStream(nc));
      const loss = stored.find((m) => m.body.type === 'loss');
      expect(loss?.body.loss).toEqual({ source: 'queue', count: 50 - accepted });
      expect(stored.filter((m) => m.body.type === 'violation')).toHaveLength(accepted);
    } finally {
      await server.dispose();
    }
  });
});
