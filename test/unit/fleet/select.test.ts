import { describe, expect, it } from 'vitest';
import {
  type FleetEntry,
  hostStatusKey,
  kvSourceName,
  parseKvSourceName,
  selectPolicies,
} from '../../../src/fleet/select.ts';

const BUCKET = 'bpfgate-policies';

function policy(name: string, hosts?: string, extra = ''): string {
  return [
    'apiVersion: bpfgate.dev/v1',
    'kind: Policy',
    'metadata:',
    `  name: ${name}`,
    ...(hosts !== undefined ? ['  labels:', `    bpfgate.dev/hosts: "${hosts}"`] : []),
    'spec:',
    '  rules:',
    '    - id: attach',
    '      kind: ptrace',
    '      action: block',
    '      match:',
    `        modes: [attach]${extra}`,
    '',
  ].join('\n');
}

const entry = (name: string, revision: number, text: string): FleetEntry => ({
  key: `policies.${name}`,
  revision,
  text,
});

describe('kv source names', () => {
  it('name the bucket, key and revision, and read back', () => {
    const n = kvSourceName(BUCKET, 'policies.no-ptrace', 12);
    expect(n).toBe('kv://bpfgate-policies/policies.no-ptrace@rev12');
    expect(parseKvSourceName(n)).toEqual({ bucket: BUCKET, key: 'policies.no-ptrace', revision: 12 });
    expect(parseKvSourceName('policies/no-ptrace.yaml')).toBeNull();
  });

  it('host status keys are valid KV keys', () => {
    expect(hostStatusKey('web-1')).toBe('hosts.web-1');
    expect(hostStatusKey('web-1.eu.example.com')).toBe('hosts.web-1.eu.example.com');
    expect(hostStatusKey('we b:1')).toBe('hosts.we_b_1');
    expect(hostStatusKey('.odd..name.')).toBe('hosts._odd.name_');
  });
});

describe('selecting the policies of a host', () => {
  const entries = [
    entry('everywhere', 3, policy('everywhere')),
    entry('web-only', 7, policy('web-only', 'role=web')),
    entry('prod-not-web', 9, policy('prod-not-web', 'env=prod, role!=web')),
  ];

  it('a policy without a selector applies to every host; others to the hosts they select', () => {
    const web = selectPolicies(BUCKET, entries, { role: 'web', env: 'prod' });
    expect(web.result.diagnostics).toEqual([]);
    expect(web.result.set?.policies.map((p) => p.name)).toEqual(['everywhere', 'web-only']);
    expect(web.selected).toEqual([
      { name: 'everywhere', key: 'policies.everywhere', revision: 3 },
      { name: 'web-only', key: 'policies.web-only', revision: 7 },
    ]);
    expect(web.skipped).toEqual(['policies.prod-not-web']);

    const db = selectPolicies(BUCKET, entries, { role: 'db', env: 'prod' });
    expect(db.result.set?.policies.map((p) => p.name)).toEqual(['everywhere', 'prod-not-web']);
    expect(db.skipped).toEqual(['policies.web-only']);
  });

  it('diagnostics of a selected policy name its key and revision', () => {
    const bad = entry(
      'web-only',
      8,
      policy('web-only', 'role=web').replace('action: block', 'action: smite'),
    );
    const r = selectPolicies(BUCKET, [entries[0]!, bad], { role: 'web' });
    expect(r.result.set).toBeNull();
    const d = r.result.diagnostics.find((x) => x.severity === 'error');
    expect(d?.pos).toEqual({ file: 'kv://bpfgate-policies/policies.web-only@rev8', line: 11, column: 15 });
  });

  it('an invalid policy for other hosts does not reject this host', () => {
    const bad = entry('db-only', 2, policy('db-only', 'role=db').replace('action: block', 'action: smite'));
    const r = selectPolicies(BUCKET, [entries[0]!, bad], { role: 'web' });
    expect(r.result.set?.policies.map((p) => p.name)).toEqual(['everywhere']);
  });

  it('a malformed selector is an error for every host, located at the label', () => {
    const r = selectPolicies(BUCKET, [entry('x', 4, policy('x', 'role in (web'))], { role: 'db' });
    expect(r.result.set).toBeNull();
    expect(r.result.diagnostics).toMatchObject([
      { code: 'FLEET_SELECTOR', pos: { file: 'kv://bpfgate-policies/policies.x@rev4', line: 6, column: 24 } },
    ]);
  });

  it('the key must name the policy it holds, one policy per key', () => {
    const r = selectPolicies(
      BUCKET,
      [
        entry('other', 1, policy('no-ptrace')),
        entry('two', 2, `${policy('two')}---\n${policy('three')}`),
        { key: 'policies.Bad_Name', revision: 3, text: policy('bad') },
      ],
      {},
    );
    expect(r.result.set).toBeNull();
    expect(r.result.diagnostics.map((d) => [d.code, d.pos.file, d.pos.line])).toEqual([
      ['FLEET_KEY', 'kv://bpfgate-policies/policies.Bad_Name@rev3', 1],
      ['FLEET_KEY', 'kv://bpfgate-policies/policies.other@rev1', 4],
      ['FLEET_KEY', 'kv://bpfgate-policies/policies.two@rev2', 13],
    ]);
  });

  it('YAML that does not parse is an error for every host', () => {
    const r = selectPolicies(BUCKET, [entry('x', 5, 'metadata: [unclosed\n')], { role: 'db' });
    expect(r.result.set).toBeNull();
    expect(r.result.diagnostics[0]?.pos.file).toBe('kv://bpfgate-policies/policies.x@rev5');
  });

  it('no policy for this host is a warning, with its labels', () => {
    const r = selectPolicies(BUCKET, [entries[1]!], { role: 'db' });
    expect(r.result.set).toEqual({ policies: [] });
    expect(r.result.diagnostics).toMatchObject([{ code: 'NO_POLICIES', severity: 'warning' }]);
    expect(r.result.diagnostics[0]?.message).toContain('role=db');
  });
});
