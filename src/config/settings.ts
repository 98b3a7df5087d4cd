// Every setting of `bpfgate run`, declared once: its place in the
// configuration file, type, bounds, default, flags, environment variables
// and help (./registry.ts says what each field means). Defaults and bounds
// owned by a component are taken from that component's constants. The nats
// and fleet sections are declared in ./nats.ts and ./fleet.ts.
import { DEFAULT_PIN_ROOT } from '../kernel/pins.ts';
import { LOG_LEVELS } from '../log.ts';
import { EVENT_FORMATS } from '../sinks/format.ts';
import { DEFAULT_EVENTS_SOCKET } from '../sinks/local.ts';
import { STDOUT_VIEWS } from '../sinks/stdout.ts';
import { FLEET_SETTINGS } from './fleet.ts';
import { NATS_SETTINGS } from './nats.ts';
import { input, offIsNull, type Section, type Setting, setting } from './registry.ts';

export const DEFAULT_CONFIG_FILE = '/etc/bpfgate/config.yaml';
export const DEFAULT_POLICIES = ['policies/'];
export const DEFAULT_POLICY_WATCH_DEBOUNCE_MS = 500;

export const SECTIONS: readonly Section[] = [
  { path: ['output'] },
  {
    path: ['nats'],
    description: 'Publish events to NATS. Omit the section (or its servers) to publish nowhere',
  },
  {
    path: ['nats', 'auth'],
    description: 'One of token, user+password, nkeySeedFile, credsFile; tls beside any of them',
  },
  { path: ['nats', 'auth', 'tls'] },
  { path: ['nats', 'spool'], description: 'On-disk spool for events while NATS is unreachable' },
  { path: ['log'] },
  { path: ['metrics'] },
  { path: ['pins'], description: 'Enforcement that outlives the daemon (docs/persistence.md)' },
  { path: ['policyWatch'] },
  {
    path: ['fleet'],
    description:
      'Policies from a NATS KV bucket shared by the fleet instead of files (docs/fleet.md). Omit the section to read policy files',
  },
];

