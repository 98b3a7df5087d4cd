// Builds the JSON Schema (2020-12) of the policy language from the model's
// constants, so the enums cannot drift from model.ts and names.ts. The same
// object is committed as schemas/policy.schema.json for editors; a unit test
// keeps the two identical. Regenerate the file with:
//   node -e "import('./src/policy/schema-build.ts').then(m => process.stdout.write(m.policySchemaJson()))" > schemas/policy.schema.json

import { BPF_COMMAND, CAPABILITY } from '../abi/numbers.ts';
import { MAX_DEVICE_MAJOR, MAX_DEVICE_MINOR, MAX_NAME_LENGTH } from './limits.ts';
import {
  ACTIONS,
  DEVICE_ACCESS,
  FILE_OPERATIONS,
  MODES,
  MOUNT_OPERATIONS,
  PROTOCOLS,
  PTRACE_MODES,
  RULE_KINDS,
  SEVERITIES,
  SOCKET_FAMILIES,
  SOCKET_TYPES,
  SYSCTL_ACCESS,
} from './model.ts';

export const SCHEMA_ID = 'https://bpfgate.dev/schemas/policy.schema.json';
export const API_VERSION = 'bpfgate.dev/v1';
export const NAME_PATTERN = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$';
export const FS_TYPE_PATTERN = '^[a-z0-9][a-z0-9._+-]*$';
export const KPROBE_PATTERN = '^[A-Za-z_][A-Za-z0-9_.]*$';
export const PORT_PATTERN = '^[0-9]{1,5}(-[0-9]{1,5})?$';

type Json = Record<string, unknown>;

const list = (items: Json, description: string): Json => ({ type: 'array', description, items });
const oneOfNames = (values: readonly string[], description: string): Json =>
  list({ enum: [...values] }, description);
const str = (description: string): Json => ({ type: 'string', description });
const ref = (name: string, description?: string): Json =>
  description ? { $ref: `#/$defs/${name}`, description } : { $ref: `#/$defs/${name}` };
const obj = (title: string, description: string, properties: Json, required: string[] = []): Json => ({
  type: 'object',
  title,
  description,
  additionalProperties: false,
  ...(required.length > 0 ? { required } : {}),
  properties,
});

