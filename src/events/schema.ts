// The event schema (schemas/event.schema.json), compiled once with ajv.
import { readFileSync } from 'node:fs';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

export const EVENT_SCHEMA_PATH = new URL('../../schemas/event.schema.json', import.meta.url);

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(EVENT_SCHEMA_PATH, 'utf8')) as object;
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
    const addFormats = addFormatsModule as unknown as (a: Ajv2020) => void;
    addFormats(ajv);
    compiled = ajv.compile(schema);
  }
  return compiled;
}

/** Problems of a value against the event schema, each "instancePath: message"; empty when valid. */
export function eventSchemaErrors(value: unknown): string[] {
  const v = validator();
  if (v(value)) return [];
  return (v.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`);
}
