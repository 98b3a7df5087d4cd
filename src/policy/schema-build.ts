// Builds the JSON Schema (2020-12) of the policy language from the language's
// constants and each rule kind's match schema (src/kinds/), so the schema
// cannot drift from the validator. The same object is committed as
// schemas/policy.schema.json for editors; a unit test keeps the two
// identical. Regenerate the file with:
//   node -e "import('./src/policy/schema-build.ts').then(m => process.stdout.write(m.policySchemaJson()))" > schemas/policy.schema.json
import { KINDS, RULE_KINDS } from '../kinds/index.ts';
import type { Json, SchemaDef } from '../kinds/kind.ts';
import { list, obj, ref, str } from '../kinds/schema.ts';
import { SHA256_PATTERN } from '../kinds/uprobe.ts';
import { MAX_NAME_LENGTH } from './limits.ts';
import { ACTIONS, MODES, SEVERITIES } from './vocabulary.ts';

export const SCHEMA_ID = 'https://bpfgate.dev/schemas/policy.schema.json';
export const API_VERSION = 'bpfgate.dev/v1';
export const NAME_PATTERN = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$';

/** The definitions the kinds' match schemas refer to, by name (a name two kinds share is one definition). */
export function kindSchemaDefs(): Map<string, SchemaDef> {
  const defs = new Map<string, SchemaDef>();
  for (const k of KINDS) {
    for (const [name, def] of Object.entries(k.schemaDefs ?? {})) {
      const seen = defs.get(name);
      if (seen && JSON.stringify(seen.schema) !== JSON.stringify(def.schema)) {
        throw new Error(`two rule kinds define $defs/${name} differently`);
      }
      defs.set(name, def);
    }
  }
  return defs;
}

function ruleDef(): Json {
  const byKind = KINDS.map((k) => ({
    if: { properties: { kind: { const: k.name } }, required: ['kind'] },
    // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword
    then: {
      properties: { match: ref(`${k.name}Match`) },
      ...(k.matchOptional ? {} : { required: ['match'] }),
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
        unresolved: {
          enum: ['deny', 'allow'],
          description:
            'exec and file: a path the programs cannot build (longer than their buffer, deeper than their walk); mount: a bind or move by mount(2), whose source type no hook sees. deny (default): a block or kill rule decides it as a match; allow: this rule never does.',
        },
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
      ...Object.fromEntries([...kindSchemaDefs()].map(([name, def]) => [name, def.schema])),
      scope: obj('scope', 'Which processes a policy covers. An omitted or empty list means no restriction.', {
        cgroups: cgroups('cgroup v2 selectors: /system.slice/*.service, /kubepods/**.'),
        executables: paths('Acting executables, exact absolute paths.'),
        uids: uids(
          "Real user ids: the uid the process runs as, not its effective uid (a set-uid program keeps its caller's).",
        ),
        euids: uids(
          "Effective user ids: the uid a process acts with (a set-uid root program's is 0 while it runs). With uids, a process must match both.",
        ),
        processes: {
          enum: ['all', 'host', 'containers'],
          description: "host: the host's pid namespace; containers: any other; all: both. Default: all.",
        },
      }),
      pinnedExecutable: obj(
        'pinned executable',
        'An exempt executable that is exempt only while its file has one of these contents; without path, any program whose file has one of them (needs BPF-LSM with bpf_ima_file_hash).',
        {
          path: ref(
            'path',
            'The executable, an exact absolute path. Omitted: any file with one of these contents.',
          ),
          sha256: {
            type: 'array',
            minItems: 1,
            description:
              'SHA-256 digests (64 hexadecimal digits) of the contents the file may have: any other content is not exempt.',
            items: { type: 'string', pattern: SHA256_PATTERN },
          },
        },
        ['sha256'],
      ),
      exceptions: obj('unless', 'Processes a rule never applies to: any one of these exempts a process.', {
        executables: list(
          {
            if: { type: 'object' },
            // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword
            then: ref('pinnedExecutable'),
            else: ref('path'),
          },
          'Exempt executables: exact absolute paths; { path, sha256: [digest, ...] } to exempt the file only while it has one of those contents; { sha256: [digest, ...] } for any program whose file has one of them.',
        ),
        uids: uids('Exempt real user ids.'),
        euids: uids(
          'Exempt effective user ids: the uid a process acts with (a set-uid root program is exempt under 0 while it runs).',
        ),
        cgroups: cgroups('Exempt cgroups (same selectors as scope.cgroups).'),
      }),
      rule: ruleDef(),
      ...Object.fromEntries(KINDS.map((k) => [`${k.name}Match`, k.match])),
    },
  };
}

export function policySchemaJson(): string {
  return `${JSON.stringify(buildPolicySchema(), null, 2)}\n`;
}
