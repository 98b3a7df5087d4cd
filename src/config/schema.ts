// The configuration file's JSON Schema (2020-12), generated from the
// registry. ajv validates files and flag/environment fragments against it
// (./file.ts); schemas/config.schema.json is the same document for editors,
// kept identical by a test and written by `npm run generate`.
import { defaultText, key, type Section, type Setting } from './registry.ts';
import { SECTIONS, SETTINGS } from './settings.ts';

export const CONFIG_SCHEMA_ID = 'https://bpfgate.dev/schemas/config/1/config.schema.json';

type Schema = Record<string, unknown>;

function describe(text: string | undefined, s?: Setting): string | undefined {
  const d = s ? defaultText(s) : null;
  if (text === undefined) return undefined;
  return d === null ? text : `${text}. Default: ${d}`;
}

/** { [name]: value } when the value is set, else nothing. */
const opt = (name: string, value: unknown): Schema => (value !== undefined ? { [name]: value } : {});

function valueSchema(s: Setting): Schema {
  const t = s.type;
  const nullable = (type: string): string | string[] => (s.nullable ? [type, 'null'] : type);
  switch (t.kind) {
    case 'string':
      return { type: nullable('string'), ...opt('minLength', t.minLength), ...opt('pattern', t.pattern) };
    case 'boolean':
      return { type: nullable('boolean') };
    case 'integer':
      return { type: nullable('integer'), ...opt('minimum', t.min), ...opt('maximum', t.max) };
    case 'enum':
      return { enum: s.nullable ? [...t.values, null] : [...t.values] };
    case 'list': {
      const items = { type: 'string', ...opt('minLength', t.minLength), ...opt('pattern', t.pattern) };
      return { type: 'array', minItems: 1, items };
    }
    case 'map':
      return {
        type: 'object',
        propertyNames: { pattern: t.keyPattern },
        additionalProperties: { type: 'string', pattern: t.valuePattern },
      };
    case 'ref':
      return { $ref: `#/${t.ref.map((p) => `properties/${p}`).join('/')}` };
  }
}

function objectSchema(title: string | undefined, section: Section | undefined): Schema {
  return {
    ...opt('title', title),
    ...opt('description', section?.description),
    type: 'object',
    additionalProperties: false,
    properties: {},
  };
}

/** The schema of the configuration file. */
export function configSchema(
  settings: readonly Setting[] = SETTINGS,
  sections: readonly Section[] = SECTIONS,
): Schema {
  const root: Schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: CONFIG_SCHEMA_ID,
    ...objectSchema('bpfgate daemon configuration', {
      path: [],
      description:
        'The file read by `bpfgate run --config FILE` (default /etc/bpfgate/config.yaml). Command-line flags override environment variables (BPFGATE_*), which override this file, which overrides the defaults. Relative paths are resolved against the folder of this file.',
    }),
  };
  const sectionAt = (path: readonly string[]): Schema => {
    let node = root;
    for (let i = 0; i < path.length; i++) {
      const props = node.properties as Record<string, Schema>;
      const name = path[i]!;
      if (!props[name]) {
        const at = path.slice(0, i + 1);
        const section = sections.find((x) => key(x.path) === key(at));
        if (!section) throw new Error(`config registry: no section declared for ${key(at)}`);
        props[name] = objectSchema(key(at), section);
      }
      node = props[name]!;
    }
    return node;
  };
  for (const s of settings) {
    const parent = sectionAt(s.path.slice(0, -1));
    const name = s.path.at(-1)!;
    const description = describe(s.description, s);
    (parent.properties as Record<string, Schema>)[name] = {
      ...opt('description', description),
      ...valueSchema(s),
    };
  }
  return root;
}

/** The schema as the text of schemas/config.schema.json. */
export function configSchemaText(): string {
  return `${JSON.stringify(configSchema(), null, 2)}\n`;
}
