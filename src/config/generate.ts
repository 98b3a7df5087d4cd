// Writes the files derived from the configuration registry:
// schemas/config.schema.json, src/config/input.ts and the settings table in
// docs/operations.md; and the precompiled validators of the configuration and
// policy schemas (./standalone.ts). `node src/config/generate.ts --check` writes nothing and
// exits 1 when a file differs from what the registry generates.
import { readFileSync, writeFileSync } from 'node:fs';
import { inputTypeText, withDocsTable } from './render.ts';
import { configSchemaText } from './schema.ts';
import { configValidatorText, policyValidatorText } from './standalone.ts';

const root = new URL('../../', import.meta.url);

/** Each generated file: its path in the repository and its text as the registry says. */
export function generatedFiles(): { path: string; text: (current: string) => string }[] {
  return [
    { path: 'schemas/config.schema.json', text: () => configSchemaText() },
    { path: 'src/config/input.ts', text: () => inputTypeText() },
    { path: 'docs/operations.md', text: (current) => withDocsTable(current) },
    { path: 'src/config/schema-validator.generated.ts', text: () => configValidatorText() },
    { path: 'src/policy/schema-validator.generated.ts', text: () => policyValidatorText() },
  ];
}

function main(check: boolean): number {
  let stale = 0;
  for (const f of generatedFiles()) {
    const url = new URL(f.path, root);
    let current = '';
    try {
      current = readFileSync(url, 'utf8');
    } catch {}
    const want = f.text(current);
    if (want === current) continue;
    stale++;
    if (check) process.stderr.write(`${f.path} differs from the configuration registry\n`);
    else {
      writeFileSync(url, want);
      process.stdout.write(`wrote ${f.path}\n`);
    }
  }
  return check && stale > 0 ? 1 : 0;
}

if (import.meta.main) process.exitCode = main(process.argv.includes('--check'));
