// The JetStream stream bpfgate publishes into: its default shape (safe on a
// single server: one replica), and one call that creates it or checks the
// one that is there, saying what it did. Used by `bpfgate nats setup` and the
// tests. bpfgate's daemon never creates or changes a stream.
import { jetstreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

export const DEFAULT_STREAM = 'BPFGATE';

const NS_PER_MS = 1_000_000;
const HOUR_MS = 3_600_000;

export interface StreamSpec {
  name: string;
  /** e.g. ["bpfgate.v1.>"] */
  subjects: string[];
  /** 1 on a single server; 3 on a cluster of three or more */
  replicas: number;
  /** how long events are kept, ms; 0: for ever */
  maxAgeMs: number;
  /** bytes kept at most (the oldest are discarded); -1: no limit */
  maxBytes: number;
  /** how long a retried event id is recognised and dropped, ms */
  duplicateWindowMs: number;
}

export function defaultStreamSpec(subjectPrefix: string): StreamSpec {
  return {
    name: DEFAULT_STREAM,
    subjects: [`${subjectPrefix}.>`],
    replicas: 1,
    maxAgeMs: 30 * 24 * HOUR_MS,
    maxBytes: 10 * 1024 ** 3,
    duplicateWindowMs: HOUR_MS,
  };
}

export interface StreamSetup extends StreamSpec {
  /** created now, or found (and left as it was) */
  action: 'created' | 'exists';
  /** what an existing stream does differently from what bpfgate needs */
  problems: string[];
}

function describe(action: StreamSetup['action'], c: StreamConfig, problems: string[]): StreamSetup {
  return {
    action,
    name: c.name,
    subjects: c.subjects ?? [],
    replicas: c.num_replicas,
    maxAgeMs: Math.round(c.max_age / NS_PER_MS),
    maxBytes: c.max_bytes,
    duplicateWindowMs: Math.round((c.duplicate_window ?? 0) / NS_PER_MS),
    problems,
  };
}

/** Does a subject filter cover every subject under `prefix` (`bpfgate.v1.>` by `>`, `bpfgate.>`...)? */
export function covers(filter: string, prefix: string): boolean {
  const f = filter.split('.');
  const p = [...prefix.split('.'), '>'];
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return true;
    if (i >= p.length || (f[i] !== '*' && f[i] !== p[i]) || (f[i] === '*' && p[i] === '>')) return false;
  }
  return f.length === p.length && f.at(-1) === '>';
}

/** What an existing stream does differently from what bpfgate needs (the subjects, de-duplication). */
export function streamProblems(c: StreamConfig, spec: StreamSpec): string[] {
  const problems: string[] = [];
  for (const want of spec.subjects) {
    const prefix = want.replace(/\.>$/, '');
    if (!(c.subjects ?? []).some((s) => covers(s, prefix)))
      problems.push(
        `its subjects (${(c.subjects ?? []).join(', ') || 'none'}) do not cover ${want}: events would find no stream`,
      );
  }
  const windowMs = (c.duplicate_window ?? 0) / NS_PER_MS;
  if (windowMs < 60_000)
    problems.push(
      `its duplicate window (${Math.round(windowMs / 1000)} s) is shorter than a minute: events retried after an outage may be stored twice`,
    );
  return problems;
}

/**
 * Create the stream `spec` describes, or, when one of that name exists,
 * leave it as it is and report how it differs from what bpfgate needs.
 */
export async function setupStream(nc: NatsConnection, spec: StreamSpec): Promise<StreamSetup> {
  const jsm = await jetstreamManager(nc);
  try {
    const info = await jsm.streams.info(spec.name);
    return describe('exists', info.config, streamProblems(info.config, spec));
  } catch (err) {
    if (!/stream not found/i.test(String((err as Error).message))) throw err;
  }
  const info = await jsm.streams.add({
    name: spec.name,
    subjects: spec.subjects,
    storage: 'file',
    retention: 'limits',
    discard: 'old',
    num_replicas: spec.replicas,
    max_age: spec.maxAgeMs * NS_PER_MS,
    max_bytes: spec.maxBytes,
    duplicate_window: spec.duplicateWindowMs * NS_PER_MS,
  } as Parameters<typeof jsm.streams.add>[0]);
  return describe('created', info.config, []);
}
