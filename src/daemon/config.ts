// The daemon's configuration, parsed once at start-up into a frozen object
// that is passed down. Layers, the later winning: defaults < the file
// (--config, BPFGATE_CONFIG, or /etc/bpfgate/config.yaml when it exists) <
// BPFGATE_* environment variables < command-line flags.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { BpfgateError, type Diagnostic, formatDiagnostic } from '../errors.ts';
import { defaultFleetOptions, type FleetOptions } from '../fleet/options.ts';
import { checkHostLabels } from '../fleet/selector.ts';
import type { LogLevel } from '../log.ts';
import type { NatsAuth } from '../nats/auth.ts';
import {
  DEFAULT_SPOOL_SEGMENT_BYTES,
  parseSinkOptions,
  type SinkOptions,
  SinkOptionsError,
} from '../sinks/options.ts';
import { checkFragment, parseConfigText } from './config-file.ts';
import { type DaemonOptions, defaultDaemonOptions } from './daemon.ts';
import { envValue, SETTINGS } from './settings.ts';

export const DEFAULT_CONFIG_FILE = '/etc/bpfgate/config.yaml';
export const DEFAULT_POLICY_WATCH_DEBOUNCE_MS = 500;

/** The configuration file's shape (schemas/config.schema.json); every key optional. */
export interface ConfigInput {
  policies?: string[];
  mode?: 'enforce' | 'audit';
  requireEnforcement?: boolean;
  cgroupAttach?: string | null;
  host?: string;
  output?: { stdout?: boolean; format?: 'native' | 'ocsf'; aggregateWindowMs?: number };
  nats?: {
    servers?: string[];
    mode?: 'jetstream' | 'core';
    subjectPrefix?: string;
    name?: string;
    queueMax?: number;
    publishTimeoutMs?: number;
    batch?: number;
    reconnectWaitMs?: number;
    auth?: NatsAuth;
    spool?: {
      dir?: string | null;
      maxBytes?: number;
      segmentBytes?: number;
      fsync?: 'always' | 'interval' | 'never';
      fsyncIntervalMs?: number;
    };
  };
  log?: { level?: LogLevel; pretty?: boolean };
  metrics?: { listen?: string | null };
  pins?: { root?: string | null; keepEnforcing?: boolean; protect?: boolean };
  policyWatch?: { enabled?: boolean; debounceMs?: number };
  fleet?: {
    servers?: string[];
    bucket?: string;
    labels?: Record<string, string>;
    name?: string;
    auth?: NatsAuth;
    cacheDir?: string | null;
    connectTimeoutMs?: number;
    reconnectWaitMs?: number;
    publishStatus?: boolean;
  };
}

/** What `bpfgate run` runs with. Deeply frozen. */
export interface RunConfig {
  /** the configuration file read, or null */
  file: string | null;
  daemon: Readonly<DaemonOptions>;
  log: Readonly<{ level: LogLevel; pretty: boolean | null }>;
  metrics: Readonly<{ listen: string | null }>;
  policyWatch: Readonly<{ enabled: boolean; debounceMs: number }>;
  /** policies from a NATS KV bucket instead of files (docs/fleet.md); null: files */
  fleet: Readonly<FleetOptions> | null;
}

/** The configuration is invalid: located diagnostics for the file, named problems for the rest. */
export class ConfigError extends BpfgateError {
  readonly diagnostics: Diagnostic[];
  readonly problems: string[];
  constructor(diagnostics: Diagnostic[], problems: string[] = []) {
    const lines = [...diagnostics.map(formatDiagnostic), ...problems];
    super('INVALID_CONFIG', `invalid configuration, ${lines.length} error(s):\n${lines.join('\n')}`);
    this.diagnostics = diagnostics;
    this.problems = problems;
  }
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merge layers, the later winning; mappings merge key by key, lists and values are replaced. */
export function mergeConfig(...layers: ConfigInput[]): ConfigInput {
  const merge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) {
      if (v === undefined) continue;
      out[k] = isPlain(v) && isPlain(out[k]) ? merge(out[k] as Record<string, unknown>, v) : v;
    }
    return out;
  };
  return layers.reduce<Record<string, unknown>>((acc, l) => merge(acc, l as Record<string, unknown>), {});
}

/** Paths in a file are relative to its folder. */
function anchorPaths(input: ConfigInput, dir: string): ConfigInput {
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(dir, p));
  const out = structuredClone(input);
  if (out.policies) out.policies = out.policies.map(at);
  for (const auth of [out.nats?.auth, out.fleet?.auth]) {
    if (auth?.nkeySeedFile) auth.nkeySeedFile = at(auth.nkeySeedFile);
    if (auth?.credsFile) auth.credsFile = at(auth.credsFile);
    if (auth?.tls)
      for (const k of ['certFile', 'keyFile', 'caFile'] as const)
        if (auth.tls[k]) auth.tls[k] = at(auth.tls[k]);
  }
  if (out.nats?.spool?.dir) out.nats.spool.dir = at(out.nats.spool.dir);
  if (out.fleet?.cacheDir) out.fleet.cacheDir = at(out.fleet.cacheDir);
  return out;
}

