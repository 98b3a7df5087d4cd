// JSON Schema (2020-12) building blocks for the kinds' match and target
// schemas, and for the schema builders that assemble them
// (src/policy/schema-build.ts, src/events/schema-build.ts). Pure.

/** A JSON object: a schema, or a part of an event. */
export type Json = Record<string, unknown>;

export const list = (items: Json, description: string): Json => ({ type: 'array', description, items });
export const oneOfNames = (values: readonly string[], description: string): Json =>
  list({ enum: [...values] }, description);
export const str = (description: string): Json => ({ type: 'string', description });
export const ref = (name: string, description?: string): Json =>
  description ? { $ref: `#/$defs/${name}`, description } : { $ref: `#/$defs/${name}` };

/** A closed mapping of the policy language: every key named, no other allowed. */
export const obj = (title: string, description: string, properties: Json, required: string[] = []): Json => ({
  type: 'object',
  title,
  description,
  additionalProperties: false,
  ...(required.length > 0 ? { required } : {}),
  properties,
});

/** A closed object of an event: every key named, no other allowed. */
export const record = (required: string[], properties: Json): Json => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});

export const string: Json = { type: 'string' };
/** An unsigned 32-bit number as events carry it. */
export const u32: Json = { type: 'integer', minimum: 0, maximum: 4294967295 };
/** One of `values`, or `unknown` when the record held something else. */
export const namesOrUnknown = (values: readonly string[]): Json => ({ enum: [...values, 'unknown'] });
