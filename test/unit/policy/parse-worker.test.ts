// A large policy set parsed in a worker thread gives exactly what the parse in
// place gives: the set (rules, addresses as bytes) and every diagnostic with
// its position; a small one never starts a worker.
import { describe, expect, it } from 'vitest';
import { type PolicySource, parsePolicySources } from '../../../src/policy/index.ts';
import {
  type ParsedWhere,
  parsePolicySourcesAside,
  WORKER_MIN_BYTES,
} from '../../../src/policy/parse-worker.ts';

/** The result and where the parse ran. */
async function aside(sources: PolicySource[]) {
  const where: ParsedWhere[] = [];
  const result = await parsePolicySourcesAside(sources, (w) => where.push(w));
  return { result, where };
}

/** `rules` file and connect rules in one policy file. */
function source(rules: number, extra = ''): PolicySource {
  let text = 'apiVersion: bpfgate.dev/v1\nkind: Policy\nmetadata:\n  name: big\nspec:\n  rules:\n';
  for (let i = 0; i < rules; i++) {
    text +=
      i % 2 === 0
        ? `    - id: f${i}\n      kind: file\n      action: block\n      match:\n        paths: [/srv/data-${i}]\n        operations: [write]\n`
        : `    - id: c${i}\n      kind: connect\n      action: audit\n      match:\n        addresses: [10.${(i >> 8) & 255}.${i & 255}.1/32]\n        ports: [443]\n`;
  }
  return { file: 'big.yaml', text: text + extra };
}

describe('parsePolicySourcesAside', () => {
  it('a large valid set: the same set as the parse in place', async () => {
    const sources = [source(2500)];
    expect(sources[0]!.text.length).toBeGreaterThan(WORKER_MIN_BYTES);
    const { result, where } = await aside(sources);
    expect(where).toEqual([{ where: 'worker' }]);
    expect(result.set?.policies[0]?.rules.length).toBe(2500);
    expect(result).toEqual(parsePolicySources(sources));
  });

  it('a large invalid set: the same diagnostics, positions included', async () => {
    const sources = [source(2500, '    - id: bad\n      kind: file\n      colour: red\n')];
    const { result, where } = await aside(sources);
    expect(where).toEqual([{ where: 'worker' }]);
    expect(result.set).toBeNull();
    expect(result.diagnostics.some((d) => d.code === 'UNKNOWN_KEY')).toBe(true);
    expect(result).toEqual(parsePolicySources(sources));
  });

  it('a small set is parsed in place', async () => {
    const sources = [source(10)];
    const { result, where } = await aside(sources);
    expect(where).toEqual([{ where: 'here' }]);
    expect(result).toEqual(parsePolicySources(sources));
  });
});
