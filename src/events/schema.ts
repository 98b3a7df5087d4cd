// The event schema, compiled once with ajv: the object src/events/schema-build.ts
// builds, which is also committed as schemas/event.schema.json (a unit test
// keeps the two identical).
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { buildEventSchema } from './schema-build.ts';

/** The committed copy, for SIEMs and editors. */
export const EVENT_SCHEMA_PATH = new URL('../../schemas/event.schema.json', import.meta.url);

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
    const addFormats = addFormatsModule as unknown as (a: Ajv2020) => void;
    addFormats(ajv);
    compiled = ajv.compile(buildEventSchema());
  }
  return compiled;
}

/** Problems of a value against the event schema, each "instancePath: message"; empty when valid. */
export function eventSchemaErrors(value: unknown): string[] {
  const v = validator();
  if (v(value)) return [];
  return (v.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`);
}
