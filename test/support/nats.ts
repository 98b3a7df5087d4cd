// NATS clients for tests against a real nats-server (test/support/nats-server.ts):
// a connection for one call, the stream for bpfgate's subjects, reading every
// message back, a sink with test defaults.

import { jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { IdGenerator } from '../../src/events/id.ts';
import { defaultStreamSpec, setupStream } from '../../src/nats/stream.ts';
import { NatsSink } from '../../src/sinks/nats.ts';
import { parseSinkOptions, type SinkOptions } from '../../src/sinks/options.ts';

export const STREAM = 'BPFGATE';

export async function withConnection<T>(
  opts: NodeConnectionOptions,
  fn: (nc: NatsConnection) => Promise<T>,
): Promise<T> {
  const nc = await connect({ ...opts, maxReconnectAttempts: 0 });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

/** The stream `bpfgate nats setup` creates (src/nats/stream.ts), with no size limit unless given (on a cluster: replicas 3, docs/operations.md). */
export async function createStream(
  nc: NatsConnection,
  { name = STREAM, subjects = ['bpfgate.v1.>'], maxBytes = -1, replicas = 1 } = {},
): Promise<void> {
  await setupStream(nc, { ...defaultStreamSpec('bpfgate.v1'), name, subjects, maxBytes, replicas });
}

export interface Stored {
  subject: string;
  msgId: string | undefined;
  body: Record<string, unknown>;
}

/** Every message in the stream, in stream order. */
export async function readStream(nc: NatsConnection, stream = STREAM): Promise<Stored[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const out: Stored[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    let m: StoredMsg | null;
    try {
      m = await jsm.streams.getMessage(stream, { seq });
    } catch {
      continue; // deleted
    }
    if (!m) continue;
    out.push({ subject: m.subject, msgId: m.header?.get('Nats-Msg-Id'), body: m.json() });
  }
  return out;
}

export function makeSink(over: Partial<SinkOptions>, host = 'test-host'): NatsSink {
  const opts = parseSinkOptions({
    publishTimeoutMs: 1000,
    reconnectWaitMs: 200,
    ...over,
  });
  return new NatsSink(opts, { host, ids: new IdGenerator() });
}
