// schemas/event.schema.json is generated (src/events/schema-build.ts) from the
// definitions that make the events: the committed file must be exactly what
// the builder gives, and each kind's target schema must be the one the
// violation schema applies to that kind.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMA_PATH } from '../../../src/events/schema.ts';
import { buildEventSchema, eventSchemaJson } from '../../../src/events/schema-build.ts';
import { KINDS } from '../../../src/kinds/index.ts';

describe('schemas/event.schema.json', () => {
  it('is the schema the builder makes (regenerate with the command in src/events/schema-build.ts)', () => {
    expect(readFileSync(EVENT_SCHEMA_PATH, 'utf8')).toBe(eventSchemaJson());
  });

  it("applies each kind's target schema to events of that kind, and knows every kind", () => {
    const schema = buildEventSchema() as {
      $defs: {
        violation: { allOf: { if?: unknown; then?: { properties: { target: unknown } } }[] };
      } & Record<string, unknown>;
    };
    const branches = schema.$defs.violation.allOf.filter((b) => b.if !== undefined);
    expect(branches.map((b) => b.if)).toEqual(
      KINDS.map((k) => ({ properties: { kind: { const: k.name } } })),
    );
    expect(branches.map((b) => b.then?.properties.target)).toEqual(KINDS.map((k) => k.target));
    for (const k of KINDS) {
      for (const [name, def] of Object.entries(k.targetDefs ?? {})) expect(schema.$defs[name]).toEqual(def);
    }
  });
});
