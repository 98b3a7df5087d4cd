// Every rule kind becomes the right typed model, with defaults applied.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FILE_OPERATIONS } from '../../../src/kinds/file.ts';
import { allowlistedKinds, parsePolicySources } from '../../../src/policy/index.ts';
import type { Match, Policy } from '../../../src/policy/model.ts';
import { RULE_KINDS } from '../../../src/policy/model.ts';

const FILE = join(import.meta.dirname, '../../fixtures/policies/valid/every-kind.yaml');

function load(): Policy {
  const { set, diagnostics } = parsePolicySources([
    { file: 'every-kind.yaml', text: readFileSync(FILE, 'utf8') },
  ]);
  expect(diagnostics).toEqual([]);
  return set!.policies[0]!;
}

describe('the typed model', () => {
  const policy = load();
  const match = (id: string): Match => policy.rules.find((r) => r.id === id)!.match;

  it('covers every rule kind', () => {
    expect(new Set(policy.rules.map((r) => r.kind))).toEqual(new Set(RULE_KINDS));
  });

  it('reads policy metadata, mode and scope', () => {
    expect(policy).toMatchObject({
      name: 'every-kind',
      description: 'one rule per kind',
      severity: 'low',
      tags: ['T1000'],
      labels: { team: 'sec' },
      mode: 'audit',
      defaultAction: 'allow',
      scope: {
        cgroups: ['/system.slice/*.service', '/kubepods/**'],
        executables: ['/usr/bin/python3'],
        uids: [0, 1000],
        processes: 'host',
      },
      pos: { file: 'every-kind.yaml', line: 2, column: 1 },
    });
  });

  it('applies rule defaults and keeps explicit values', () => {
    const exec = policy.rules[0]!;
    expect(exec).toMatchObject({
      id: 'exec',
      action: 'kill',
      severity: 'critical',
      message: 'shell',
      tags: ['T1000', 'T1059'],
      unless: {
        executables: ['/usr/sbin/cron'],
        uids: [0],
        euids: [0],
        cgroups: ['/system.slice/cron.service'],
      },
      pos: { line: 18, column: 7 },
    });
    const file = policy.rules[1]!;
    expect(file).toMatchObject({ severity: 'low', message: 'one rule per kind', tags: ['T1000'] });
    expect(file.unless).toEqual({
      executables: [],
      digests: {},
      contents: [],
      uids: [],
      euids: [],
      cgroups: [],
    });
  });

  it('normalises exec and file matches', () => {
    expect(match('exec')).toEqual({ kind: 'exec', paths: ['/bin/sh'], directories: ['/tmp/'] });
    expect(match('file')).toEqual({
      kind: 'file',
      paths: ['/etc/shadow'],
      directories: ['/etc/ssh/'],
      operations: ['write', 'chmod'],
    });
    expect(match('file-any')).toEqual({
      kind: 'file',
      paths: ['/etc/hosts'],
      directories: [],
      operations: [...FILE_OPERATIONS],
    });
  });

  it('reads numeric kinds', () => {
    expect(match('capability')).toEqual({
      kind: 'capability',
      capabilities: ['CAP_SYS_ADMIN', 'CAP_CHECKPOINT_RESTORE'],
    });
    expect(match('module')).toEqual({ kind: 'module' });
    expect(match('bpf')).toEqual({ kind: 'bpf', commands: ['BPF_PROG_LOAD', 'BPF_TOKEN_CREATE'] });
    expect(match('bpf-any')).toEqual({ kind: 'bpf', commands: [] });
    expect(match('ptrace')).toEqual({ kind: 'ptrace', modes: ['attach', 'read'] });
    expect(match('mount')).toEqual({ kind: 'mount', operations: ['mount'], fsTypes: ['proc', 'overlay'] });
    expect(match('setuid')).toEqual({ kind: 'setuid', to: 'root', ids: ['uid'] });
    expect(match('socket')).toEqual({ kind: 'socket', families: ['packet', 'inet'], types: ['raw'] });
    expect(match('kprobe')).toEqual({ kind: 'kprobe', function: 'commit_creds' });
    expect(match('uprobe')).toEqual({
      kind: 'uprobe',
      binary: '/usr/bin/bash',
      symbol: 'readline',
      capture: 'returned-string',
    });
  });

  it('reads ingress and egress: interfaces merged, ports and CIDRs as connect reads them, xdp mode', () => {
    const i = match('ingress');
    if (i.kind !== 'ingress') throw new Error('not ingress');
    expect(i).toMatchObject({
      interfaces: ['eth0'],
      ports: [
        { from: 23, to: 23 },
        { from: 137, to: 139 },
      ],
      protocols: ['tcp', 'icmp'],
      xdp: 'generic',
    });
    expect(i.addresses.map((a) => a.text)).toEqual(['192.0.2.0/24']);
    const e = match('egress');
    if (e.kind !== 'egress') throw new Error('not egress');
    expect(e).toMatchObject({ interfaces: ['eth0'], ports: [], protocols: ['any'] });
    expect(e.addresses.map((a) => [a.family, a.bits])).toEqual([[6, 128]]);
    expect(e).not.toHaveProperty('xdp');
  });

  it('parses CIDRs and port ranges', () => {
    const m = match('connect');
    if (m.kind !== 'connect') throw new Error('not connect');
    expect(
      m.addresses.map((a) => [a.family, a.bits, a.text, Buffer.from(a.address).toString('hex')]),
    ).toEqual([
      [4, 32, '169.254.169.254/32', 'a9fea9fe'],
      [6, 128, 'fd00:ec2::254/128', 'fd000ec2000000000000000000000254'],
      [6, 104, '::ffff:10.0.0.0/104', '00000000000000000000ffff0a000000'],
    ]);
    expect(m.ports).toEqual([
      { from: 80, to: 80 },
      { from: 8000, to: 8080 },
    ]);
    expect(m.protocols).toEqual(['tcp']);
    expect(match('bind')).toEqual({ kind: 'bind', addresses: [], ports: [], protocols: ['any'] });
  });

  it('reads devices and sysctls', () => {
    expect(match('device')).toEqual({
      kind: 'device',
      devices: [
        { type: 'char', major: 1, minor: 1 },
        { type: 'block', major: 8, minor: null },
        { type: 'block', major: null, minor: null },
      ],
      access: ['write'],
    });
    expect(match('sysctl')).toEqual({
      kind: 'sysctl',
      names: ['kernel.core_pattern'],
      prefixes: ['net.ipv4.', 'vm.'],
      access: ['read', 'write'],
    });
  });
});

describe('multi-document files and allowlists', () => {
  it('reads every document of a file, in order', () => {
    const doc = (name: string, extra = '') =>
      `apiVersion: bpfgate.dev/v1\nkind: Policy\nmetadata: {name: ${name}}\nspec:\n${extra}  rules:\n` +
      '    - {id: sh, kind: exec, action: allow, match: {paths: [/bin/sh]}}\n';
    const text = `---\n${doc('one')}---\n${doc('two', '  defaultAction: block\n')}...\n`;
    const { set, diagnostics } = parsePolicySources([{ file: 'multi.yaml', text }]);
    expect(diagnostics).toEqual([]);
    expect(set!.policies.map((p) => [p.name, p.pos.line])).toEqual([
      ['one', 2],
      ['two', 9],
    ]);
    expect(allowlistedKinds(set!.policies[0]!)).toEqual([]);
    expect(allowlistedKinds(set!.policies[1]!)).toEqual(['exec']);
  });
});