function matchDefs(): Json {
  const paths = list(ref('path'), 'Absolute paths, matched exactly. No wildcards.');
  const directories = list(
    ref('directory'),
    'Absolute directories; everything below them matches. A missing trailing / is added.',
  );
  const net = (kind: string): Json =>
    obj(
      `${kind} match`,
      `Which ${kind === 'connect' ? 'outgoing connections' : 'binds'} the rule matches. Omitted lists mean any.`,
      {
        addresses: list(
          ref('cidr'),
          'CIDRs (10.0.0.0/8, fd00::/8, 169.254.169.254/32). Omitted: any address.',
        ),
        ports: list(ref('port'), 'Ports (443) or inclusive ranges ("1000-2000"). Omitted: any port.'),
        protocols: oneOfNames(PROTOCOLS, 'Transport protocols. Omitted: any.'),
      },
    );
  return {
    execMatch: obj('exec match', 'Which program executions the rule matches (paths and/or directories).', {
      paths,
      directories,
    }),
    fileMatch: obj('file match', 'Which file accesses the rule matches (paths and/or directories).', {
      paths,
      directories,
      operations: oneOfNames(FILE_OPERATIONS, 'File operations. Omitted: every operation.'),
    }),
    capabilityMatch: obj(
      'capability match',
      'Which capability checks the rule matches.',
      { capabilities: list(ref('capability'), 'Capability names, e.g. CAP_SYS_ADMIN.') },
      ['capabilities'],
    ),
    moduleMatch: obj(
      'module match',
      'Kernel module loading has nothing to select: leave match empty or omit it.',
      {},
    ),
    bpfMatch: obj('bpf match', 'Which bpf() commands the rule matches.', {
      commands: list(ref('bpfCommand'), 'bpf() commands, e.g. BPF_PROG_LOAD. Omitted: every command.'),
    }),
    ptraceMatch: obj('ptrace match', 'Which ptrace accesses to another process the rule matches.', {
      modes: oneOfNames(
        PTRACE_MODES,
        'attach (PTRACE_ATTACH/SEIZE) and read (/proc/<pid>/mem...). Omitted: both.',
      ),
    }),
    mountMatch: obj('mount match', 'Which mount operations the rule matches.', {
      operations: oneOfNames(MOUNT_OPERATIONS, 'Mount operations. Omitted: all three.'),
      fsTypes: list(
        {
          type: 'string',
          pattern: FS_TYPE_PATTERN,
          description: 'A filesystem type as in /proc/filesystems.',
        },
        'Filesystem types (proc, overlay, ext4...). Omitted: any type.',
      ),
    }),
    setuidMatch: obj(
      'setuid match',
      'Which user id changes the rule matches.',
      {
        to: { enum: ['root', 'any'], description: 'root: a change to uid 0; any: every change of user id.' },
      },
      ['to'],
    ),
    socketMatch: obj('socket match', 'Which socket creations the rule matches. Omitted lists mean any.', {
      families: oneOfNames(SOCKET_FAMILIES, 'Address families. Omitted: any.'),
      types: oneOfNames(SOCKET_TYPES, 'Socket types. Omitted: any.'),
    }),
    connectMatch: net('connect'),
    bindMatch: net('bind'),
    deviceMatch: obj(
      'device match',
      'Which device node accesses the rule matches.',
      {
        devices: list(ref('device'), 'Device selectors.'),
        access: oneOfNames(DEVICE_ACCESS, 'Kinds of access. Omitted: all three.'),
      },
      ['devices'],
    ),
    sysctlMatch: obj('sysctl match', 'Which sysctl accesses the rule matches (names and/or prefixes).', {
      names: list(ref('sysctlName'), 'Exact sysctl names, dotted: kernel.core_pattern.'),
      prefixes: list(ref('sysctlName'), 'Dotted prefixes: net.ipv4. matches every name below it.'),
      access: oneOfNames(SYSCTL_ACCESS, 'Kinds of access. Omitted: read and write.'),
    }),
    kprobeMatch: obj(
      'kprobe match',
      'A kernel function whose calls are reported (audit only).',
      {
        function: {
          type: 'string',
          pattern: KPROBE_PATTERN,
          description: 'Kernel function name, e.g. commit_creds.',
        },
      },
      ['function'],
    ),
  };
}

function ruleDef(): Json {
  const byKind = RULE_KINDS.map((kind) => ({
    if: { properties: { kind: { const: kind } }, required: ['kind'] },
    // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword
    then: {
      properties: { match: ref(`${kind}Match`) },
      ...(kind === 'module' ? {} : { required: ['match'] }),
    },
  }));
  return {
    ...obj(
      'rule',
      'One rule: what to match (kind + match) and what to do (action).',
      {
        id: {
          type: 'string',
          pattern: NAME_PATTERN,
          maxLength: MAX_NAME_LENGTH,
          description: 'Unique within the policy: lowercase letters, digits and -.',
        },
        kind: {
          enum: [...RULE_KINDS],
          description: 'The kind of action the rule matches; decides the shape of match.',
        },
        action: {
          enum: [...ACTIONS],
          description:
            'block: deny; kill: SIGKILL the process; audit: report only; allow: exec, file, connect, bind only.',
        },
        severity: {
          enum: [...SEVERITIES],
          description: "Severity of the rule's events. Default: the policy's.",
        },
        message: str('Text of the violation event. Default: the description.'),
        description: str('What the rule is for.'),
        tags: list({ type: 'string' }, "Tags added to the policy's tags on this rule's events."),
        match: { type: 'object', description: 'What the rule matches; its keys depend on kind.' },
        unless: ref('exceptions', 'Processes this rule never applies to.'),
      },
      ['id', 'kind', 'action'],
    ),
    allOf: byKind,
  };
}