export const SETTINGS: readonly Setting[] = [
  setting(
    'policies',
    { kind: 'list', minLength: 1 },
    'Policy files and folders (their *.yaml and *.yml files)',
    DEFAULT_POLICIES,
    {
      file: true,
      inputs: [
        input(
          'policies',
          'BPFGATE_POLICIES',
          'list',
          'policy file or folder (repeatable; comma-separated in the environment)',
          { arg: 'PATH' },
        ),
      ],
    },
  ),
  setting(
    'mode',
    { kind: 'enum', values: ['enforce', 'audit'] },
    'audit: a dry run, every block and kill becomes would-block, would-kill or would-kill-after',
    'enforce',
    {
      inputs: [
        input(
          'mode',
          'BPFGATE_MODE',
          'string',
          'audit: a dry run, block and kill become would-block, would-kill or would-kill-after',
          { arg: 'enforce|audit' },
        ),
        {
          flag: 'audit',
          env: 'BPFGATE_AUDIT',
          kind: 'bool',
          help: 'the same as --mode audit',
          value: (v) => (v ? 'audit' : 'enforce'),
        },
      ],
    },
  ),
  setting(
    'requireEnforcement',
    { kind: 'boolean' },
    'Refuse to start (or to reload) when a rule would be enforced more weakly than asked',
    false,
    {
      inputs: [
        input(
          'require-enforcement',
          'BPFGATE_REQUIRE_ENFORCEMENT',
          'bool',
          'refuse to start when a rule would be enforced more weakly than asked',
        ),
      ],
    },
  ),
  setting(
    'cgroupAttach',
    { kind: 'string', minLength: 1 },
    'cgroup v2 directory the cgroup programs attach to; null: the cgroup2 root',
    null,
    {
      nullable: true,
      defaultText: 'null (the cgroup2 root)',
      inputs: [
        input(
          'cgroup',
          'BPFGATE_CGROUP',
          'string',
          'cgroup v2 directory the cgroup programs attach to (default: the cgroup2 root)',
          { arg: 'PATH' },
        ),
      ],
    },
  ),
  setting('host', { kind: 'string', minLength: 1 }, 'Host name in events and NATS subjects', undefined, {
    defaultText: "this machine's",
    inputs: [
      input('host', 'BPFGATE_HOST', 'string', "host name in events and subjects (default: this machine's)", {
        arg: 'NAME',
      }),
    ],
  }),
  setting(
    'requireTls',
    { kind: 'boolean' },
    'Refuse to start when NATS credentials would cross a plaintext nats:// connection (otherwise a warning)',
    false,
    {
      inputs: [
        input(
          'require-tls',
          'BPFGATE_REQUIRE_TLS',
          'bool',
          'refuse NATS credentials over plaintext nats:// URLs',
        ),
      ],
    },
  ),
  setting('output.stdout', { kind: 'boolean' }, 'Print violations as JSON lines on stdout', true, {
    inputs: [
      input('no-stdout', null, 'bool', 'do not print violations on stdout', { negated: true }),
      { flag: null, env: 'BPFGATE_STDOUT', kind: 'bool', help: 'print violations on stdout' },
    ],
  }),
  setting(
    'output.view',
    { kind: 'enum', values: STDOUT_VIEWS },
    'How violations look on stdout: text (one readable line each), json (JSON lines), auto (text on a terminal, else json)',
    'auto',
    {
      inputs: [
        input(
          'output',
          'BPFGATE_OUTPUT',
          'string',
          'violations on stdout as text lines or JSON lines (default auto: text on a terminal)',
          { arg: 'auto|text|json' },
        ),
      ],
    },
  ),
  setting(
    'output.socket',
    { kind: 'string', pattern: '^/' },
    'Unix socket (owner only) from which `bpfgate tail` reads events without NATS; null: none',
    DEFAULT_EVENTS_SOCKET,
    {
      nullable: true,
      inputs: [
        input(
          'events-socket',
          'BPFGATE_EVENTS_SOCKET',
          'string',
          `local socket for bpfgate tail (default ${DEFAULT_EVENTS_SOCKET}; 'off': none)`,
          { arg: 'PATH', value: offIsNull },
        ),
      ],
    },
  ),
  setting(
    'output.format',
    { kind: 'enum', values: EVENT_FORMATS },
    'Event format on stdout and NATS',
    'native',
    {
      inputs: [
        input('format', 'BPFGATE_FORMAT', 'string', 'event format on stdout and NATS (default native)', {
          arg: 'native|ocsf',
        }),
      ],
    },
  ),
  setting(
    'output.aggregateWindowMs',
    { kind: 'integer', min: 0, max: 3_600_000 },
    'Merge identical violations within this many milliseconds; 0: every event',
    0,
    {
      inputs: [
        input(
          'aggregate',
          'BPFGATE_AGGREGATE_MS',
          'int',
          'merge identical violations within MS milliseconds (default 0: every event)',
          { arg: 'MS' },
        ),
      ],
    },
  ),
  setting(
    'output.kernelRecordsPerSecond',
    { kind: 'integer', min: 0, max: 1_000_000 },
    'Records a second the kernel writes for one process repeating one violation (same rule and target); it counts the rest, and the next event carries them in its count. 0: a record for every attempt',
    16,
    {
      inputs: [
        input(
          'kernel-records',
          'BPFGATE_KERNEL_RECORDS',
          'int',
          'records a second per process repeating one violation; the rest are counted (default 16; 0: every attempt)',
          { arg: 'N' },
        ),
      ],
    },
  ),
  ...NATS_SETTINGS,
  setting('log.level', { kind: 'enum', values: LOG_LEVELS }, 'Log level', 'info', {
    inputs: [
      input(
        'log-level',
        'BPFGATE_LOG_LEVEL',
        'string',
        'fatal, error, warn, info, debug, trace, silent (default info)',
        { arg: 'LEVEL' },
      ),
    ],
  }),
  setting('log.pretty', { kind: 'boolean' }, 'Readable logs instead of JSON lines', undefined, {
    defaultText: 'only on a terminal',
    inputs: [
      { flag: null, env: 'BPFGATE_LOG_PRETTY', kind: 'bool', help: 'readable logs instead of JSON lines' },
    ],
  }),
  setting(
    'metrics.listen',
    { kind: 'string', pattern: '^((\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):)?[0-9]{1,5}$' },
    'host:port (or a port: loopback) for /metrics (Prometheus), /healthz and /status; null: off',
    null,
    {
      nullable: true,
      defaultText: 'null (off)',
      inputs: [
        input(
          'metrics',
          'BPFGATE_METRICS_LISTEN',
          'string',
          "serve /metrics, /healthz and /status there (a bare port: loopback; 'off': no server; default off)",
          { arg: 'HOST:PORT', value: offIsNull },
        ),
      ],
    },
  ),
  setting(
    'metrics.statusTokenFile',
    { kind: 'string', minLength: 1 },
    'File holding a bearer token every /status request must carry; null: /status is served to loopback peers only',
    null,
    {
      nullable: true,
      file: true,
      inputs: [
        input(
          'metrics-status-token-file',
          'BPFGATE_METRICS_STATUS_TOKEN_FILE',
          'string',
          '/status only with this bearer token (default: loopback peers only)',
          { arg: 'FILE', value: offIsNull },
        ),
      ],
    },
  ),
  setting(
    'pins.root',
    { kind: 'string', pattern: '^/' },
    'bpffs folder every map and link is pinned under; null: nothing pinned',
    DEFAULT_PIN_ROOT,
    {
      nullable: true,
      inputs: [
        input(
          'pin-root',
          'BPFGATE_PIN_ROOT',
          'string',
          `bpffs folder for pins (default ${DEFAULT_PIN_ROOT}; 'off': nothing pinned)`,
          { arg: 'DIR', value: offIsNull },
        ),
      ],
    },
  ),
  setting(
    'pins.keepEnforcing',
    { kind: 'boolean' },
    'An orderly stop leaves the pins, so enforcement goes on until the next daemon adopts it (or bpfgate unload)',
    false,
    {
      inputs: [
        input(
          'keep-enforcing',
          'BPFGATE_KEEP_ENFORCING',
          'bool',
          'an orderly stop leaves the pinned programs enforcing',
        ),
      ],
    },
  ),
  setting(
    'pins.protect',
    { kind: 'boolean' },
    "Self-protection, on kernels with BPF-LSM active or, where it is built but not active, fmod_ret on the security_* functions: no other process, root included, may detach or replace bpfgate's programs, write its maps, remove its pins, signal or ptrace the daemon, or stop it through its cgroup, rlimits, scheduling, SIGIO or oom_score_adj (docs/persistence.md; break glass: /run/bpfgate/break-glass or bpfgate.protect=off on the kernel command line). Refused at start where neither works",
    false,
    {
      inputs: [
        input(
          'protect',
          'BPFGATE_PROTECT',
          'bool',
          'self-protection (BPF-LSM or fmod_ret kernels): no other process may detach, unpin, write, signal or ptrace bpfgate',
        ),
      ],
    },
  ),
  setting('policyWatch.enabled', { kind: 'boolean' }, 'Reload when a policy file changes', true, {
    inputs: [
      input('no-policy-watch', null, 'bool', 'do not reload when a policy file changes (SIGHUP still does)', {
        negated: true,
      }),
      { flag: null, env: 'BPFGATE_POLICY_WATCH', kind: 'bool', help: 'reload when a policy file changes' },
    ],
  }),
  setting(
    'policyWatch.debounceMs',
    { kind: 'integer', min: 0, max: 60_000 },
    'Wait this long after the last change',
    DEFAULT_POLICY_WATCH_DEBOUNCE_MS,
  ),
  ...FLEET_SETTINGS,
];
