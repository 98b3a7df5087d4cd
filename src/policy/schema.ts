// Structural validation: the JSON Schema precompiled at build time
// (./schema-validator.generated.ts, ajv standalone code, all errors), and
// every ajv error turned into a located Diagnostic with a stable code.

import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { Diagnostic } from '../errors.ts';
import { KINDS } from '../kinds/index.ts';
import type { SchemaDef } from '../kinds/kind.ts';
import type { DiagnosticCode } from './codes.ts';
import { excerpt } from './guard.ts';
import { kindSchemaDefs, NAME_PATTERN } from './schema-build.ts';
import precompiled from './schema-validator.generated.ts';
import { closest, describePath } from './text.ts';
import { pointerSegments, type YamlDocument } from './yaml-positions.ts';

/** buildPolicySchema() compiled by `npm run generate` (a unit test keeps the two identical) */
const validate = precompiled as unknown as ValidateFunction;

const PATTERN_HINTS: Record<string, string> = Object.assign(
  { [NAME_PATTERN]: 'lowercase letters, digits and -, starting and ending with a letter or digit' },
  ...KINDS.map((k) => k.patternHints ?? {}),
);

/** The kinds' $defs, whose errors have codes and messages of their own (UNKNOWN_CAPABILITY...). */
const KIND_DEFS: ReadonlyMap<string, SchemaDef> = kindSchemaDefs();

/** The kind definition an error comes from, if any. */
function defOf(e: ErrorObject): SchemaDef | undefined {
  const name = /^#\/\$defs\/([A-Za-z]+)\//.exec(e.schemaPath)?.[1];
  return name === undefined ? undefined : KIND_DEFS.get(name);
}

const TYPE_NAMES: Record<string, string> = {
  array: 'a list',
  object: 'a mapping',
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
};

function typeName(t: unknown): string {
  const names = (Array.isArray(t) ? t : String(t).split(',')).map((x) => TYPE_NAMES[x] ?? x);
  return names.join(' or ');
}

function show(v: unknown): string {
  if (typeof v === 'string') return excerpt(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

function codeFor(e: ErrorObject, path: string): DiagnosticCode {
  switch (e.keyword) {
    case 'additionalProperties':
      return 'UNKNOWN_KEY';
    case 'required':
      return 'MISSING_FIELD';
    case 'type':
      return 'INVALID_TYPE';
  }
  if (path === '/apiVersion') return 'INVALID_API_VERSION';
  if (path === '/kind') return 'INVALID_KIND';
  return defOf(e)?.code ?? 'INVALID_VALUE';
}

function messageFor(e: ErrorObject, where: string): string {
  const parent = e.parentSchema as { title?: string; properties?: Record<string, unknown> } | undefined;
  const within = parent?.title ? ` in ${parent.title}` : '';
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const known = Object.keys(parent?.properties ?? {});
      const guess = closest(key, known);
      const expected =
        known.length > 0 ? `; expected one of: ${known.join(', ')}` : '; no keys are allowed here';
      return `unknown key ${excerpt(key)}${within}${guess ? ` (did you mean '${guess}'?)` : expected}`;
    }
    case 'required':
      return `missing required key '${e.params.missingProperty}'${within}${where ? ` at ${where}` : ''}`;
    case 'type':
      return `${where || 'the document'} must be ${typeName(e.params.type)}, not ${show(e.data)}`;
    case 'const':
      return `${where} must be '${e.params.allowedValue}', not ${show(e.data)}`;
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      const names = defOf(e)?.unknown;
      if (names) {
        const guess = names.suggest(String(e.data));
        return `${where}: unknown ${names.what} ${show(e.data)}${guess ? ` (write it as '${guess}')` : ''}`;
      }
      const guess = typeof e.data === 'string' ? closest(e.data, allowed) : null;
      return `${where}: ${show(e.data)} is not one of ${allowed.join(', ')}${guess ? ` (did you mean '${guess}'?)` : ''}`;
    }
    case 'pattern': {
      const not = defOf(e)?.patternMessage;
      if (not) return `${where}: ${show(e.data)} ${not}`;
      const hint = PATTERN_HINTS[String(e.params.pattern)] ?? `text matching ${e.params.pattern}`;
      return `${where}: ${show(e.data)} must be ${hint}`;
    }
    case 'minimum':
    case 'maximum':
      return `${where}: ${show(e.data)} must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${e.params.limit}`;
    case 'maxLength':
      return `${where} must be at most ${e.params.limit} characters`;
    case 'minItems':
      return `${where} must have at least ${e.params.limit} item(s)`;
    default:
      return `${where}: ${e.message ?? 'invalid'}`;
  }
}

/** Validate one document's value against the schema; `errorPaths` collects the JSON pointers that failed. */
export function checkSchema(doc: YamlDocument, errorPaths: string[]): Diagnostic[] {
  if (validate(doc.value)) return [];
  const out: Diagnostic[] = [];
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'if') continue;
    const segments = pointerSegments(e.instancePath);
    const code = codeFor(e, e.instancePath);
    let pos = doc.locate(segments, 'value');
    let where = describePath(segments);
    if (e.keyword === 'additionalProperties') {
      const key = String(e.params.additionalProperty);
      pos = doc.locate([...segments, key], 'key');
      where = describePath([...segments, key]);
      errorPaths.push(`${e.instancePath}/${key}`);
    } else {
      // a missing key leaves its siblings intact: mark only the missing key as bad
      if (e.keyword === 'required') {
        pos = doc.locate(segments, 'key');
        errorPaths.push(`${e.instancePath}/${e.params.missingProperty}`);
      } else errorPaths.push(e.instancePath);
    }
    out.push({ code, message: messageFor(e, where), severity: 'error', pos });
  }
  return out;
}
