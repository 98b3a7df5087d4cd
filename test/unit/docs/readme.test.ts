// The README is the new user's path, not the reference: short, the way from
// nothing to a reported violation on its first screen, the test command CI
// runs, and links that lead somewhere.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../support/paths.ts';

const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
const lines = readme.split('\n');

describe('README.md', () => {
  it('is at most 200 lines besides the generated enforcement table (one row per rule kind)', () => {
    const start = lines.findIndex((l) => l.startsWith('<!-- generated: kernels-enforcement'));
    const end = lines.findIndex((l) => l.startsWith('<!-- end: kernels-enforcement'));
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    expect(lines.length - (end - start - 1)).toBeLessThanOrEqual(200);
  });

  it('gets a new user from nothing to a reported violation within its first 60 lines', () => {
    const first = lines.slice(0, 60).join('\n');
    const steps = [
      'bash scripts/run.sh',
      '. scripts/env.sh',
      'cp /bin/true /tmp/payload && /tmp/payload',
      'would-kill',
      'bpfgate tail',
      'bpfgate report',
    ];
    let at = 0;
    for (const step of steps) {
      const i = first.indexOf(step, at);
      expect(i, `"${step}" in order on the first screen`).toBeGreaterThan(-1);
      at = i;
    }
    // the violation shown is what the starter policy reports
    expect(first).toContain('no-exec-from-tmp/temp-directories');
    expect(existsSync(join(PROJECT_ROOT, 'policies/no-exec-from-tmp.yaml'))).toBe(true);
  });

  it('keeps the test command CI runs', () => {
    expect(readme).toContain('`bash scripts/test.sh`');
    expect(readFileSync(join(PROJECT_ROOT, '.ci/run'), 'utf8')).toContain('scripts/test.sh');
  });

  it('links only to files that exist', () => {
    const links = [...readme.matchAll(/\]\(([^)#]+)\)/g)]
      .map((m) => m[1]!)
      .filter((l) => !/^https?:/.test(l));
    expect(links.length).toBeGreaterThan(5);
    for (const l of links) expect(existsSync(join(PROJECT_ROOT, l)), l).toBe(true);
  });
});
