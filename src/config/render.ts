// Text derived from the registry: the TypeScript type of the configuration
// file (./input.ts), `bpfgate run --help`, and the settings table in
// docs/operations.md. Pure: ./generate.ts writes the files.
import { defaultText, key, type Setting } from './registry.ts';
import { DEFAULT_CONFIG_FILE, SECTIONS, SETTINGS } from './settings.ts';

function tsValue(s: Setting): string {
  const t = s.type;
  const base = (() => {
    switch (t.kind) {
      case 'string':
        return 'string';
      case 'boolean':
        return 'boolean';
      case 'integer':
        return 'number';
      case 'enum':
        return t.values.map((v) => `'${v}'`).join(' | ');
      case 'list':
        return 'string[]';
      case 'map':
        return 'Record<string, string>';
      case 'ref':
        return t.ref.reduce((type, p) => `NonNullable<${type}['${p}']>`, 'ConfigInput');
    }
  })();
  return s.nullable ? `${base} | null` : base;
}

interface Node {
  setting?: Setting;
  children: Map<string, Node>;
}

/** The TypeScript type of the configuration file, as the text of src/config/input.ts. */
export function inputTypeText(settings: readonly Setting[] = SETTINGS): string {
  const root: Node = { children: new Map() };
  for (const s of settings) {
    let node = root;
    for (const p of s.path) {
      let next = node.children.get(p);
      if (!next) {
        next = { children: new Map() };
        node.children.set(p, next);
      }
      node = next;
    }
    node.setting = s;
  }
  const lines: string[] = [];
  const emit = (node: Node, depth: number, path: string[]): void => {
    const pad = '  '.repeat(depth);
    for (const [name, child] of node.children) {
      const at = [...path, name];
      const doc = child.setting?.description ?? SECTIONS.find((x) => key(x.path) === key(at))?.description;
      if (doc) lines.push(`${pad}/** ${doc.replaceAll('*/', '* /')} */`);
      if (child.setting) {
        lines.push(`${pad}${name}?: ${tsValue(child.setting)};`);
      } else {
        lines.push(`${pad}${name}?: {`);
        emit(child, depth + 1, at);
        lines.push(`${pad}};`);
      }
    }
  };
  emit(root, 1, []);
  return `// Generated from src/config/settings.ts by \`npm run generate\`; do not edit.
// The configuration file's shape (schemas/config.schema.json): every key optional.

export interface ConfigInput {
${lines.join('\n')}
}
`;
}

/** `bpfgate run --help`. */
export function runHelpText(settings: readonly Setting[] = SETTINGS): string {
  const row = (left: string, help: string) => `  ${left.padEnd(30)} ${help}`;
  const rows = settings.flatMap((s) =>
    (s.inputs ?? [])
      .filter((i) => i.flag !== null)
      .map((i) => row(`--${i.flag}${i.arg ? ` ${i.arg}` : ''}`, `${i.help}${i.env ? ` [${i.env}]` : ''}`)),
  );
  return `usage: bpfgate run [--config FILE] [options]

${row('--config FILE', `configuration file (default ${DEFAULT_CONFIG_FILE} if it exists) [BPFGATE_CONFIG]`)}
${rows.join('\n')}

Precedence: flags > BPFGATE_* environment variables > the config file > defaults.
`;
}

export const DOCS_TABLE_BEGIN =
  '<!-- settings table: generated from src/config/settings.ts by `npm run generate` -->';
export const DOCS_TABLE_END = '<!-- end of the settings table -->';

const cell = (s: string): string => s.replaceAll('|', '\\|');

/** The settings table of docs/operations.md (between its markers). */
export function docsTable(settings: readonly Setting[] = SETTINGS): string {
  const rows = settings.map((s) => {
    const inputs = s.inputs ?? [];
    const flags = inputs
      .filter((i) => i.flag !== null)
      .map((i) => `\`--${i.flag}${i.arg ? ` ${i.arg}` : ''}\`${i.kind === 'list' ? ' (repeatable)' : ''}`);
    const envs = inputs
      .filter((i) => i.env !== null)
      .map((i) => `\`${i.env}\`${i.kind === 'list' ? ' (comma-separated)' : ''}`);
    const d = defaultText(s);
    return `| \`${key(s.path)}\` | ${cell(flags.join(', '))} | ${envs.join(', ')} | ${d === null ? '' : cell(`\`${d}\``)} | ${cell(s.description)} |`;
  });
  return [
    DOCS_TABLE_BEGIN,
    '',
    '| file key | flag | environment | default | meaning |',
    '| --- | --- | --- | --- | --- |',
    `| (the file itself) | \`--config FILE\` | \`BPFGATE_CONFIG\` | \`${DEFAULT_CONFIG_FILE}\` if it exists | the configuration file |`,
    ...rows,
    '',
    DOCS_TABLE_END,
  ].join('\n');
}

/** `text` with the part between the table's markers replaced by the generated table. */
export function withDocsTable(text: string): string {
  const begin = text.indexOf(DOCS_TABLE_BEGIN);
  const end = text.indexOf(DOCS_TABLE_END);
  if (begin < 0 || end < begin) throw new Error('docs/operations.md: the settings table markers are missing');
  return text.slice(0, begin) + docsTable() + text.slice(end + DOCS_TABLE_END.length);
}
