// The sink's options: defaults, one parse at start-up that names every
// offending key, and the translation to nats.js connection options.
import { readFileSync } from 'node:fs';
import { credsAuthenticator, type NodeConnectionOptions, nkeyAuthenticator } from '@nats-io/transport-node';
import { BpfgateError } from '../errors.ts';
import { DEFAULT_SUBJECT_PREFIX, isValidPrefix } from './subject.ts';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_QUEUE_MAX = 10_000;
export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024;
export const DEFAULT_SPOOL_SEGMENT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_FSYNC: FsyncPolicy = 'interval';
export const DEFAULT_FSYNC_INTERVAL_MS = 1000;
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5000;
export const DEFAULT_BATCH = 64;
export const DEFAULT_RECONNECT_WAIT_MS = 1000;

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface NatsAuth {
  token?: string;
  user?: string;
  password?: string;
  /** file holding an nkey seed (SU...) */
  nkeySeedFile?: string;
  /** a .creds file: user JWT + nkey seed */
  credsFile?: string;
  tls?: { certFile?: string; keyFile?: string; caFile?: string };
}

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
const AUTH_KEYS = new Set(['token', 'user', 'password', 'nkeySeedFile', 'credsFile', 'tls']);
const TLS_KEYS = new Set(['certFile', 'keyFile', 'caFile']);

/** Validate and complete options once, at start-up. Unknown keys are errors. Returns a frozen object. */
export function parseSinkOptions(
  input: Partial<SinkOptions> | Record<string, unknown> = {},
): Readonly<SinkOptions> {
  const problems: { key: string; message: string }[] = [];
  const o = { ...defaultSinkOptions(), ...(input as Partial<SinkOptions>) };
  for (const k of Object.keys(input)) if (!KEYS.has(k)) problems.push({ key: k, message: 'unknown option' });
  if (typeof o.servers === 'string') o.servers = [o.servers];
  if (!Array.isArray(o.servers) || o.servers.length === 0) {
    problems.push({ key: 'servers', message: 'at least one nats:// or tls:// URL' });
  } else {
    for (const s of o.servers) {
      if (typeof s !== 'string' || !/^(nats|tls):\/\/[^\s/]+$|^[^\s:/]+:\d+$/.test(s)) {
        problems.push({ key: 'servers', message: `not a server URL: ${String(s)}` });
      }
    }
  }
  if (o.mode !== 'jetstream' && o.mode !== 'core')
    problems.push({ key: 'mode', message: 'jetstream or core' });
  if (o.format !== 'native' && o.format !== 'ocsf')
    problems.push({ key: 'format', message: 'native or ocsf' });
  if (typeof o.subjectPrefix !== 'string' || !isValidPrefix(o.subjectPrefix)) {
    problems.push({ key: 'subjectPrefix', message: 'dot-separated tokens without wildcards' });
  }
  const positive = (key: keyof SinkOptions, min = 1): void => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      problems.push({ key, message: `an integer >= ${min}` });
    }
  };
  positive('queueMax');
  positive('spoolMaxBytes', 4096);
  positive('spoolSegmentBytes', 1024);
  positive('fsyncIntervalMs');
  positive('publishTimeoutMs', 100);
  positive('batch');
  positive('reconnectWaitMs', 10);
  if (o.spoolDir !== null && (typeof o.spoolDir !== 'string' || o.spoolDir === '')) {
    problems.push({ key: 'spoolDir', message: 'a directory path, or null for no spool' });
  }
  if (o.spoolSegmentBytes > o.spoolMaxBytes) {
    problems.push({ key: 'spoolSegmentBytes', message: 'must not exceed spoolMaxBytes' });
  }
  if (!['always', 'interval', 'never'].includes(o.fsync)) {
    problems.push({ key: 'fsync', message: 'always, interval or never' });
  }
  const a = (o.auth ?? {}) as NatsAuth & Record<string, unknown>;
  for (const k of Object.keys(a))
    if (!AUTH_KEYS.has(k)) problems.push({ key: `auth.${k}`, message: 'unknown option' });
  for (const k of Object.keys(a.tls ?? {})) {
    if (!TLS_KEYS.has(k)) problems.push({ key: `auth.tls.${k}`, message: 'unknown option' });
  }
  const methods = [a.token, a.user, a.nkeySeedFile, a.credsFile].filter((v) => v !== undefined).length;
  if (methods > 1) problems.push({ key: 'auth', message: 'choose one of token, user+password, nkey, creds' });
  if (a.user !== undefined && a.password === undefined) {
    problems.push({ key: 'auth.password', message: 'required with auth.user' });
  }
  if (a.tls && (a.tls.certFile === undefined) !== (a.tls.keyFile === undefined)) {
    problems.push({ key: 'auth.tls', message: 'certFile and keyFile go together' });
  }
  if (problems.length > 0) throw new SinkOptionsError(problems);
  return Object.freeze({
    ...o,
    auth: Object.freeze({ ...a }),
    servers: Object.freeze([...o.servers]) as string[],
  });
}

/** nats.js connection options for an auth configuration (reads key, creds and certificate files now). */
export function connectionOptions(
  servers: readonly string[],
  auth: NatsAuth,
  name: string,
): NodeConnectionOptions {
  const opts: NodeConnectionOptions = { servers: [...servers], name };
  if (auth.token !== undefined) opts.token = auth.token;
  if (auth.user !== undefined) {
    opts.user = auth.user;
    opts.pass = auth.password ?? '';
  }
  if (auth.nkeySeedFile !== undefined) {
    const seed = readFileSync(auth.nkeySeedFile, 'utf8').trim();
    opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (auth.credsFile !== undefined) {
    opts.authenticator = credsAuthenticator(readFileSync(auth.credsFile));
  }
  if (auth.tls !== undefined) {
    opts.tls = {
      ...(auth.tls.caFile !== undefined ? { caFile: auth.tls.caFile } : {}),
      ...(auth.tls.certFile !== undefined ? { certFile: auth.tls.certFile } : {}),
      ...(auth.tls.keyFile !== undefined ? { keyFile: auth.tls.keyFile } : {}),
    };
  }
  return opts;
}
