// The settings of the nats section: where events are published. Auth
// settings come from the NATS module's AUTH_FIELDS, so the file keys, flags
// and environment variables of auth are declared there once.
import { AUTH_FIELDS } from '../nats/auth.ts';
import { SERVER_URL_PATTERN } from '../nats/options.ts';
import {
  DEFAULT_BATCH,
  DEFAULT_FSYNC,
  DEFAULT_FSYNC_INTERVAL_MS,
  DEFAULT_PUBLISH_TIMEOUT_MS,
  DEFAULT_QUEUE_MAX,
  DEFAULT_RECONNECT_WAIT_MS,
  DEFAULT_SPOOL_MAX_BYTES,
  DEFAULT_SPOOL_SEGMENT_BYTES,
  FSYNC_POLICIES,
  NATS_MODES,
  SINK_MIN,
} from '../sinks/options.ts';
import { DEFAULT_SUBJECT_PREFIX } from '../sinks/subject.ts';
import { input, type Setting } from './registry.ts';

const natsAuth: Setting[] = AUTH_FIELDS.map((f) => ({
  path: ['nats', 'auth', ...f.path],
  type: { kind: 'string', ...(f.nonEmpty ? { minLength: 1 } : {}) },
  description: f.help,
  file: f.file,
  inputs: [input(f.flag, f.env, 'string', f.help, { arg: f.arg })],
}));

export const NATS_SETTINGS: readonly Setting[] = [
  {
    path: ['nats', 'servers'],
    type: { kind: 'list', pattern: SERVER_URL_PATTERN },
    description: 'NATS servers (nats://, tls:// or host:port); without them nothing is published',
    inputs: [
      input(
        'nats',
        'BPFGATE_NATS_URL',
        'list',
        'publish events to NATS (repeatable for a cluster; comma-separated in the environment)',
        { arg: 'URL' },
      ),
    ],
  },
  {
    path: ['nats', 'mode'],
    type: { kind: 'enum', values: NATS_MODES },
    description: 'jetstream: acknowledged, de-duplicated by Nats-Msg-Id; core: fire and flush',
    default: 'jetstream',
    inputs: [
      input(
        'nats-mode',
        'BPFGATE_NATS_MODE',
        'string',
        'default jetstream: acknowledged, de-duplicated by Nats-Msg-Id',
        { arg: 'jetstream|core' },
      ),
    ],
  },
  {
    path: ['nats', 'subjectPrefix'],
    type: { kind: 'string', minLength: 1 },
    description: 'First tokens of every subject (docs/events.md)',
    default: DEFAULT_SUBJECT_PREFIX,
  },
  {
    path: ['nats', 'name'],
    type: { kind: 'string', minLength: 1 },
    description: 'Client name shown by the server',
    default: 'bpfgate',
  },
  {
    path: ['nats', 'queueMax'],
    type: { kind: 'integer', min: SINK_MIN.queueMax },
    description: 'Events waiting in memory for the publisher; beyond this they are dropped and counted',
    default: DEFAULT_QUEUE_MAX,
  },
  {
    path: ['nats', 'publishTimeoutMs'],
    type: { kind: 'integer', min: SINK_MIN.publishTimeoutMs },
    description: 'How long a publish may wait for its acknowledgement',
    default: DEFAULT_PUBLISH_TIMEOUT_MS,
  },
  {
    path: ['nats', 'batch'],
    type: { kind: 'integer', min: SINK_MIN.batch },
    description: 'Events published at once',
    default: DEFAULT_BATCH,
  },
  {
    path: ['nats', 'reconnectWaitMs'],
    type: { kind: 'integer', min: SINK_MIN.reconnectWaitMs },
    description: 'Wait between connection attempts',
    default: DEFAULT_RECONNECT_WAIT_MS,
  },
  ...natsAuth,
  {
    path: ['nats', 'spool', 'dir'],
    type: { kind: 'string', minLength: 1 },
    nullable: true,
    description: 'Spool folder; null: no spool (events that cannot be published are dropped and counted)',
    default: null,
    defaultText: 'null (no spool)',
    file: true,
    inputs: [
      input(
        'nats-spool',
        'BPFGATE_NATS_SPOOL',
        'string',
        'on-disk spool for events while NATS is unreachable',
        { arg: 'DIR' },
      ),
    ],
  },
  {
    path: ['nats', 'spool', 'maxBytes'],
    type: { kind: 'integer', min: SINK_MIN.spoolMaxBytes },
    description: 'Spool size; when full the newest events are dropped and counted',
    default: DEFAULT_SPOOL_MAX_BYTES,
  },
  {
    path: ['nats', 'spool', 'segmentBytes'],
    type: { kind: 'integer', min: SINK_MIN.spoolSegmentBytes },
    description: 'Spool segment file size',
    default: DEFAULT_SPOOL_SEGMENT_BYTES,
    defaultText: `${DEFAULT_SPOOL_SEGMENT_BYTES}, or maxBytes when smaller`,
  },
  {
    path: ['nats', 'spool', 'fsync'],
    type: { kind: 'enum', values: FSYNC_POLICIES },
    description: 'When spooled events are synced to disk',
    default: DEFAULT_FSYNC,
  },
  {
    path: ['nats', 'spool', 'fsyncIntervalMs'],
    type: { kind: 'integer', min: SINK_MIN.fsyncIntervalMs },
    description: 'With fsync interval: how often',
    default: DEFAULT_FSYNC_INTERVAL_MS,
  },
];
