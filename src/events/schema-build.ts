// Builds the event contract, schemas/event.schema.json (JSON Schema
// 2020-12), from the definitions that make the events: each kind's target
// schema (src/kinds/, next to the decoder of that target), the ABI's outcomes,
// mechanisms and flags, and the event types' word lists. A unit test keeps the
// committed file identical to this. Regenerate the file with:
//   node -e "import('./src/events/schema-build.ts').then(m => process.stdout.write(m.eventSchemaJson()))" > schemas/event.schema.json
import { EVENT_FLAG, Mechanism, Outcome } from '../abi/layout.ts';
import { KINDS, RULE_KINDS } from '../kinds/index.ts';
import { type Json, record, string, u32 } from '../kinds/schema.ts';
import { MODES, SEVERITIES } from '../policy/vocabulary.ts';
import { ID_PATTERN } from './id.ts';
import { CONTAINER_RUNTIMES, EVENT_ACTIONS, LOSS_SOURCES, SCHEMA_ID, SCHEMA_VERSION } from './types.ts';

const ref = (name: string): Json => ({ $ref: `#/$defs/${name}` });
const closed = (required: string[], properties: Json): Json => ({
  type: 'object',
  unevaluatedProperties: false,
  required,
  properties,
});

/** The definitions every kind's target schema refers to, in registry order. */
function targetDefs(): Json {
  const defs: Json = {};
  for (const k of KINDS) Object.assign(defs, k.targetDefs ?? {});
  return defs;
}

/** The fields read from /proc after the event: the process may have changed them, exec'd or exited meanwhile. */
const fromProc = (fields: string[]): Json => ({
  type: 'array',
  items: { enum: fields },
  uniqueItems: true,
  description: 'fields read from /proc after the event, not recorded by the kernel',
});

function process(): Json {
  return record(['pid', 'tgid', 'ppid', 'uid', 'gid', 'euid', 'comm', 'cgroup'], {
    pid: u32,
    tgid: u32,
    ppid: u32,
    uid: u32,
    gid: u32,
    euid: u32,
    user: { type: 'string', description: 'user name of uid, from /etc/passwd' },
    comm: { type: 'string', maxLength: 16 },
    executable: {
      type: 'string',
      description:
        'absolute path: as the kernel recorded it (the exec path for exec events, the executable at the decision for kinds without a path of their own, or the executable tracked since exec), else from /proc/<pid>/exe (then listed in fromProc)',
    },
    args: {
      type: 'array',
      maxItems: 64,
      items: { type: 'string', maxLength: 4096 },
      description: 'from /proc/<pid>/cmdline, at most 64 arguments and 4096 bytes in all',
    },
    argsTruncated: { type: 'boolean' },
    fromProc: fromProc(['executable', 'args']),
    cgroup: record(['id'], {
      id: { type: 'string', pattern: '^[0-9]{1,20}$', description: 'cgroup v2 id (inode number), decimal' },
      path: { type: 'string', description: 'path below the cgroup2 mount, e.g. /system.slice/nginx.service' },
    }),
    container: record(['id'], {
      id: { type: 'string', pattern: '^[0-9a-f]{12,64}$' },
      runtime: { enum: [...CONTAINER_RUNTIMES] },
    }),
  });
}

