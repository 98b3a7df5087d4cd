// unless.executables entries pinned by digest ({ path, sha256 }): the model
// they give, and the set-wide rule that one executable has one set of pins.
import { describe, expect, it } from 'vitest';
import { parsePolicySources, ruleEntries } from '../../../src/policy/index.ts';

const A = 'a'.repeat(64);
const B = 'B'.repeat(64);
const doc = (name: string, exes: string) => `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: ${name} }
spec:
  rules:
    - id: m
      kind: module
      action: block
      unless:
        executables: ${exes}
`;

describe('pinned executables', () => {
  it('a pinned entry gives its path and its digests (lowercase, sorted, merged); a plain entry of the same path wins', () => {
    const { set, diagnostics } = parsePolicySources([
      {
        file: 'p.yaml',
        text: doc(
          'p',
          `[/usr/bin/sudo, { path: /usr/bin/dpkg, sha256: [${B}] }, { path: /usr/bin/dpkg, sha256: [${A}] }, { path: /usr/bin/sudo, sha256: [${A}] }]`,
        ),
      },
    ]);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const unless = set!.policies[0]!.rules[0]!.unless;
    expect(unless.executables.sort()).toEqual(['/usr/bin/dpkg', '/usr/bin/sudo']);
    expect(unless.digests).toEqual({ '/usr/bin/dpkg': [A, B.toLowerCase()] });
    // a plain exception is two exception entries (with and without the verified bit), a pinned one one
    expect(ruleEntries(set!.policies[0]!.rules[0]!).exceptions).toBe(3);
  });

  it('{ sha256 } without a path excepts by content alone', () => {
    const { set, diagnostics } = parsePolicySources([
      { file: 'c.yaml', text: doc('c', `[{ sha256: [${B}, ${A}] }, /usr/bin/sudo]`) },
    ]);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const unless = set!.policies[0]!.rules[0]!.unless;
    expect(unless.contents).toEqual([A, B.toLowerCase()]);
    expect(unless.executables).toEqual(['/usr/bin/sudo']);
    expect(unless.digests).toEqual({});
  });

  it('two policies that pin one executable to other digests: EXE_DIGESTS_DIFFER, nothing loaded', () => {
    const { set, diagnostics } = parsePolicySources([
      { file: 'a.yaml', text: doc('a', `[{ path: /usr/bin/dpkg, sha256: [${A}] }]`) },
      { file: 'b.yaml', text: doc('b', `[{ path: /usr/bin/dpkg, sha256: [${B}] }]`) },
    ]);
    expect(set).toBeNull();
    expect(diagnostics.map((d) => [d.code, d.pos.file])).toEqual([['EXE_DIGESTS_DIFFER', 'b.yaml']]);
    expect(diagnostics[0]!.message).toContain("policy 'a' (a.yaml:6)");
  });

  it('the same pins in two policies, or a pin beside a plain exception elsewhere, are fine', () => {
    const { set } = parsePolicySources([
      { file: 'a.yaml', text: doc('a', `[{ path: /usr/bin/dpkg, sha256: [${A}] }]`) },
      { file: 'b.yaml', text: doc('b', `[{ path: /usr/bin/dpkg, sha256: [${A}] }]`) },
      { file: 'c.yaml', text: doc('c', '[/usr/bin/dpkg]') },
    ]);
    expect(set?.policies.length).toBe(3);
  });
});
