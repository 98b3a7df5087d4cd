// The NATS sink against a real server: native and OCSF events land in
// JetStream on their subjects, schema-valid, de-duplicated by Nats-Msg-Id;
// core mode reaches subscribers.
// NATS: the direct nats-server launcher (test/support/nats-server.ts).
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { eventSchemaErrors } from '../../src/events/schema.ts';
import type { SinkOptions } from '../../src/sinks/options.ts';
import { sampleEvents } from '../support/events.ts';
import { createStream, makeSink, readStream, STREAM, withConnection } from '../support/nats.ts';
import { serverForFile } from '../support/nats-file.ts';
import { OcsfSchema } from '../support/ocsf-schema.ts';

const nats = serverForFile();

async function freshStream(): Promise<void> {
  await withConnection({ servers: nats.server.url }, async (nc) => {
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(STREAM).catch(() => undefined);
    await createStream(nc);
  });
}

/** Events through a new sink into a fresh stream; what the stream then holds. */
async function deliver(over: Partial<SinkOptions>, host: string, events = sampleEvents(host)) {
  await freshStream();
  const sink = makeSink({ servers: [nats.server.url], ...over }, host);
  await sink.start();
  for (const e of events) expect(sink.publish(e)).toBe(true);
  expect(await sink.idle(10_000)).toBe(true);
  await sink.stop();
  const stored = await withConnection({ servers: nats.server.url }, (nc) => readStream(nc));
  return { sink, events, stored };
}

describe('NATS sink (JetStream)', () => {
  it('native events reach the stream schema-valid, on their subjects, with Nats-Msg-Id = id', async () => {
    const { sink, events, stored } = await deliver({}, 'web-1.example.com');
    expect(stored).toHaveLength(events.length);
    stored.forEach((m, i) => {
      const e = events[i]!;
      expect(m.msgId).toBe(e.id);
      expect(m.subject).toBe(`bpfgate.v1.web-1_example_com.${e.kind}.${e.outcome}`);
      expect(m.body).toEqual(JSON.parse(JSON.stringify(e)));
      expect(eventSchemaErrors(m.body)).toEqual([]);
    });
    expect(sink.stats()).toMatchObject({ published: events.length, spooled: 0, queueDropped: 0 });
  });

  it('a reply from a peer that is not a JetStream acknowledgement frees nothing', async () => {
    // no stream stores the subjects; a peer subscribed to them answers every publish
    await withConnection({ servers: nats.server.url }, async (nc) => {
      const { jetstreamManager } = await import('@nats-io/jetstream');
      await (await jetstreamManager(nc)).streams.delete(STREAM).catch(() => undefined);
    });
    const peer = await connect({ servers: nats.server.url });
    let answered = 0;
    peer.subscribe('bpfgate.v1.>', {
      callback: (_err, m) => {
        answered++;
        m.respond(answered % 2 ? '{"ok":true}' : '+OK');
      },
    });
    await peer.flush();
    const sink = makeSink({ servers: [nats.server.url] }, 'fake-ack');
    try {
      await sink.start();
      const events = sampleEvents('fake-ack');
      for (const e of events) sink.publish(e);
      expect(await sink.idle(3000)).toBe(false);
      expect(answered).toBeGreaterThan(0);
      expect(sink.stats().published).toBe(0);
    } finally {
      await sink.stop();
      await peer.close();
    }
  });

  it('OCSF events reach the stream and conform to OCSF 1.8.0', async () => {
    const { events, stored } = await deliver({ format: 'ocsf' }, 'test-host');
    const ocsf = new OcsfSchema();
    expect(stored).toHaveLength(events.length);
    for (const m of stored) {
      expect(ocsf.check(m.body)).toEqual([]);
      expect((m.body.metadata as { uid: string }).uid).toBe(m.msgId);
    }
  });

  it('a re-published id is stored once (JetStream de-duplication)', async () => {
    const [e] = sampleEvents('test-host');
    const { stored } = await deliver({}, 'test-host', [e!, e!]);
    expect(stored.map((m) => m.msgId)).toEqual([e!.id]);
  });

  it('core NATS mode delivers to a subscriber on the documented wildcards', async () => {
    await withConnection({ servers: nats.server.url }, async (nc) => {
      const denied = nc.subscribe('bpfgate.v1.*.*.denied');
      const all = nc.subscribe('bpfgate.v1.>');
      await nc.flush();
      const sink = makeSink({ servers: [nats.server.url], mode: 'core' });
      await sink.start();
      const events = sampleEvents('test-host');
      for (const e of events) sink.publish(e);
      expect(await sink.idle(10_000)).toBe(true);
      await sink.stop();
      await nc.flush();
      const got = (sub: typeof all, n: number) =>
        (async () => {
          const ids: string[] = [];
          for await (const m of sub) {
            ids.push((m.json() as { id: string }).id);
            if (ids.length === n) break;
          }
          return ids;
        })();
      const deniedIds = events.filter((e) => e.outcome === 'denied').map((e) => e.id);
      expect(await got(all, events.length)).toEqual(events.map((e) => e.id));
      expect(await got(denied, deniedIds.length)).toEqual(deniedIds);
    });
  });
});
