// The adversarial case table (test/adversarial/cases.ts) is well formed, its
// policies are valid, and docs/attacks.md's walk-around table lists exactly its
// cases with what each achieves on each kernel. The attacks themselves run in
// test/host/adversarial.test.ts and test/vm/adversarial.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicySources } from '../../src/policy/index.ts';
import { CASES, casePolicy, endOf, policyName, readmeRow } from '../support/adversarial.ts';

const README = readFileSync(join(import.meta.dirname, '../../docs/attacks.md'), 'utf8');

describe('the adversarial cases', () => {
  it('have unique ids and an expectation for every kernel', () => {
    expect(new Set(CASES.map((c) => c.id)).size).toBe(CASES.length);
    for (const c of CASES) {
      expect(c.id).toMatch(/^[a-z0-9-]+$/);
      expect(Object.keys(c.kernels).sort()).toEqual(['host', 'lsm']);
    }
  });

  it('each make one valid policy, scoped to the case cgroup only', () => {
    const sources = CASES.map((c) => ({ file: `${c.id}.yaml`, text: casePolicy(c, `/t/${c.id}`) }));
    const r = parsePolicySources(sources);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    for (const c of CASES) {
      const p = r.set!.policies.find((x) => x.name === policyName(c))!;
      expect(p.scope.cgroups.length).toBeGreaterThan(0);
      for (const sel of p.scope.cgroups) expect(sel.startsWith(`/t/${c.id}`), sel).toBe(true);
    }
  });

  it("are docs/attacks.md's walk-around table, row for row", () => {
    const start = README.indexOf('\n## Walk-arounds bpfgate closes');
    expect(start).toBeGreaterThan(-1);
    const section = README.slice(start, README.indexOf('\n## ', start + 1));
    const rows = section.split('\n').filter((l) => /^\| `[a-z0-9-]+` \|/.test(l));
    expect(rows).toEqual(CASES.map(readmeRow));
  });

  it('end as the attacker’s last line says, with or without a final newline, after any pid line', () => {
    expect(endOf('errno 1 EPERM\n', 1, null)).toBe('errno 1 EPERM');
    expect(endOf('pid 42\nok\n', 0, null)).toBe('ok');
    expect(endOf('pid 42\n', 137, null)).toBe('killed');
    expect(endOf('', null, 'SIGKILL')).toBe('killed');
    expect(endOf('', 3, null)).toBe('exit 3');
  });
});
