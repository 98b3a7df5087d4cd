// The settings of the nats section: where events are published. Auth
// settings come from the NATS module's AUTH_FIELDS, so the file keys, flags
// and environment variables of auth are declared there once.
import { AUTH_FIELDS, secretOnArgv } from '../nats/auth.ts';
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
import { input, type Setting, setting } from './registry.ts';

const natsAuth: Setting[] = AUTH_FIELDS.map((f) => ({
  path: ['nats', 'auth', ...f.path],
  type: { kind: 'string', ...(f.nonEmpty ? { minLength: 1 } : {}) },
  description: f.help,
  file: f.file,
  // a secret itself: the environment or the file only (argv is readable by every user)
  inputs: [
    f.secret
      ? input(null, f.env, 'string', f.help, { refusedFlag: { flag: f.flag, message: secretOnArgv(f) } })
      : input(f.flag, f.env, 'string', f.help, { arg: f.arg }),
  ],
}));

/** An integer option of the sink, bounded below by the sink's own minimum. */
const sinkInt = (path: string, min: keyof typeof SINK_MIN, description: string, dflt: number): Setting =>
  setting(path, { kind: 'integer', min: SINK_MIN[min] }, description, dflt);

export const NATS_SETTINGS: readonly Setting[] = [
  setting(
    'nats.servers',
    { kind: 'list', pattern: SERVER_URL_PATTERN },
    'NATS servers (nats://, tls:// or host:port); without them nothing is published',
    undefined,
    {
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
  ),
  setting(
    'nats.mode',
    { kind: 'enum', values: NATS_MODES },
    'jetstream: acknowledged, de-duplicated by Nats-Msg-Id; core: fire and flush',
    'jetstream',
    {
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
  ),
  setting(
    'nats.subjectPrefix',
    { kind: 'string', minLength: 1 },
    'First tokens of every subject (docs/events.md)',
    DEFAULT_SUBJECT_PREFIX,
  ),
  setting('nats.name', { kind: 'string', minLength: 1 }, 'Client name shown by the server', 'bpfgate'),
  sinkInt(
    'nats.queueMax',
    'queueMax',
    'Events waiting in memory for the publisher; beyond this they are dropped and counted',
    DEFAULT_QUEUE_MAX,
  ),
  sinkInt(
    'nats.publishTimeoutMs',
    'publishTimeoutMs',
    'How long a publish may wait for its acknowledgement',
    DEFAULT_PUBLISH_TIMEOUT_MS,
  ),
  setting('nats.batch', { kind: 'integer', min: SINK_MIN.batch }, 'Events published at once', DEFAULT_BATCH),
  sinkInt(
    'nats.reconnectWaitMs',
    'reconnectWaitMs',
    'Wait between connection attempts',
    DEFAULT_RECONNECT_WAIT_MS,
  ),
  ...natsAuth,
  setting(
    'nats.spool.dir',
    { kind: 'string', minLength: 1 },
    'Spool folder; null: no spool (events that cannot be published are dropped and counted)',
    null,
    {
      nullable: true,
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
  ),
  sinkInt(
    'nats.spool.maxBytes',
    'spoolMaxBytes',
    'Spool size; when full the newest events are dropped and counted',
    DEFAULT_SPOOL_MAX_BYTES,
  ),
  setting(
    'nats.spool.segmentBytes',
    { kind: 'integer', min: SINK_MIN.spoolSegmentBytes },
    'Spool segment file size',
    DEFAULT_SPOOL_SEGMENT_BYTES,
    { defaultText: `${DEFAULT_SPOOL_SEGMENT_BYTES}, or maxBytes when smaller` },
  ),
  setting(
    'nats.spool.fsync',
    { kind: 'enum', values: FSYNC_POLICIES },
    'When spooled events are synced to disk',
    DEFAULT_FSYNC,
  ),
  sinkInt(
    'nats.spool.fsyncIntervalMs',
    'fsyncIntervalMs',
    'With fsync interval: how often',
    DEFAULT_FSYNC_INTERVAL_MS,
  ),
];
