// Golden files: the plan (JSON) and the explain table of a fixture set that
// covers every rule kind, on each shipped feature file. Regenerate with
// UPDATE_GOLDEN=1 npx vitest run --project unit test/unit/compiler, and review
// the diff like code.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile } from '../../../src/compiler/compile.ts';
import { explainTable } from '../../../src/compiler/explain.ts';
import { RULE_KINDS } from '../../../src/policy/model.ts';
import { allKinds } from '../../fixtures/compiler/all-kinds.ts';
import { FMOD_RET, LSM, NO_LSM } from '../../support/features.ts';

const GOLDEN = new URL('../../fixtures/golden/', import.meta.url);
const update = process.env.UPDATE_GOLDEN === '1';

function golden(name: string, actual: string): void {
  const file = new URL(name, GOLDEN);
  if (update || !existsSync(file)) {
    if (!update) throw new Error(`missing golden file ${name}: run with UPDATE_GOLDEN=1 and review it`);
    writeFileSync(file, actual);
    return;
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe('golden plans', () => {
  it('the fixture covers every rule kind', () => {
    const kinds = new Set(allKinds().policies.flatMap((p) => p.rules.map((r) => r.kind)));
    expect([...kinds].sort()).toEqual([...RULE_KINDS].sort());
  });

  for (const [name, features] of [
    ['lsm', LSM],
    ['fmod-ret', FMOD_RET],
    ['no-lsm', NO_LSM],
  ] as const) {
    it(`${name}: plan JSON and explain table`, () => {
      const plan = compile(allKinds(), features, { gen: 0 });
      golden(`compile-${name}.json`, `${JSON.stringify(plan, null, 2)}\n`);
      golden(`compile-${name}.explain.txt`, explainTable(plan));
    });

    it(`${name}: compiling twice gives identical bytes`, () => {
      const a = JSON.stringify(compile(allKinds(), features, { gen: 1 }));
      const b = JSON.stringify(compile(allKinds(), features, { gen: 1 }));
      expect(b).toBe(a);
      expect(explainTable(compile(allKinds(), features, { gen: 1 }))).toBe(
        explainTable(compile(allKinds(), features, { gen: 1 })),
      );
    });
  }
});
