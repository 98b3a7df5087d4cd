// `npm run bench`: runs every benchmark module in turn. A benchmark is a
// module in this folder that exports `run(): Promise<void>`: the ones listed
// here, and any `*.bench.ts` file added beside them.
import { readdirSync } from 'node:fs';

const LISTED = ['policy.ts'];

const found = readdirSync(new URL('.', import.meta.url)).filter((f) => f.endsWith('.bench.ts'));
const modules = [...LISTED, ...found.sort()];

for (const name of modules) {
  const mod = (await import(new URL(name, import.meta.url).href)) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') throw new Error(`bench/${name} exports no run()`);
  process.stdout.write(`# ${name}\n`);
  await mod.run();
}
