// NATS that works on the first try: `bpfgate nats setup` creates the stream
// (one replica: a single server accepts it) or reports the one there; a
// JetStream server without a stream is one clear, backed-off error naming
// the fix, visible in the sink's health, and the recovery is said once.
// NATS: the direct nats-server launcher (test/support/nats-server.ts).
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { IdGenerator } from '../../src/events/id.ts';
import { NatsSink } from '../../src/sinks/nats.ts';
import { parseSinkOptions } from '../../src/sinks/options.ts';
import { bpfgate } from '../support/daemon.ts';
import { sampleEvents } from '../support/events.ts';
import { readStream, STREAM, withConnection } from '../support/nats.ts';
import { serverForFile } from '../support/nats-file.ts';
import { NatsServer } from '../support/nats-server.ts';
import { sleep, waitFor } from '../support/wait.ts';

const nats = serverForFile();

/** A sink logger that keeps what it is told. */
function collector() {
  const logs: { level: string; msg: string }[] = [];
  const log = {
    info: (_: object, msg?: string) => logs.push({ level: 'info', msg: msg ?? '' }),
    warn: (_: object, msg?: string) => logs.push({ level: 'warn', msg: msg ?? '' }),
  };
  return { logs, log };
}

async function dropStream(): Promise<void> {
  await withConnection({ servers: nats.server.url }, async (nc) => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(STREAM).catch(() => undefined);
  });
}

describe('bpfgate nats setup', () => {
  it('creates a single-server stream, then finds it and leaves it as it is', async () => {
    await dropStream();
    const first = await bpfgate(['nats', 'setup', '--nats', nats.server.url]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^created stream BPFGATE on nats:\/\//);
    expect(first.stdout).toContain('subjects         bpfgate.v1.>');
    expect(first.stdout).toContain('replicas         1');
    expect(first.stdout).toContain('duplicate window 1h');
    const info = await withConnection({ servers: nats.server.url }, async (nc) =>
      (await jetstreamManager(nc)).streams.info(STREAM),
    );
    expect(info.config).toMatchObject({ num_replicas: 1, subjects: ['bpfgate.v1.>'], storage: 'file' });
    const again = await bpfgate(['nats', 'setup', '--nats', nats.server.url, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ action: 'exists', name: 'BPFGATE', problems: [] });
  });

  it('an existing stream that does not cover bpfgate subjects: exit 1 and the problem', async () => {
    await dropStream();
    await withConnection({ servers: nats.server.url }, async (nc) =>
      (await jetstreamManager(nc)).streams.add({ name: STREAM, subjects: ['other.>'] }),
    );
    const r = await bpfgate(['nats', 'setup', '--nats', nats.server.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('problem: its subjects (other.>) do not cover bpfgate.v1.>');
    await dropStream();
  });

  it('three replicas on a single server: refused, with the hint', async () => {
    await dropStream();
    const r = await bpfgate(['nats', 'setup', '--nats', nats.server.url, '--replicas', '3']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('--replicas 1');
  });
});

describe('a JetStream server without a stream', () => {
  it('is one clear error naming the fix, backed off, visible in the health, and recovers once', async () => {
    await dropStream();
    const { logs, log } = collector();
    const sink = new NatsSink(
      parseSinkOptions({ servers: [nats.server.url], publishTimeoutMs: 500, reconnectWaitMs: 100 }),
      { host: 'no-stream', ids: new IdGenerator(), log },
    );
    await sink.start();
    const events = sampleEvents('no-stream');
    for (const e of events) sink.publish(e);
    await waitFor(() => sink.stats().publishFailures >= 10, 20_000, 'ten failed publishes');
    const s = sink.stats();
    expect(s.failing).toBe(true);
    expect(s.connected).toBe(true);
    expect(s.lastError?.message).toContain('no JetStream stream stores bpfgate.v1.>');
    expect(s.lastError?.message).toContain('bpfgate nats setup');
    expect(s.oldestUndelivered).not.toBeNull();
    const warns = logs.filter((l) => l.level === 'warn');
    expect(warns.length).toBeLessThan(s.publishFailures);
    expect(warns[0]!.msg).toMatch(/^JetStream publish failed: no JetStream stream stores bpfgate\.v1\.> /);
    expect(warns[0]!.msg).toContain('events wait in memory (no spool');
    expect(warns.map((w) => w.msg).join('\n')).not.toContain('spooling');

    const r = await bpfgate(['nats', 'setup', '--nats', nats.server.url]);
    expect(r.code).toBe(0);
    expect(await sink.idle(20_000)).toBe(true);
    await waitFor(() => !sink.stats().failing, 10_000, 'delivery to recover');
    expect(sink.stats().oldestUndelivered).toBeNull();
    await sink.stop();
    const recovered = logs.filter((l) => l.msg.startsWith('NATS delivery recovered'));
    expect(recovered).toHaveLength(1);
    const stored = await withConnection({ servers: nats.server.url }, (nc) => readStream(nc));
    expect(stored.map((m) => m.msgId)).toEqual(events.map((e) => e.id));
  });
});

describe('a NATS server that is down', () => {
  it('is warned about with a back-off, without claiming to spool, and the reconnection is said once', async () => {
    const down = await NatsServer.start();
    await down.stop();
    const { logs, log } = collector();
    const sink = new NatsSink(
      parseSinkOptions({ servers: [down.url], publishTimeoutMs: 500, reconnectWaitMs: 200 }),
      {
        host: 'down',
        ids: new IdGenerator(),
        log,
      },
    );
    await sink.start();
    try {
      await sleep(5000); // 25 attempts, one every 200 ms
      const warns = logs.filter((l) => l.level === 'warn');
      expect(warns.length).toBeGreaterThanOrEqual(2);
      expect(warns.length).toBeLessThanOrEqual(4);
      expect(warns[0]!.msg).toMatch(
        /^NATS unreachable \(nats:\/\/127\.0\.0\.1:\d+\): .*; events wait in memory \(no spool/,
      );
      expect(warns[1]!.msg).toMatch(/\(\d+ more like it since the last report\)$/);
      expect(sink.stats()).toMatchObject({ connected: false, failing: true });
      await down.restart();
      await waitFor(() => sink.stats().connected, 20_000, 'the connection');
      const connected = logs.filter((l) => l.msg.startsWith('connected to NATS'));
      expect(connected).toHaveLength(1);
      expect(connected[0]!.msg).toMatch(/^connected to NATS \(after \d+ s and \d+ failure\(s\)\)$/);
      expect(sink.stats().failing).toBe(false);
    } finally {
      await sink.stop();
      await down.dispose();
    }
  });
});
