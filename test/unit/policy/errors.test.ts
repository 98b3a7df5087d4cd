// Every diagnostic code, located exactly. Each fixture in
// test/fixtures/policies/invalid/ states on its first line the error
// diagnostics it must produce ("# expect: CODE line:col, ..."), no more and no less.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODES, loadPolicyFiles, MAX_POLICIES, parsePolicySources } from '../../../src/policy/index.ts';

const DIR = join(import.meta.dirname, '../../fixtures/policies/invalid');
const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function expected(text: string): string[] {
  const m = /^# expect: (.+)$/m.exec(text);
  if (!m) throw new Error('fixture without an "# expect:" line');
  return m[1]!.split(',').map((s) => s.trim());
}

const policy = (name: string, rules = '    - id: m\n      kind: module\n      action: block\n') =>
  `apiVersion: bpfgate.dev/v1\nkind: Policy\nmetadata:\n  name: ${name}\nspec:\n  rules:\n${rules}`;

describe('invalid fixtures', () => {
  it.each(fixtures)('%s reports exactly its expected diagnostics', (name) => {
    const text = readFileSync(join(DIR, name), 'utf8');
    const { set, diagnostics } = parsePolicySources([{ file: name, text }]);
    expect(set).toBeNull();
    const errors = diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => `${d.code} ${d.pos.line}:${d.pos.column}`).sort()).toEqual(
      expected(text).sort(),
    );
    for (const d of errors) {
      expect(d.pos.file).toBe(name);
      expect(d.message.length).toBeGreaterThan(0);
    }
  });

  it('cover every code of the validator that a single file can produce', () => {
    const covered = new Set(
      fixtures.flatMap((f) => expected(readFileSync(join(DIR, f), 'utf8')).map((e) => e.split(' ')[0])),
    );
    const elsewhere = [
      'FILE_NOT_FOUND',
      'READ_ERROR',
      'NO_POLICIES',
      'DUPLICATE_TARGET',
      'FILE_TOO_LARGE',
      'NOT_TEXT',
    ];
    for (const code of Object.keys(CODES)) {
      if (!elsewhere.includes(code)) expect(covered, code).toContain(code);
    }
  });
});

describe('whole-set behaviour', () => {
  it('one invalid policy rejects the whole set', () => {
    const good = { file: 'good.yaml', text: policy('good') };
    const bad = { file: 'bad.yaml', text: policy('bad').replace('action: block', 'action: blok') };
    expect(parsePolicySources([good]).set?.policies).toHaveLength(1);
    const { set, diagnostics } = parsePolicySources([good, bad]);
    expect(set).toBeNull();
    expect(diagnostics.map((d) => `${d.pos.file} ${d.code}`)).toEqual(['bad.yaml INVALID_VALUE']);
  });

  it('reports errors of several files and documents at once, sorted', () => {
    const a = {
      file: 'a.yaml',
      text: `${policy('a').replace('kind: module', 'kind: modul')}---\n${policy('b', '')}`,
    };
    const b = { file: 'b.yaml', text: policy('c').replace('apiVersion: bpfgate.dev/v1', 'apiVersion: v1') };
    const { diagnostics } = parsePolicySources([b, a]);
    expect(diagnostics.map((d) => `${d.pos.file}:${d.pos.line}:${d.pos.column} ${d.code}`)).toEqual([
      'a.yaml:8:13 INVALID_VALUE',
      'a.yaml:16:3 INVALID_TYPE',
      'b.yaml:1:13 INVALID_API_VERSION',
    ]);
  });

  it(`refuses more than ${MAX_POLICIES} policies, at the first that does not fit`, () => {
    const sources = Array.from({ length: MAX_POLICIES + 1 }, (_, i) => ({
      file: `p${i}.yaml`,
      text: policy(`p${i}`),
    }));
    const { set, diagnostics } = parsePolicySources(sources);
    expect(set).toBeNull();
    expect(diagnostics.map((d) => `${d.pos.file} ${d.code}`)).toEqual([
      `p${MAX_POLICIES}.yaml TOO_MANY_ENTRIES`,
    ]);
  });

  it('warns about, but accepts, the same target twice with one action', () => {
    const rules =
      '    - id: a\n      kind: capability\n      action: audit\n      match: {capabilities: [CAP_BPF]}\n' +
      '    - id: b\n      kind: capability\n      action: audit\n      match: {capabilities: [CAP_BPF, CAP_PERFMON]}\n';
    const { set, diagnostics } = parsePolicySources([{ file: 'w.yaml', text: policy('w', rules) }]);
    expect(set).not.toBeNull();
    expect(diagnostics.map((d) => `${d.code} ${d.severity} ${d.pos.line}:${d.pos.column}`)).toEqual([
      'DUPLICATE_TARGET warning 11:7',
    ]);
  });

  it('an empty file is a warning, not an error', () => {
    const { set, diagnostics } = parsePolicySources([{ file: 'empty.yaml', text: '# nothing yet\n' }]);
    expect(set).toEqual({ policies: [] });
    expect(diagnostics.map((d) => `${d.code} ${d.severity}`)).toEqual(['NO_POLICIES warning']);
  });
});

describe('loadPolicyFiles', () => {
  it('reads folders sorted, skips other files, and reports missing paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfgate-policy-'));
    writeFileSync(join(dir, 'b.yml'), policy('bee'));
    writeFileSync(join(dir, 'a.yaml'), policy('ay'));
    writeFileSync(join(dir, 'notes.txt'), 'not a policy');
    const ok = await loadPolicyFiles([dir]);
    expect(ok.diagnostics).toEqual([]);
    expect(ok.set?.policies.map((p) => [p.name, p.pos.file])).toEqual([
      ['ay', join(dir, 'a.yaml')],
      ['bee', join(dir, 'b.yml')],
    ]);
    const missing = join(dir, 'nope.yaml');
    const bad = await loadPolicyFiles([dir, missing]);
    expect(bad.set).toBeNull();
    expect(bad.diagnostics.map((d) => `${d.pos.file}:${d.pos.line}:${d.pos.column} ${d.code}`)).toEqual([
      `${missing}:1:1 FILE_NOT_FOUND`,
    ]);
  });

  it('reports an unreadable path as READ_ERROR', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfgate-policy-'));
    const notDir = join(dir, 'file.yaml');
    writeFileSync(notDir, policy('x'));
    const { set, diagnostics } = await loadPolicyFiles([join(notDir, 'inside.yaml')]);
    expect(set).toBeNull();
    expect(diagnostics.map((d) => d.code)).toEqual(['READ_ERROR']);
  });
});