function violation(): Json {
  const byKind = KINDS.map((k) => ({
    if: { properties: { kind: { const: k.name } } },
    // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword
    then: { properties: { target: k.target } },
  }));
  return {
    allOf: [ref('common'), ...byKind],
    ...closed(
      [
        'type',
        'policy',
        'action',
        'outcome',
        'mode',
        'kind',
        'mechanism',
        'process',
        'parent',
        'target',
        'message',
        'ret',
      ],
      {
        type: { const: 'violation' },
        policy: record(['name', 'rule', 'severity', 'tags'], {
          name: { type: 'string', minLength: 1 },
          rule: { type: 'string', minLength: 1 },
          severity: { enum: [...SEVERITIES] },
          tags: { type: 'array', items: string },
        }),
        action: { enum: [...EVENT_ACTIONS], description: 'what the rule asked for' },
        outcome: { enum: Object.keys(Outcome), description: 'what happened' },
        mode: { enum: [...MODES] },
        kind: { enum: [...RULE_KINDS] },
        mechanism: { enum: Object.keys(Mechanism) },
        process: ref('process'),
        parent: record(['pid'], { pid: u32, executable: string, fromProc: fromProc(['executable']) }),
        target: { type: 'object' },
        message: string,
        ret: {
          type: 'integer',
          description: 'what the kernel returned to the caller (-1 = EPERM when denied, 0 otherwise)',
        },
        flags: { type: 'array', items: { enum: [...EVENT_FLAG.names] } },
        unresolved: {
          const: true,
          description:
            'the path, or the acting executable, could not be resolved by the programs (longer than their buffer, deeper than their walk), or the filesystem type of a mount was unknown to its hook (a bind or move by mount(2)), and it was decided fail-closed',
        },
        count: {
          type: 'integer',
          minimum: 1,
          description: 'aggregated: identical violations this event stands for',
        },
        firstTimeNs: ref('timeNs'),
        firstTime: ref('time'),
        lastTimeNs: ref('timeNs'),
        lastTime: ref('time'),
      },
    ),
    dependentRequired: { count: ['firstTimeNs', 'firstTime', 'lastTimeNs', 'lastTime'] },
  };
}

export function buildEventSchema(): Json {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_ID,
    title: 'bpfgate event',
    description: `One message published by bpfgate: a policy violation, a loss report, or a rejected policy reload. Schema version ${SCHEMA_VERSION}: fields may be added in 1.x; a field is never removed or changed in meaning without a new major version.`,
    oneOf: [ref('violation'), ref('loss'), ref('policyError'), ref('tamper')],
    $defs: {
      id: {
        type: 'string',
        pattern: ID_PATTERN,
        description:
          'unique and time-sortable (48-bit milliseconds + 80 random bits, Crockford base32); also the Nats-Msg-Id header',
      },
      timeNs: {
        type: 'string',
        pattern: '^[0-9]{1,20}$',
        description: 'nanoseconds since the Unix epoch, decimal',
      },
      time: {
        type: 'string',
        format: 'date-time',
        pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{9}Z$',
        description: 'RFC 3339, UTC, nanosecond precision',
      },
      common: {
        type: 'object',
        required: ['schemaVersion', 'type', 'id', 'timeNs', 'time', 'host'],
        properties: {
          schemaVersion: { const: SCHEMA_VERSION },
          type: { enum: ['violation', 'loss', 'policy_error', 'tamper'] },
          id: ref('id'),
          timeNs: ref('timeNs'),
          time: ref('time'),
          host: { type: 'string', minLength: 1 },
        },
      },
      ...targetDefs(),
      process: process(),
      violation: violation(),
      loss: {
        allOf: [ref('common')],
        ...closed(['type', 'loss', 'message'], {
          type: { const: 'loss' },
          loss: record(['source', 'count'], {
            source: { enum: [...LOSS_SOURCES] },
            count: { type: 'integer', minimum: 1 },
          }),
          message: string,
        }),
      },
      tamper: {
        allOf: [ref('common')],
        ...closed(['type', 'tamper', 'message'], {
          type: { const: 'tamper' },
          tamper: record(['refused'], {
            refused: {
              type: 'object',
              description: 'refusals by kind since the last tamper event (docs/persistence.md)',
              minProperties: 1,
              propertyNames: { pattern: '^[a-z][a-z-]*$' },
              additionalProperties: { type: 'integer', minimum: 1 },
            },
          }),
          message: string,
        }),
      },
      policyError: {
        allOf: [ref('common')],
        ...closed(['type', 'diagnostics', 'message'], {
          type: { const: 'policy_error' },
          diagnostics: {
            type: 'array',
            items: record(['code', 'message', 'severity', 'file', 'line', 'column'], {
              code: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$' },
              message: string,
              severity: { enum: ['error', 'warning'] },
              file: string,
              line: { type: 'integer', minimum: 0 },
              column: { type: 'integer', minimum: 0 },
            }),
          },
          message: string,
        }),
      },
    },
  };
}

export function eventSchemaJson(): string {
  return `${JSON.stringify(buildEventSchema(), null, 2)}\n`;
}
