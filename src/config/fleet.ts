// The settings of the fleet section: policies from a NATS KV bucket
// (docs/fleet.md).
import {
  BUCKET_NAME,
  DEFAULT_FLEET_BUCKET,
  DEFAULT_FLEET_CACHE_DIR,
  DEFAULT_FLEET_CONNECT_TIMEOUT_MS,
  DEFAULT_FLEET_RECONNECT_WAIT_MS,
  DEFAULT_FLEET_STATUS_BUCKET,
} from '../fleet/options.ts';
import { LABEL_KEY, LABEL_VALUE } from '../fleet/selector.ts';
import { PUBLIC_KEY } from '../fleet/signature.ts';
import { SERVER_URL_PATTERN } from '../nats/options.ts';
import { type InputValue, input, offIsNull, type Setting, setting } from './registry.ts';

/** KEY=VALUE items as a mapping. */
const labels = (v: InputValue): unknown =>
  Object.fromEntries(
    (v as string[]).map((kv) => {
      const at = kv.indexOf('=');
      return at < 0 ? [kv.trim(), ''] : [kv.slice(0, at).trim(), kv.slice(at + 1).trim()];
    }),
  );

export const FLEET_SETTINGS: readonly Setting[] = [
  setting(
    'fleet.servers',
    { kind: 'list', pattern: SERVER_URL_PATTERN },
    'NATS servers of the policy bucket',
    undefined,
    {
      defaultText: 'nats.servers',
      inputs: [
        input(
          'fleet',
          'BPFGATE_FLEET_URL',
          'list',
          'policies from a NATS KV bucket instead of files (repeatable; default: the --nats servers)',
          { arg: 'URL' },
        ),
      ],
    },
  ),
  setting(
    'fleet.bucket',
    { kind: 'string', pattern: BUCKET_NAME.source },
    'The fleet policy bucket',
    DEFAULT_FLEET_BUCKET,
    {
      inputs: [
        input(
          'fleet-bucket',
          'BPFGATE_FLEET_BUCKET',
          'string',
          `the fleet policy bucket (default ${DEFAULT_FLEET_BUCKET})`,
          { arg: 'NAME' },
        ),
      ],
    },
  ),
  setting(
    'fleet.labels',
    { kind: 'map', keyPattern: LABEL_KEY.source, valuePattern: LABEL_VALUE.source },
    "This host's labels, matched by the bpfgate.dev/hosts selector of each policy in the bucket",
    {},
    {
      defaultText: 'none',
      inputs: [
        input(
          'fleet-label',
          'BPFGATE_FLEET_LABELS',
          'list',
          "this host's labels, matched by policy host selectors (repeatable; comma-separated in the environment)",
          { arg: 'KEY=VALUE', value: labels },
        ),
      ],
    },
  ),
  setting('fleet.name', { kind: 'string', minLength: 1 }, 'Client name shown by the server', 'bpfgate-fleet'),
  setting(
    'fleet.auth',
    { kind: 'ref', ref: ['nats', 'auth'] },
    'NATS auth for the bucket, as nats.auth',
    undefined,
    { defaultText: 'nats.auth' },
  ),
  setting(
    'fleet.cacheDir',
    { kind: 'string', minLength: 1 },
    'Folder of the last applied set, enforced when NATS is unreachable at start; null: no cache (then an unreachable NATS stops the start)',
    DEFAULT_FLEET_CACHE_DIR,
    {
      nullable: true,
      file: true,
      inputs: [
        input(
          'fleet-cache',
          'BPFGATE_FLEET_CACHE',
          'string',
          `cache of the last applied fleet set, enforced when NATS is unreachable at start ('off': none; default ${DEFAULT_FLEET_CACHE_DIR})`,
          { arg: 'DIR', value: offIsNull },
        ),
      ],
    },
  ),
  setting(
    'fleet.connectTimeoutMs',
    { kind: 'integer', min: 100, max: 600_000 },
    'How long start-up tries to reach the bucket before it uses the cache',
    DEFAULT_FLEET_CONNECT_TIMEOUT_MS,
  ),
  setting(
    'fleet.reconnectWaitMs',
    { kind: 'integer', min: 10 },
    'Wait between connection attempts',
    DEFAULT_FLEET_RECONNECT_WAIT_MS,
  ),
  setting(
    'fleet.trustedKeys',
    { kind: 'list', pattern: PUBLIC_KEY.source },
    'Public nkeys (U…) whose signatures this host accepts: only policy entries signed by one of them are applied (docs/fleet.md)',
    [],
    {
      defaultText: 'none: required',
      inputs: [
        input(
          'fleet-trust',
          'BPFGATE_FLEET_TRUSTED_KEYS',
          'list',
          'a public nkey whose signatures on fleet policies this host accepts (repeatable; comma-separated in the environment)',
          { arg: 'KEY' },
        ),
      ],
    },
  ),
  setting(
    'fleet.publishStatus',
    { kind: 'boolean' },
    "Write this host's status to hosts.<host> in the status bucket after every apply",
    true,
  ),
  setting(
    'fleet.statusBucket',
    { kind: 'string', pattern: BUCKET_NAME.source },
    "The bucket of the hosts' status, apart from the policies every host reads (create it; hosts write, the security team reads)",
    DEFAULT_FLEET_STATUS_BUCKET,
  ),
];