/** The environment layer: every BPFGATE_* variable of the settings table that is set. */
export function configFromEnv(env: Readonly<Record<string, string | undefined>>): ConfigInput {
  const problems: string[] = [];
  const layers: ConfigInput[] = [];
  for (const s of SETTINGS) {
    const raw = s.env ? env[s.env] : undefined;
    if (raw === undefined || !s.env) continue;
    const v = envValue(s, raw);
    if (typeof v === 'string') {
      problems.push(`${s.env}: ${v}`);
      continue;
    }
    const fragment = s.to(v.value);
    problems.push(...checkFragment(s.env, fragment));
    layers.push(fragment);
  }
  if (problems.length > 0) throw new ConfigError([], problems);
  return mergeConfig(...layers);
}

function sinkOptions(n: NonNullable<ConfigInput['nats']>, format: 'native' | 'ocsf'): Readonly<SinkOptions> {
  const { spool, ...rest } = n;
  const input: Partial<SinkOptions> = { ...rest, format } as Partial<SinkOptions>;
  if (spool?.dir !== undefined) input.spoolDir = spool.dir;
  if (spool?.maxBytes !== undefined) input.spoolMaxBytes = spool.maxBytes;
  if (spool?.segmentBytes !== undefined) input.spoolSegmentBytes = spool.segmentBytes;
  // a small spool without a segment size: one segment may fill it
  else if (spool?.maxBytes !== undefined && spool.maxBytes < DEFAULT_SPOOL_SEGMENT_BYTES)
    input.spoolSegmentBytes = spool.maxBytes;
  if (spool?.fsync !== undefined) input.fsync = spool.fsync;
  if (spool?.fsyncIntervalMs !== undefined) input.fsyncIntervalMs = spool.fsyncIntervalMs;
  try {
    return parseSinkOptions(input);
  } catch (err) {
    if (!(err instanceof SinkOptionsError)) throw err;
    throw new ConfigError([], [`nats: ${err.message}`]);
  }
}

/** The fleet section: its servers and auth default to the nats section's. */
function fleetOptions(input: ConfigInput): FleetOptions | null {
  const f = input.fleet;
  if (!f || Object.keys(f).length === 0) return null;
  const problems: string[] = [];
  if (input.policies)
    problems.push('fleet: policies come from the bucket; remove policies (or the fleet section)');
  const o = defaultFleetOptions();
  o.servers = [...(f.servers ?? input.nats?.servers ?? [])];
  if (o.servers.length === 0)
    problems.push('fleet: no servers (set fleet.servers, --fleet or BPFGATE_FLEET_URL, or nats.servers)');
  o.auth = structuredClone(f.auth ?? input.nats?.auth ?? {});
  if (f.bucket !== undefined) o.bucket = f.bucket;
  if (f.name !== undefined) o.name = f.name;
  if (f.labels !== undefined) o.labels = { ...f.labels };
  if (f.cacheDir !== undefined) o.cacheDir = f.cacheDir;
  if (f.connectTimeoutMs !== undefined) o.connectTimeoutMs = f.connectTimeoutMs;
  if (f.reconnectWaitMs !== undefined) o.reconnectWaitMs = f.reconnectWaitMs;
  if (f.publishStatus !== undefined) o.publishStatus = f.publishStatus;
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

/** A merged configuration, completed with defaults, as the frozen RunConfig. */
export function resolveConfig(input: ConfigInput, file: string | null = null): RunConfig {
  const d: DaemonOptions = defaultDaemonOptions();
  if (input.policies) d.policyPaths = [...input.policies];
  d.audit = input.mode === 'audit';
  d.requireEnforcement = input.requireEnforcement ?? false;
  if (input.cgroupAttach !== undefined) d.cgroupAttach = input.cgroupAttach;
  if (input.host !== undefined) d.host = input.host;
  if (input.output?.stdout !== undefined) d.stdout = input.output.stdout;
  if (input.output?.format !== undefined) d.format = input.output.format;
  if (input.output?.aggregateWindowMs !== undefined) d.aggregateWindowMs = input.output.aggregateWindowMs;
  if (input.pins?.root !== undefined) d.pinRoot = input.pins.root;
  if (input.pins?.keepEnforcing !== undefined) d.keepEnforcing = input.pins.keepEnforcing;
  if (input.pins?.protect !== undefined) d.protect = input.pins.protect;
  if (input.nats?.servers && input.nats.servers.length > 0) d.nats = sinkOptions(input.nats, d.format);
  else if (input.nats && Object.keys(input.nats).length > 0) {
    throw new ConfigError(
      [],
      ['nats: the section has no servers (set nats.servers, --nats or BPFGATE_NATS_URL)'],
    );
  }
  return deepFreeze({
    file,
    daemon: d,
    log: { level: input.log?.level ?? 'info', pretty: input.log?.pretty ?? null },
    metrics: { listen: input.metrics?.listen ?? null },
    policyWatch: {
      enabled: input.policyWatch?.enabled ?? true,
      debounceMs: input.policyWatch?.debounceMs ?? DEFAULT_POLICY_WATCH_DEBOUNCE_MS,
    },
    fleet: fleetOptions(input),
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
