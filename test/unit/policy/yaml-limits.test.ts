// The YAML parser's limits: size, nesting depth and aliases are checked before
// the text reaches the YAML library, so a hostile entry (a fleet bucket entry,
// a policy file, a configuration file) costs milliseconds and a located
// YAML_LIMIT error, not seconds of event-loop time and hundreds of megabytes.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as yaml from 'yaml';
import { MAX_YAML_ALIASES, MAX_YAML_BYTES, MAX_YAML_DEPTH } from '../../../src/policy/limits.ts';
import { parseYaml } from '../../../src/policy/yaml-positions.ts';

// the YAML library's parser, watched: a refused text must never reach it
vi.mock('yaml', async (original) => {
  const lib = await original<typeof import('yaml')>();
  return { ...lib, parseAllDocuments: vi.fn(lib.parseAllDocuments) };
});
const libraryParses = () => vi.mocked(yaml.parseAllDocuments).mock.calls.length;
beforeEach(() => vi.mocked(yaml.parseAllDocuments).mockClear());

/** Parse; the diagnostics' codes and positions, whether the YAML library parsed the text, how many values were made. */
function checked(text: string): { parsed: boolean; values: number; codes: string[]; at: string[] } {
  const r = parseYaml('x.yaml', text);
  return {
    parsed: libraryParses() > 0,
    values: r.documents.length,
    codes: r.diagnostics.map((d) => d.code),
    at: r.diagnostics.map((d) => `${d.pos.line}:${d.pos.column}`),
  };
}

// about 1 MB each: before the limits, each cost seconds (the YAML library recursed until the stack overflowed)
const BOMBS: Record<string, string> = {
  'nested flow sequences': `${'['.repeat(500_000)}${']'.repeat(500_000)}`,
  'nested flow mappings': `${'{a: '.repeat(200_000)}1${'}'.repeat(200_000)}`,
  'compact block sequences': `${'- '.repeat(500_000)}x\n`,
  'aliases by the hundred thousand': `a: &a x\nb: [${Array(200_000).fill('*a').join(',')}]\n`,
};

describe('the YAML limits', () => {
  it.each(Object.keys(BOMBS))('%s: refused with YAML_LIMIT before the YAML library parses it', (name) => {
    const r = checked(BOMBS[name]!);
    expect(r.codes).toEqual(['YAML_LIMIT']);
    expect(r.parsed).toBe(false);
  });

  it(`refuses more than ${MAX_YAML_BYTES} bytes before reading any of it`, () => {
    const r = checked(`a: "${'x'.repeat(MAX_YAML_BYTES)}"\n`);
    expect(r.codes).toEqual(['YAML_LIMIT']);
    expect(r.at).toEqual(['1:1']);
    expect(r.parsed).toBe(false);
  });

  it(`locates the first level beyond ${MAX_YAML_DEPTH}`, () => {
    const text = `a:\n  b: ${'['.repeat(MAX_YAML_DEPTH + 5)}${']'.repeat(MAX_YAML_DEPTH + 5)}\n`;
    const r = checked(text);
    expect(r.codes).toEqual(['YAML_LIMIT']);
    // depth: the mapping a (1), b (2), then brackets from column 6
    expect(r.at).toEqual([`2:${6 + MAX_YAML_DEPTH - 2}`]);
  });

  it('counts block nesting by indentation', () => {
    const lines = Array.from({ length: MAX_YAML_DEPTH + 2 }, (_, i) => `${' '.repeat(i)}k${i}:`);
    const r = checked(`${lines.join('\n')} 1\n`);
    expect(r.codes).toEqual(['YAML_LIMIT']);
    expect(r.at).toEqual([`${MAX_YAML_DEPTH + 1}:${MAX_YAML_DEPTH + 1}`]);
  });

  it(`refuses more than ${MAX_YAML_ALIASES} aliases (billion laughs) before expanding any`, () => {
    const ten = (n: string) => `[${Array(10).fill(`*${n}`).join(',')}]`;
    const text = `a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b ${ten('a')}\nc: &c ${ten('b')}\nd: &d ${ten('c')}\ne: &e ${ten('d')}\nf: &f ${ten('e')}\ng: &g ${ten('f')}\nh: &h ${ten('g')}\ni: &i ${ten('h')}\nj: &j ${ten('i')}\nk: &k ${ten('j')}\n`;
    const r = checked(text);
    expect(r.codes).toEqual(['YAML_LIMIT']);
    // the node tree holds each alias once; no value (where aliases expand) is made
    expect(r.values).toBe(0);
  });

  it('leaves ordinary YAML alone: quotes, apostrophes, brackets and stars inside scalars, comments', () => {
    const text = [
      'a: "[[[[ *not an alias {{{{"',
      "b: 'it''s [ { * '",
      "c: don't [ count * this",
      'd: [x, "]", y]  # [[[[ *comment',
      'e: /usr/*/bin',
      'f: &anchor {g: [1, 2]}',
      'h: *anchor',
      'i: |',
      '  [[[[[[[[ block scalar text *x',
      '  {{{{{{{{',
      '',
    ].join('\n');
    const r = parseYaml('x.yaml', text);
    expect(r.diagnostics).toEqual([]);
    expect(libraryParses()).toBe(1);
    expect(r.documents[0]?.value).toMatchObject({ c: "don't [ count * this", h: { g: [1, 2] } });
  });

  it('every starter policy and valid fixture is within the limits', () => {
    const dirs = [
      join(import.meta.dirname, '../../../policies'),
      join(import.meta.dirname, '../../fixtures/policies/valid'),
    ];
    for (const dir of dirs)
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
        const r = parseYaml(f, readFileSync(join(dir, f), 'utf8'));
        expect(
          r.diagnostics.map((d) => d.code),
          f,
        ).not.toContain('YAML_LIMIT');
      }
  });
});
