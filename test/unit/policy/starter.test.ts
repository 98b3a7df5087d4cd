// The starter library in policies/ validates as one set and carries what a
// security team needs: modeline, description, severity, ATT&CK tags. The
// committed JSON Schema is the one the validator uses.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyFiles } from '../../../src/policy/index.ts';
import { policySchemaJson } from '../../../src/policy/schema-build.ts';

const ROOT = join(import.meta.dirname, '../../..');
const POLICIES = join(ROOT, 'policies');
const files = readdirSync(POLICIES)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('starter policies', () => {
  it('validate together without a single diagnostic', async () => {
    const { set, diagnostics } = await loadPolicyFiles([POLICIES]);
    expect(diagnostics).toEqual([]);
    expect(set!.policies.length).toBe(files.length);
    expect(files.length).toBeGreaterThanOrEqual(12);
  });

  it.each(files)('%s has the modeline, a description, a severity and ATT&CK tags', async (file) => {
    const text = readFileSync(join(POLICIES, file), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/policy.schema.json');
    const { set } = await loadPolicyFiles([join(POLICIES, file)]);
    const p = set!.policies[0]!;
    expect(`${p.name}.yaml`).toBe(file);
    expect(p.description.length).toBeGreaterThan(20);
    expect(/^ {2}severity: /m.test(text)).toBe(true);
    expect(p.tags.some((t) => /^T[0-9]{4}(\.[0-9]{3})?$/.test(t))).toBe(true);
  });

  it('cover the protections the library promises', async () => {
    const { set } = await loadPolicyFiles([POLICIES]);
    const kinds = new Set(set!.policies.flatMap((p) => p.rules.map((r) => r.kind)));
    for (const k of ['exec', 'file', 'capability', 'module', 'bpf', 'ptrace', 'mount', 'setuid', 'socket']) {
      expect(kinds).toContain(k);
    }
    for (const k of ['connect', 'bind', 'device', 'sysctl', 'uprobe']) expect(kinds).toContain(k);
    expect(set!.policies.some((p) => p.defaultAction === 'block')).toBe(true);
    expect(set!.policies.some((p) => p.scope.processes === 'containers')).toBe(true);
  });
});

describe('schemas/policy.schema.json', () => {
  it('is the schema the validator compiles (regenerate with the command in schema-build.ts)', () => {
    expect(readFileSync(join(ROOT, 'schemas/policy.schema.json'), 'utf8')).toBe(policySchemaJson());
  });
});

describe('the policy-language reference (docs/policy-language.md)', () => {
  it('documents every diagnostic code', async () => {
    const { CODES } = await import('../../../src/policy/codes.ts');
    const doc = readFileSync(join(ROOT, 'docs/policy-language.md'), 'utf8');
    for (const code of Object.keys(CODES)) expect(doc).toContain(`| \`${code}\` |`);
  });
});
