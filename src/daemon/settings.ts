// The settings that a command-line flag or a BPFGATE_* environment variable
// can set, in one table: `bpfgate run`'s flags and the environment are read
// through it, and each becomes a fragment of the configuration file's shape.
import type { ConfigInput } from './config.ts';

export type SettingType = 'string' | 'list' | 'bool' | 'int';

export interface Setting {
  /** command-line flag without the leading dashes; null: environment only */
  flag: string | null;
  /** environment variable; null: flag only */
  env: string | null;
  type: SettingType;
  /** a flag of type bool that sets the value false (--no-stdout) */
  negated?: boolean;
  /** value name in the usage text */
  arg?: string;
  help: string;
  to(value: string | string[] | boolean | number | null): ConfigInput;
}

const str = (v: unknown): string => v as string;

export const SETTINGS: readonly Setting[] = [
  {
    flag: 'policies',
    env: 'BPFGATE_POLICIES',
    type: 'list',
    arg: 'PATH',
    help: 'policy file or folder (repeatable; comma-separated in the environment)',
    to: (v) => ({ policies: v as string[] }),
  },
  {
    flag: 'mode',
    env: 'BPFGATE_MODE',
    type: 'string',
    arg: 'enforce|audit',
    help: 'audit: a dry run, block and kill become would-block and would-kill',
    to: (v) => ({ mode: str(v) as 'enforce' }),
  },
  {
    flag: 'audit',
    env: 'BPFGATE_AUDIT',
    type: 'bool',
    help: 'the same as --mode audit',
    to: (v) => ({ mode: v ? 'audit' : 'enforce' }),
  },
  {
    flag: 'require-enforcement',
    env: 'BPFGATE_REQUIRE_ENFORCEMENT',
    type: 'bool',
    help: 'refuse to start when a rule would be enforced more weakly than asked',
    to: (v) => ({ requireEnforcement: v as boolean }),
  },
  {
    flag: 'cgroup',
    env: 'BPFGATE_CGROUP',
    type: 'string',
    arg: 'PATH',
    help: 'cgroup v2 directory the cgroup programs attach to (default: the cgroup2 root)',
    to: (v) => ({ cgroupAttach: str(v) }),
  },
  {
    flag: 'host',
    env: 'BPFGATE_HOST',
    type: 'string',
    arg: 'NAME',
    help: "host name in events and subjects (default: this machine's)",
    to: (v) => ({ host: str(v) }),
  },
  {
    flag: 'format',
    env: 'BPFGATE_FORMAT',
    type: 'string',
    arg: 'native|ocsf',
    help: 'event format on stdout and NATS (default native)',
    to: (v) => ({ output: { format: str(v) as 'native' } }),
  },
  {
    flag: 'no-stdout',
    env: null,
    type: 'bool',
    negated: true,
    help: 'do not print violations on stdout',
    to: (v) => ({ output: { stdout: v as boolean } }),
  },
  {
    flag: null,
    env: 'BPFGATE_STDOUT',
    type: 'bool',
    help: 'print violations on stdout',
    to: (v) => ({ output: { stdout: v as boolean } }),
  },
  {
    flag: 'aggregate',
    env: 'BPFGATE_AGGREGATE_MS',
    type: 'int',
    arg: 'MS',
    help: 'merge identical violations within MS milliseconds (default 0: every event)',
    to: (v) => ({ output: { aggregateWindowMs: v as number } }),
  },
  {
    flag: 'nats',
    env: 'BPFGATE_NATS_URL',
    type: 'list',
    arg: 'URL',
    help: 'publish events to NATS (repeatable for a cluster; comma-separated in the environment)',
    to: (v) => ({ nats: { servers: v as string[] } }),
  },
  {
    flag: 'nats-mode',
    env: 'BPFGATE_NATS_MODE',
    type: 'string',
    arg: 'jetstream|core',
    help: 'default jetstream: acknowledged, de-duplicated by Nats-Msg-Id',
    to: (v) => ({ nats: { mode: str(v) as 'core' } }),
  },
  {
    flag: 'nats-spool',
    env: 'BPFGATE_NATS_SPOOL',
    type: 'string',
    arg: 'DIR',
    help: 'on-disk spool for events while NATS is unreachable',
    to: (v) => ({ nats: { spool: { dir: str(v) } } }),
  },
  ...(
    [
      ['nats-token', 'BPFGATE_NATS_TOKEN', 'T', 'token'],
      ['nats-user', 'BPFGATE_NATS_USER', 'U', 'user'],
      ['nats-password', 'BPFGATE_NATS_PASSWORD', 'P', 'password'],
      ['nats-nkey', 'BPFGATE_NATS_NKEY', 'FILE', 'nkeySeedFile'],
      ['nats-creds', 'BPFGATE_NATS_CREDS', 'FILE', 'credsFile'],
    ] as const
  ).map(
    ([flag, env, arg, key]): Setting => ({
      flag,
      env,
      type: 'string',
      arg,
      help: `NATS auth: ${key}`,
      to: (v) => ({ nats: { auth: { [key]: str(v) } } }),
    }),
  ),
  ...(
    [
      ['nats-tls-cert', 'BPFGATE_NATS_TLS_CERT', 'certFile'],
      ['nats-tls-key', 'BPFGATE_NATS_TLS_KEY', 'keyFile'],
      ['nats-tls-ca', 'BPFGATE_NATS_TLS_CA', 'caFile'],
    ] as const
  ).map(
    ([flag, env, key]): Setting => ({
      flag,
      env,
      type: 'string',
      arg: 'FILE',
      help: `NATS TLS: ${key}`,
      to: (v) => ({ nats: { auth: { tls: { [key]: str(v) } } } }),
    }),
  ),
  {
    flag: 'log-level',
    env: 'BPFGATE_LOG_LEVEL',
    type: 'string',
    arg: 'LEVEL',
    help: 'fatal, error, warn, info, debug, trace, silent (default info)',
    to: (v) => ({ log: { level: str(v) as 'info' } }),
  },
  {
    flag: null,
    env: 'BPFGATE_LOG_PRETTY',
    type: 'bool',
    help: 'readable logs instead of JSON lines',
    to: (v) => ({ log: { pretty: v as boolean } }),
  },
  {
    flag: 'metrics',
    env: 'BPFGATE_METRICS_LISTEN',
    type: 'string',
    arg: 'HOST:PORT',
    help: "serve /metrics, /healthz and /status there ('off': no server; default off)",
    to: (v) => ({ metrics: { listen: v === 'off' || v === '' ? null : str(v) } }),
  },
  {
    flag: 'pin-root',
    env: 'BPFGATE_PIN_ROOT',
    type: 'string',
    arg: 'DIR',
    help: "bpffs folder for pins (default /sys/fs/bpf/bpfgate; 'off': nothing pinned)",
    to: (v) => ({ pins: { root: v === 'off' || v === '' ? null : str(v) } }),
  },
  {
    flag: 'keep-enforcing',
    env: 'BPFGATE_KEEP_ENFORCING',
    type: 'bool',
    help: 'an orderly stop leaves the pinned programs enforcing',
    to: (v) => ({ pins: { keepEnforcing: v as boolean } }),
  },
  {
    flag: 'protect',
    env: 'BPFGATE_PROTECT',
    type: 'bool',
    help: 'self-protection (BPF-LSM kernels): no other process may detach, unpin, write, signal or ptrace bpfgate',
    to: (v) => ({ pins: { protect: v as boolean } }),
  },
  {
    flag: 'no-policy-watch',
    env: null,
    type: 'bool',
    negated: true,
    help: 'do not reload when a policy file changes (SIGHUP still does)',
    to: (v) => ({ policyWatch: { enabled: v as boolean } }),
  },
  {
    flag: null,
    env: 'BPFGATE_POLICY_WATCH',
    type: 'bool',
    help: 'reload when a policy file changes',
    to: (v) => ({ policyWatch: { enabled: v as boolean } }),
  },
  {
    flag: 'fleet',
    env: 'BPFGATE_FLEET_URL',
    type: 'list',
    arg: 'URL',
    help: 'policies from a NATS KV bucket instead of files (repeatable; default: the --nats servers)',
    to: (v) => ({ fleet: { servers: v as string[] } }),
  },
  {
    flag: 'fleet-bucket',
    env: 'BPFGATE_FLEET_BUCKET',
    type: 'string',
    arg: 'NAME',
    help: 'the fleet policy bucket (default bpfgate-policies)',
    to: (v) => ({ fleet: { bucket: str(v) } }),
  },
  {
    flag: 'fleet-label',
    env: 'BPFGATE_FLEET_LABELS',
    type: 'list',
    arg: 'KEY=VALUE',
    help: "this host's labels, matched by policy host selectors (repeatable; comma-separated in the environment)",
    to: (v) =>
      ({
        fleet: {
          labels: Object.fromEntries(
            (v as string[]).map((kv) => {
              const at = kv.indexOf('=');
              return at < 0 ? [kv.trim(), ''] : [kv.slice(0, at).trim(), kv.slice(at + 1).trim()];
            }),
          ),
        },
      }) as ConfigInput,
  },
  {
    flag: 'fleet-cache',
    env: 'BPFGATE_FLEET_CACHE',
    type: 'string',
    arg: 'DIR',
    help: "cache of the last applied fleet set, enforced when NATS is unreachable at start ('off': none; default /var/lib/bpfgate/fleet-cache)",
    to: (v) => ({ fleet: { cacheDir: v === 'off' || v === '' ? null : str(v) } }),
  },
];

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

/** An environment variable's text as a setting's value; a string is an error message. */
export function envValue(s: Setting, raw: string): { value: string | string[] | boolean | number } | string {
  switch (s.type) {
    case 'list': {
      const items = raw
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '');
      return items.length > 0 ? { value: items } : 'expected a comma-separated list';
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (TRUE.has(v)) return { value: true };
      if (FALSE.has(v)) return { value: false };
      return `expected true or false, not '${raw}'`;
    }
    case 'int':
      return /^\s*\d+\s*$/.test(raw) ? { value: Number(raw) } : `expected a whole number, not '${raw}'`;
    default:
      return { value: raw };
  }
}

/** A flag's value (from node:util parseArgs) as a setting's value. */
export function flagValue(
  s: Setting,
  raw: string | boolean | string[],
): { value: string | string[] | boolean | number } | string {
  if (s.type === 'bool') return { value: s.negated ? !raw : raw === true };
  if (s.type === 'int') {
    const v = String(raw);
    return /^\d+$/.test(v) ? { value: Number(v) } : `expected a whole number, not '${v}'`;
  }
  return { value: raw };
}
