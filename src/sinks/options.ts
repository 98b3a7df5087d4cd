// The sink's options: defaults, and one parse at start-up that names every
// offending key. Servers and auth are checked by the NATS module (src/nats/).
import { BpfgateError } from '../errors.ts';
import { checkAuth, type NatsAuth } from '../nats/auth.ts';
import { checkServers, DEFAULT_NATS_URL } from '../nats/options.ts';
import { DEFAULT_SUBJECT_PREFIX, isValidPrefix } from './subject.ts';
export const DEFAULT_QUEUE_MAX = 10_000;
export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024;
export const DEFAULT_SPOOL_SEGMENT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_FSYNC: FsyncPolicy = 'interval';
export const DEFAULT_FSYNC_INTERVAL_MS = 1000;
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5000;
export const DEFAULT_BATCH = 64;
export const DEFAULT_RECONNECT_WAIT_MS = 1000;

/** The smallest value of each numeric option (the configuration registry declares the same bounds from here). */
export const SINK_MIN = {
  queueMax: 1,
  spoolMaxBytes: 4096,
  spoolSegmentBytes: 1024,
  fsyncIntervalMs: 1,
  publishTimeoutMs: 100,
  batch: 1,
  reconnectWaitMs: 10,
} as const;

export const FSYNC_POLICIES = ['always', 'interval', 'never'] as const;
export const NATS_MODES = ['jetstream', 'core'] as const;

export type FsyncPolicy = (typeof FSYNC_POLICIES)[number];

export interface SinkOptions {
  servers: string[];
  auth: NatsAuth;
  /** jetstream: every message is acknowledged by a stream, with Nats-Msg-Id; core: fire and flush */
  mode: 'jetstream' | 'core';
  format: 'native' | 'ocsf';
  subjectPrefix: string;
  /** events waiting in memory for the publisher; beyond this they are dropped and counted */
  queueMax: number;
  /** null: no spool (events that cannot be published are dropped and counted) */
  spoolDir: string | null;
  spoolMaxBytes: number;
  spoolSegmentBytes: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  publishTimeoutMs: number;
  /** events in flight at once */
  batch: number;
  reconnectWaitMs: number;
  /** client name shown by the server */
  name: string;
}

export class SinkOptionsError extends BpfgateError {
  readonly keys: string[];
  constructor(problems: { key: string; message: string }[]) {
    super(
      'INVALID_SINK_OPTIONS',
      `invalid NATS sink option(s): ${problems.map((p) => `${p.key}: ${p.message}`).join('; ')}`,
    );
    this.keys = problems.map((p) => p.key);
  }
}

export function defaultSinkOptions(): SinkOptions {
  return {
    servers: [DEFAULT_NATS_URL],
    auth: {},
    mode: 'jetstream',
    format: 'native',
    subjectPrefix: DEFAULT_SUBJECT_PREFIX,
    queueMax: DEFAULT_QUEUE_MAX,
    spoolDir: null,
    spoolMaxBytes: DEFAULT_SPOOL_MAX_BYTES,
    spoolSegmentBytes: DEFAULT_SPOOL_SEGMENT_BYTES,
    fsync: DEFAULT_FSYNC,
    fsyncIntervalMs: DEFAULT_FSYNC_INTERVAL_MS,
    publishTimeoutMs: DEFAULT_PUBLISH_TIMEOUT_MS,
    batch: DEFAULT_BATCH,
    reconnectWaitMs: DEFAULT_RECONNECT_WAIT_MS,
    name: 'bpfgate',
  };
}

const KEYS = new Set(Object.keys(defaultSinkOptions()));

/** Validate and complete options once, at start-up. Unknown keys are errors. Returns a frozen object. */
export function parseSinkOptions(
  input: Partial<SinkOptions> | Record<string, unknown> = {},
): Readonly<SinkOptions> {
  const problems: { key: string; message: string }[] = [];
  const o = { ...defaultSinkOptions(), ...(input as Partial<SinkOptions>) };
  for (const k of Object.keys(input)) if (!KEYS.has(k)) problems.push({ key: k, message: 'unknown option' });
  if (typeof o.servers === 'string') o.servers = [o.servers];
  for (const message of checkServers(o.servers)) problems.push({ key: 'servers', message });
  if (o.mode !== 'jetstream' && o.mode !== 'core')
    problems.push({ key: 'mode', message: 'jetstream or core' });
  if (o.format !== 'native' && o.format !== 'ocsf')
    problems.push({ key: 'format', message: 'native or ocsf' });
  if (typeof o.subjectPrefix !== 'string' || !isValidPrefix(o.subjectPrefix)) {
    problems.push({ key: 'subjectPrefix', message: 'dot-separated tokens without wildcards' });
  }
  for (const [key, min] of Object.entries(SINK_MIN) as [keyof typeof SINK_MIN, number][]) {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      problems.push({ key, message: `an integer >= ${min}` });
    }
  }
  if (o.spoolDir !== null && (typeof o.spoolDir !== 'string' || o.spoolDir === '')) {
    problems.push({ key: 'spoolDir', message: 'a directory path, or null for no spool' });
  }
  if (o.spoolSegmentBytes > o.spoolMaxBytes) {
    problems.push({ key: 'spoolSegmentBytes', message: 'must not exceed spoolMaxBytes' });
  }
  if (!(FSYNC_POLICIES as readonly string[]).includes(o.fsync)) {
    problems.push({ key: 'fsync', message: 'always, interval or never' });
  }
  const a = (o.auth ?? {}) as NatsAuth;
  problems.push(...checkAuth(a));
  if (problems.length > 0) throw new SinkOptionsError(problems);
  return Object.freeze({
    ...o,
    auth: Object.freeze({ ...a }),
    servers: Object.freeze([...o.servers]) as string[],
  });
}
