// The configuration file: YAML with positions (the policy layer's parser),
// checked against the schema the registry generates (./schema.ts; ajv,
// precompiled at build time in ./schema-validator.generated.ts, all errors), every problem a Diagnostic located as
// file:line:column. Pure: the caller reads the file.

import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { Diagnostic } from '../errors.ts';
import { checkServers, SERVER_URL_PATTERN } from '../nats/options.ts';
import { closest, describePath } from '../policy/text.ts';
import { parseYaml, pointerSegments, type YamlDocument } from '../policy/yaml-positions.ts';
import type { ConfigInput } from './input.ts';
import precompiled from './schema-validator.generated.ts';

/** configSchema() compiled by `npm run generate` (a unit test keeps the two identical) */
const validate = precompiled as unknown as ValidateFunction;

function shown(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v === 'string' ? `'${v}'` : String(v);
}

/** One ajv error as a located diagnostic. */
function diagnosticOf(e: ErrorObject, doc: YamlDocument): Diagnostic {
  const at = pointerSegments(e.instancePath);
  const where = describePath(at) || 'the configuration';
  const parent = e.parentSchema as { properties?: Record<string, unknown> } | undefined;
  const pos = doc.locate(at, 'value');
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const known = Object.keys(parent?.properties ?? {});
      const guess = closest(key, known);
      const hint = guess ? `did you mean '${guess}'?` : `expected one of: ${known.join(', ')}`;
      return {
        code: 'UNKNOWN_KEY',
        message: `unknown key '${describePath([...at, key])}' (${hint})`,
        severity: 'error',
        pos: doc.locate([...at, key], 'key'),
      };
    }
    case 'type':
      return {
        code: 'INVALID_TYPE',
        message: `${where} must be ${String(e.params.type).split(',').join(' or ')}, not ${shown(data(doc, at))}`,
        severity: 'error',
        pos,
      };
    case 'enum':
      return {
        code: 'INVALID_VALUE',
        message: `${where}: ${shown(data(doc, at))} is not one of ${(e.params.allowedValues as unknown[]).join(', ')}`,
        severity: 'error',
        pos,
      };
    case 'pattern': {
      // a server URL with user:password@ is named without its credentials
      const v = data(doc, at);
      const servers = e.params.pattern === SERVER_URL_PATTERN ? checkServers([v]) : [];
      return {
        code: 'INVALID_VALUE',
        message: servers[0] ? `${where}: ${servers[0]}` : `${where} ${e.message ?? 'is invalid'}`,
        severity: 'error',
        pos,
      };
    }
    default:
      return {
        code: 'INVALID_VALUE',
        message: `${where} ${e.message ?? 'is invalid'}`,
        severity: 'error',
        pos,
      };
  }
}

function data(doc: YamlDocument, at: string[]): unknown {
  let v: unknown = doc.value;
  for (const s of at) v = (v as Record<string, unknown> | null)?.[s];
  return v;
}

export interface ConfigFileResult {
  /** null when any diagnostic is an error */
  input: ConfigInput | null;
  diagnostics: Diagnostic[];
}

/** Parse and check a configuration file's text. An empty file is an empty configuration. */
export function parseConfigText(file: string, text: string): ConfigFileResult {
  const parsed = parseYaml(file, text);
  const diagnostics = [...parsed.diagnostics];
  if (diagnostics.length > 0) return { input: null, diagnostics };
  if (parsed.documents.length > 1) {
    const second = parsed.documents[1]!;
    diagnostics.push({
      code: 'MULTIPLE_DOCUMENTS',
      message: 'a configuration file holds one YAML document',
      severity: 'error',
      pos: second.locate([], 'value'),
    });
    return { input: null, diagnostics };
  }
  const doc = parsed.documents[0];
  if (!doc || doc.value === null || doc.value === undefined) return { input: {}, diagnostics };
  if (!validate(doc.value)) {
    for (const e of validate.errors ?? []) diagnostics.push(diagnosticOf(e, doc));
    diagnostics.sort((a, b) => a.pos.line - b.pos.line || a.pos.column - b.pos.column);
    return { input: null, diagnostics };
  }
  return { input: doc.value as ConfigInput, diagnostics };
}

/**
 * Check a fragment that did not come from a file (an environment variable, a
 * flag) against the same schema; problems are named after `source`.
 */
export function checkFragment(source: string, fragment: ConfigInput): string[] {
  if (validate(fragment)) return [];
  const doc: YamlDocument = {
    file: source,
    index: 0,
    value: fragment,
    locate: () => ({ file: source, line: 0, column: 0 }),
  };
  return (validate.errors ?? []).map((e) => `${source}: ${diagnosticOf(e, doc).message}`);
}
