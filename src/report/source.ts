// Where the report's events come from: a file of JSON lines (native events,
// as `bpfgate run` prints them or a SIEM exports them), or a JetStream stream
// read once from the start of the range to the stream's last message at the
// time of asking. Both feed an EventConsumer: the report's Summariser, or the
// learner of `bpfgate learn`.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsAuth } from '../nats/auth.ts';
import { openConnection } from '../nats/connect.ts';

/** What events are read into: the report's Summariser, the learner. */
export interface EventConsumer {
  /** one parsed JSON value (checked by the consumer) */
  add(value: unknown): void;
  /** input that was not JSON */
  unreadable(n?: number): void;
}

/** Feed every line of a file (or stdin for '-') to the consumer. */
export async function readEventLines(path: string, into: EventConsumer): Promise<void> {
  const input = path === '-' ? process.stdin : createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      into.unreadable();
      continue;
    }
    into.add(value);
  }
}

export interface StreamSource {
  servers: string[];
  stream: string;
  /** subject filter; default: every subject of the stream */
  subject?: string;
  auth: NatsAuth;
  /** epoch ms to start from (by the stream's receive time); null: the stream's first message */
  sinceMs: number | null;
  /** per fetch: how long to wait for the server when nothing arrives (>= 1000) */
  fetchTimeoutMs?: number;
}

/** Read a JetStream stream once, with an ordered (ephemeral) consumer, up to the last message it held when asked. */
export async function readStream(src: StreamSource, into: EventConsumer): Promise<number> {
  const nc = await openConnection({
    servers: src.servers,
    auth: src.auth,
    name: 'bpfgate-report',
    maxReconnectAttempts: 2,
  });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(src.stream);
    const lastSeq = info.state.last_seq;
    if (info.state.messages === 0) return 0;
    const consumer = await jetstream(nc).consumers.get(src.stream, {
      ...(src.subject ? { filter_subjects: src.subject } : {}),
      ...(src.sinceMs !== null
        ? { deliver_policy: 'by_start_time' as never, opt_start_time: new Date(src.sinceMs).toISOString() }
        : { deliver_policy: 'all' as never }),
    });
    let read = 0;
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: src.fetchTimeoutMs ?? 2000 });
      let got = 0;
      let done = false;
      for await (const m of batch) {
        got++;
        read++;
        try {
          into.add(m.json());
        } catch {
          into.unreadable();
        }
        if (m.seq >= lastSeq || m.info.pending === 0) {
          done = true;
          break; // ends the pull without waiting for it to expire
        }
      }
      if (done || got === 0) break;
    }
    return read;
  } finally {
    await nc.close();
  }
}
