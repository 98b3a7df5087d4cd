// Mutation fuzzing of the starter policies: whatever the damage, the validator
// returns located, coded diagnostics and never throws.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODES, parsePolicySources } from '../../../src/policy/index.ts';

const POLICIES = join(import.meta.dirname, '../../../policies');
const starters = readdirSync(POLICIES)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => readFileSync(join(POLICIES, f), 'utf8'));

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const JUNK = [
  '',
  '-',
  ':',
  '[',
  ']',
  '{',
  '}',
  '*',
  '**',
  '&a',
  '*a',
  '!!binary',
  '~',
  'null',
  '0x10',
  '-1',
  '1e400',
  '"',
  "'",
  '#',
  '\t',
  '/',
  '../',
  'CAP_',
  'BPF_',
  '65536',
  '0.0.0.0/0',
  '::/0',
  'ü',
  '\u0000',
  'allow',
];

function mutate(text: string, rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const lines = text.split('\n');
  const i = Math.floor(rand() * lines.length);
  const line = lines[i]!;
  switch (Math.floor(rand() * 9)) {
    case 0: // delete a line (a key, an item)
      lines.splice(i, 1);
      break;
    case 1: // duplicate a line
      lines.splice(i, 0, line);
      break;
    case 2: // retype a value
      lines[i] = line.replace(
        /:\s.*$/,
        `: ${pick(['42', 'true', '[]', '{}', 'null', '"x"', '[1, 2]', '{a: 1}'])}`,
      );
      break;
    case 3: // random junk in a random place
      {
        const at = Math.floor(rand() * (line.length + 1));
        lines[i] = line.slice(0, at) + pick(JUNK) + line.slice(at);
      }
      break;
    case 4: // truncate the file
      return text.slice(0, Math.floor(rand() * text.length));
    case 5: // damage indentation
      lines[i] =
        rand() < 0.5 ? line.replace(/^ {1,2}/, '') : `${' '.repeat(1 + Math.floor(rand() * 3))}${line}`;
      break;
    case 6: // rename a key
      lines[i] = line.replace(/([A-Za-z]+):/, (_, k: string) => `${k.slice(0, -1)}:`);
      break;
    case 7: // random printable string
      lines[i] = Array.from({ length: Math.floor(rand() * 20) }, () =>
        String.fromCharCode(32 + Math.floor(rand() * 95)),
      ).join('');
      break;
    default:
      {
        // swap two lines
        const j = Math.floor(rand() * lines.length);
        [lines[i], lines[j]] = [lines[j]!, line];
      }
      break;
  }
  return lines.join('\n');
}

describe('fuzz', () => {
  it('only ever produces clean, located, coded diagnostics', () => {
    const rand = prng(20240611);
    const known = new Set(Object.keys(CODES));
    let rejected = 0;
    for (let n = 0; n < 3000; n++) {
      let text = starters[n % starters.length]!;
      const rounds = 1 + Math.floor(rand() * 3);
      for (let r = 0; r < rounds; r++) text = mutate(text, rand);
      const lineCount = text.split('\n').length;
      const result = parsePolicySources([{ file: `m${n}.yaml`, text }]);
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      if (errors.length > 0) rejected++;
      expect(result.set === null, `case ${n}`).toBe(errors.length > 0);
      for (const d of result.diagnostics) {
        expect(known, `case ${n}: ${d.code}`).toContain(d.code);
        expect(d.pos.file).toBe(`m${n}.yaml`);
        expect(d.pos.line, `case ${n}: ${d.message}`).toBeGreaterThanOrEqual(1);
        expect(d.pos.line).toBeLessThanOrEqual(lineCount + 1);
        expect(d.pos.column).toBeGreaterThanOrEqual(1);
        expect(typeof d.message).toBe('string');
      }
    }
    // the mutations must actually exercise the error paths
    expect(rejected).toBeGreaterThan(1000);
    // about 10 s alone; several times that on a machine whose cores are shared
  }, 90_000);
});