export function buildPolicySchema(): Json {
  const paths = (description: string): Json => list(ref('path'), description);
  const cgroups = (description: string): Json => list(ref('cgroup'), description);
  const uids = (description: string): Json => list(ref('uid'), description);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_ID,
    ...obj(
      'policy',
      'A bpfgate security policy.',
      {
        apiVersion: { const: API_VERSION, description: `Always ${API_VERSION}.` },
        kind: { const: 'Policy', description: 'Always Policy.' },
        metadata: obj(
          'metadata',
          'Name and classification of the policy.',
          {
            name: {
              type: 'string',
              pattern: NAME_PATTERN,
              maxLength: MAX_NAME_LENGTH,
              description: 'Unique in the set: lowercase letters, digits and -.',
            },
            description: str('What the policy protects against.'),
            severity: {
              enum: [...SEVERITIES],
              description: 'Default severity of its rules. Default: medium.',
            },
            tags: list({ type: 'string' }, 'MITRE ATT&CK technique ids (T1059) and free-form labels.'),
            labels: {
              type: 'object',
              title: 'labels',
              description: 'Free-form key/value labels, copied to events.',
              propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]*$' },
              additionalProperties: { type: 'string' },
            },
          },
          ['name'],
        ),
        spec: obj(
          'spec',
          'What the policy enforces, and where.',
          {
            mode: {
              enum: [...MODES],
              description: 'enforce: act; audit: report what would be done. Default: enforce.',
            },
            defaultAction: {
              enum: ['allow', 'block'],
              description:
                'block: exec, file, connect and bind kinds with allow rules become allowlists. Default: allow.',
            },
            scope: ref('scope', 'Which processes the policy covers. Default: every process.'),
            rules: { type: 'array', minItems: 1, description: 'The rules.', items: ref('rule') },
          },
          ['rules'],
        ),
      },
      ['apiVersion', 'kind', 'metadata', 'spec'],
    ),
    $defs: {
      path: { type: 'string', description: 'An absolute path.' },
      directory: { type: 'string', description: 'An absolute directory path, ending in /.' },
      cgroup: {
        type: 'string',
        description:
          'A cgroup v2 path from the cgroup2 root; * matches within one component, a final /** a subtree.',
      },
      uid: { type: 'integer', minimum: 0, maximum: 4294967294, description: 'A user id.' },
      cidr: { type: 'string', description: 'An IPv4 or IPv6 CIDR.' },
      port: {
        type: ['integer', 'string'],
        minimum: 1,
        maximum: 65535,
        pattern: PORT_PATTERN,
        description: 'A port 1-65535, or an inclusive range "low-high".',
      },
      capability: { enum: [...CAPABILITY.names], description: 'A Linux capability.' },
      bpfCommand: { enum: [...BPF_COMMAND.names], description: 'A bpf() command.' },
      sysctlName: { type: 'string', description: 'A dotted sysctl name.' },
      device: obj(
        'device',
        'A device node selector.',
        {
          type: { enum: ['char', 'block'], description: 'Character or block device.' },
          major: {
            type: ['integer', 'string'],
            minimum: 0,
            maximum: MAX_DEVICE_MAJOR,
            pattern: '^\\*$',
            description: 'Major number, or "*" for any. Default: "*".',
          },
          minor: {
            type: ['integer', 'string'],
            minimum: 0,
            maximum: MAX_DEVICE_MINOR,
            pattern: '^\\*$',
            description: 'Minor number, or "*" for any. Default: "*".',
          },
        },
        ['type'],
      ),
      scope: obj('scope', 'Which processes a policy covers. An omitted or empty list means no restriction.', {
        cgroups: cgroups('cgroup v2 selectors: /system.slice/*.service, /kubepods/**.'),
        executables: paths('Acting executables, exact absolute paths.'),
        uids: uids('User ids.'),
        processes: {
          enum: ['all', 'host', 'containers'],
          description: "host: the host's pid namespace; containers: any other; all: both. Default: all.",
        },
      }),
      exceptions: obj('unless', 'Processes a rule never applies to: any one of these exempts a process.', {
        executables: paths('Exempt executables, exact absolute paths.'),
        uids: uids('Exempt user ids.'),
        cgroups: cgroups('Exempt cgroups (same selectors as scope.cgroups).'),
      }),
      rule: ruleDef(),
      ...matchDefs(),
    },
  };
}

export function policySchemaJson(): string {
  return `${JSON.stringify(buildPolicySchema(), null, 2)}\n`;
}
