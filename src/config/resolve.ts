// The configuration, resolved once at start-up into a frozen object that is
// passed down. Layers, the later winning: defaults (the registry,
// ./settings.ts) < the file (--config, BPFGATE_CONFIG, or
// /etc/bpfgate/config.yaml when it exists) < BPFGATE_* environment variables
// < command-line flags (./layers.ts). The result is each component's options:
// the daemon's, the NATS sink's and the fleet's.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FleetOptions } from '../fleet/options.ts';
import { checkHostLabels } from '../fleet/selector.ts';
import type { LogLevel } from '../log.ts';
import type { NatsAuth } from '../nats/auth.ts';
import { plaintextCredentials } from '../nats/options.ts';
import {
  DEFAULT_SPOOL_SEGMENT_BYTES,
  parseSinkOptions,
  type SinkOptions,
  SinkOptionsError,
} from '../sinks/options.ts';
import { type DaemonOptions, defaultDaemonOptions } from './daemon.ts';
import { ConfigError } from './errors.ts';
import { parseConfigText } from './file.ts';
import type { ConfigInput } from './input.ts';
import { anchorPaths, configFromEnv, mergeConfig, valueAt } from './layers.ts';
import { key, type Setting } from './registry.ts';
import { DEFAULT_CONFIG_FILE, SETTINGS } from './settings.ts';

export { ConfigError } from './errors.ts';
export type { ConfigInput } from './input.ts';
export { configFromEnv, mergeConfig } from './layers.ts';
export { DEFAULT_CONFIG_FILE } from './settings.ts';

/** What `bpfgate run` runs with. Deeply frozen. */
export interface RunConfig {
  /** the configuration file read, or null */
  file: string | null;
  daemon: Readonly<DaemonOptions>;
  log: Readonly<{ level: LogLevel; pretty: boolean | null }>;
  metrics: Readonly<{ listen: string | null; statusTokenFile: string | null }>;
  policyWatch: Readonly<{ enabled: boolean; debounceMs: number }>;
  /** policies from a NATS KV bucket instead of files (docs/fleet.md); null: files */
  fleet: Readonly<FleetOptions> | null;
}

const BY_KEY = new Map<string, Setting>(SETTINGS.map((x) => [key(x.path), x]));

/** A setting's value: the merged layers' or the registry's default. */
function get<T>(input: ConfigInput, path: readonly string[]): T {
  const v = valueAt(input, path);
  if (v !== undefined) return v as T;
  const s = BY_KEY.get(key(path));
  if (!s) throw new Error(`config registry: no setting ${key(path)}`);
  return structuredClone(s.default) as T;
}

/** Whether a section is present with at least one key. */
function present(input: ConfigInput, path: readonly string[]): boolean {
  const v = valueAt(input, path);
  return typeof v === 'object' && v !== null && Object.keys(v).length > 0;
}

/** The nats section, completed with the registry's defaults, as the sink's options. */
function sinkOptions(input: ConfigInput, format: SinkOptions['format']): Readonly<SinkOptions> {
  const n = (path: string) => get<never>(input, ['nats', ...path.split('.')]);
  const maxBytes = n('spool.maxBytes') as number;
  // a small spool without a segment size: one segment may fill it
  const segmentBytes =
    valueAt(input, ['nats', 'spool', 'segmentBytes']) ?? Math.min(maxBytes, DEFAULT_SPOOL_SEGMENT_BYTES);
  const options: SinkOptions = {
    servers: n('servers'),
    auth: (valueAt(input, ['nats', 'auth']) as NatsAuth | undefined) ?? {},
    mode: n('mode'),
    format,
    subjectPrefix: n('subjectPrefix'),
    queueMax: n('queueMax'),
    spoolDir: n('spool.dir'),
    spoolMaxBytes: maxBytes,
    spoolSegmentBytes: segmentBytes as number,
    fsync: n('spool.fsync'),
    fsyncIntervalMs: n('spool.fsyncIntervalMs'),
    publishTimeoutMs: n('publishTimeoutMs'),
    batch: n('batch'),
    reconnectWaitMs: n('reconnectWaitMs'),
    name: n('name'),
  };
  try {
    return parseSinkOptions(options);
  } catch (err) {
    if (!(err instanceof SinkOptionsError)) throw err;
    throw new ConfigError([], [`nats: ${err.message}`]);
  }
}

/** The fleet section, completed with the registry's defaults: its servers and auth default to the nats section's. */
function fleetOptions(input: ConfigInput): FleetOptions | null {
  if (!present(input, ['fleet'])) return null;
  const f = (path: string) => get<never>(input, ['fleet', path]);
  const problems: string[] = [];
  if (input.policies)
    problems.push('fleet: policies come from the bucket; remove policies (or the fleet section)');
  const o: FleetOptions = {
    servers: [...(input.fleet?.servers ?? input.nats?.servers ?? [])],
    auth: structuredClone(input.fleet?.auth ?? input.nats?.auth ?? {}),
    name: f('name'),
    bucket: f('bucket'),
    labels: f('labels'),
    cacheDir: f('cacheDir'),
    connectTimeoutMs: f('connectTimeoutMs'),
    reconnectWaitMs: f('reconnectWaitMs'),
    trustedKeys: [...(f('trustedKeys') as string[])],
    publishStatus: f('publishStatus'),
    statusBucket: f('statusBucket'),
  };
  if (o.trustedKeys.length === 0)
    problems.push(
      'fleet.trustedKeys: no trusted signing key; every policy entry must be signed (bpfgate fleet keygen, docs/fleet.md)',
    );
  if (o.servers.length === 0)
    problems.push('fleet: no servers (set fleet.servers, --fleet or BPFGATE_FLEET_URL, or nats.servers)');
  const bad = checkHostLabels(o.labels);
  if (bad) problems.push(`fleet.labels: ${bad}`);
  try {
    // the same checks as the sink's: server URLs, one auth method, files that go together
    if (o.servers.length > 0) parseSinkOptions({ servers: o.servers, auth: o.auth });
  } catch (err) {
    if (!(err instanceof SinkOptionsError)) throw err;
    problems.push(`fleet: ${err.message}`);
  }
  if (problems.length > 0) throw new ConfigError([], problems);
  return o;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** A merged configuration, completed with the registry's defaults, as the frozen RunConfig. */
export function resolveConfig(input: ConfigInput, file: string | null = null): RunConfig {
  const d: DaemonOptions = {
    ...defaultDaemonOptions(),
    policyPaths: [...get<string[]>(input, ['policies'])],
    audit: get(input, ['mode']) === 'audit',
    requireEnforcement: get(input, ['requireEnforcement']),
    cgroupAttach: get(input, ['cgroupAttach']),
    stdout: get(input, ['output', 'stdout']),
    view: get(input, ['output', 'view']),
    eventsSocket: get(input, ['output', 'socket']),
    format: get(input, ['output', 'format']),
    aggregateWindowMs: get(input, ['output', 'aggregateWindowMs']),
    kernelRecordsPerSecond: get(input, ['output', 'kernelRecordsPerSecond']),
    pinRoot: get(input, ['pins', 'root']),
    keepEnforcing: get(input, ['pins', 'keepEnforcing']),
    protect: get(input, ['pins', 'protect']),
  };
  // no registry default: this machine's name
  if (input.host !== undefined) d.host = input.host;
  if (input.nats?.servers && input.nats.servers.length > 0) d.nats = sinkOptions(input, d.format);
  else if (present(input, ['nats'])) {
    throw new ConfigError(
      [],
      ['nats: the section has no servers (set nats.servers, --nats or BPFGATE_NATS_URL)'],
    );
  }
  const fleet = fleetOptions(input);
  if (get<boolean>(input, ['requireTls'])) {
    const plain = [
      d.nats && plaintextCredentials(d.nats.servers, d.nats.auth),
      fleet && plaintextCredentials(fleet.servers, fleet.auth),
    ].filter((p): p is string => typeof p === 'string');
    if (plain.length > 0)
      throw new ConfigError(
        [],
        [...new Set(plain)].map((p) => `requireTls: ${p}`),
      );
  }
  return deepFreeze({
    file,
    daemon: d,
    log: { level: get<LogLevel>(input, ['log', 'level']), pretty: input.log?.pretty ?? null },
    metrics: {
      listen: get<string | null>(input, ['metrics', 'listen']),
      statusTokenFile: get<string | null>(input, ['metrics', 'statusTokenFile']),
    },
    policyWatch: {
      enabled: get<boolean>(input, ['policyWatch', 'enabled']),
      debounceMs: get<number>(input, ['policyWatch', 'debounceMs']),
    },
    fleet,
  });
}

/** Read and check a configuration file; its relative paths are anchored at its folder. */
export function readConfigFile(file: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([
      {
        code: 'FILE_NOT_FOUND',
        message: `cannot read the configuration: ${(err as Error).message}`,
        severity: 'error',
        pos: { file, line: 1, column: 1 },
      },
    ]);
  }
  const { input, diagnostics } = parseConfigText(file, text);
  if (!input) throw new ConfigError(diagnostics);
  return anchorPaths(input, dirname(resolve(file)));
}

export interface LoadConfigOptions {
  /** --config FILE; null: none given */
  configFile: string | null;
  /** the flag layer */
  flags: ConfigInput;
  env: Readonly<Record<string, string | undefined>>;
  /** where to look when neither --config nor BPFGATE_CONFIG names a file */
  defaultFile?: string | null;
}

/** Every layer, merged and checked once. */
export function loadConfig(o: LoadConfigOptions): RunConfig {
  const named = o.configFile ?? o.env.BPFGATE_CONFIG ?? null;
  const fallback = o.defaultFile === undefined ? DEFAULT_CONFIG_FILE : o.defaultFile;
  const file = named ?? (fallback !== null && existsSync(fallback) ? fallback : null);
  const fromFile = file ? readConfigFile(file) : {};
  const fromEnv = configFromEnv(o.env);
  return resolveConfig(mergeConfig(fromFile, fromEnv, o.flags), file);
}
