// bpfgate learn, pure parts and the command on files: which events are
// learned (audit only, in scope, in range), the allowlist written from them
// (grouping, counts as comments, the block rule for a kind with nothing
// observed), and that what it writes validates as a policy.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultName, run } from '../../../src/cli/commands/learn.ts';
import { EXIT } from '../../../src/cli/exit.ts';
import type { ViolationEvent } from '../../../src/events/types.ts';
import { cgroupMatches, Learner } from '../../../src/learn/learner.ts';
import { renderPolicy } from '../../../src/learn/policy.ts';
import { parsePolicySources } from '../../../src/policy/index.ts';
import { captureOutput } from '../../support/capture.ts';

const T0 = Date.parse('2026-11-24T10:00:00Z');
let seq = 0;

function ev(
  kind: ViolationEvent['kind'],
  target: Record<string, unknown>,
  over: {
    cgroup?: string;
    exe?: string;
    parentExe?: string;
    mode?: 'audit' | 'enforce';
    outcome?: ViolationEvent['outcome'];
    policy?: string;
    atMs?: number;
    count?: number;
  } = {},
): ViolationEvent {
  const at = over.atMs ?? T0 + seq * 1000;
  return {
    schemaVersion: '1.0',
    type: 'violation',
    id: `id${seq++}`,
    timeNs: `${BigInt(at) * 1_000_000n}`,
    time: new Date(at).toISOString(),
    host: 'web-1',
    policy: { name: over.policy ?? 'observe', rule: kind, severity: 'info', tags: [] },
    action: 'audit',
    outcome: over.outcome ?? 'allowed',
    mode: over.mode ?? 'audit',
    kind,
    mechanism: 'tracepoint',
    process: {
      pid: 10,
      tgid: 10,
      ppid: 1,
      uid: 0,
      gid: 0,
      euid: 0,
      comm: 'app',
      executable: over.exe ?? '/opt/app/bin/app',
      cgroup: { id: '42', path: over.cgroup ?? '/system.slice/app.service' },
    },
    parent: { pid: 1, executable: over.parentExe ?? '/opt/app/bin/app' },
    target: target as never,
    message: 'm',
    ret: 0,
    ...(over.count !== undefined ? { count: over.count } : {}),
  };
}

const net = (address: string, port: number, protocol = 'tcp') => ({
  family: address.includes(':') ? 'ipv6' : 'ipv4',
  address,
  port,
  protocol,
});

function learn(events: unknown[], scope = { cgroup: '/system.slice/app.service' }) {
  const l = new Learner(scope);
  for (const e of events) l.add(e);
  return l.result();
}

describe('the learner', () => {
  it('learns audit-mode violations of the scope only', () => {
    const l = learn([
      ev('exec', { path: '/usr/bin/cat' }),
      ev('exec', { path: '/usr/bin/cat' }, { count: 4 }),
      ev('exec', { path: '/usr/bin/nc' }, { cgroup: '/system.slice/other.service' }),
      ev('exec', { path: '/usr/bin/id' }, { mode: 'enforce', outcome: 'denied' }),
      ev('capability', { capability: 'CAP_SYS_ADMIN' }),
      ev('file', { path: '/etc/passwd', operation: 'read' }),
      ev('file', { path: 'relative.txt', operation: 'write' }),
      {
        type: 'loss',
        schemaVersion: '1.0',
        timeNs: '1',
        time: 't',
        id: 'x',
        host: 'h',
        loss: {},
        message: '',
      },
      { not: 'an event' },
    ]);
    expect([...l.exec]).toEqual([['/usr/bin/cat', 5]]);
    expect(l.events).toBe(5);
    expect(l.skipped).toEqual({ notViolation: 1, enforced: 1, outOfScope: 1, otherKind: 2, relativePath: 1 });
    expect(l.unreadable).toBe(1);
  });

  it('learns every operation of one attempt: an open with O_TRUNC is a write and a truncate', () => {
    const l = learn([
      ev('file', { path: '/var/lib/app/state', operation: 'write', operations: ['write', 'truncate'] }),
      ev('file', {
        path: '/var/lib/app/log',
        operation: 'truncate',
        operations: ['read', 'write', 'truncate'],
      }),
    ]);
    expect([...(l.writes.get('/var/lib/app/') ?? [])]).toEqual([
      ['write', 2],
      ['truncate', 2],
    ]);
  });

  it('an enforce-mode audit rule (outcome allowed) is learned too', () => {
    const l = learn([ev('exec', { path: '/usr/bin/cat' }, { mode: 'enforce', outcome: 'allowed' })]);
    expect(l.exec.get('/usr/bin/cat')).toBe(1);
  });

  it('scopes by cgroup subtree, executable (an exec by its parent), policy and time', () => {
    expect(cgroupMatches('/a/**', '/a')).toBe(true);
    expect(cgroupMatches('/a/**', '/a/b/c')).toBe(true);
    expect(cgroupMatches('/a/**', '/ab')).toBe(false);
    expect(cgroupMatches('/a', '/a/b')).toBe(false);
    const events = [
      ev('exec', { path: '/usr/bin/cat' }, { exe: '/usr/bin/cat', parentExe: '/opt/app/bin/app' }),
      ev('exec', { path: '/usr/bin/id' }, { exe: '/usr/bin/id', parentExe: '/usr/bin/bash' }),
      ev('connect', net('10.0.0.5', 443), { exe: '/opt/app/bin/app' }),
      ev('connect', net('10.0.0.6', 443), { exe: '/usr/bin/curl' }),
    ];
    const byExe = learn(events, { executable: '/opt/app/bin/app' } as never);
    expect([...byExe.exec.keys()]).toEqual(['/usr/bin/cat']);
    expect([...byExe.connect.keys()]).toEqual(['ipv4 10.0.0.5 443 tcp']);
    const l = new Learner({ policy: 'other' });
    l.add(events[0]);
    expect(l.result().events).toBe(0);
    const ranged = new Learner({ sinceMs: T0 + 10_000_000, untilMs: null });
    ranged.add(ev('exec', { path: '/x' }, { atMs: T0 }));
    ranged.add(ev('exec', { path: '/y' }, { atMs: T0 + 20_000_000 }));
    expect([...ranged.result().exec.keys()]).toEqual(['/y']);
  });
});

describe('the learned policy', () => {
  const observed = [
    ev('exec', { path: '/usr/bin/cat' }, { count: 12 }),
    ...['a', 'b', 'c', 'd', 'e'].map((p) => ev('exec', { path: `/opt/app/bin/${p}` })),
    ...['a', 'b', 'c', 'd', 'e'].map((p) => ev('exec', { path: `/usr/bin/${p}` })),
    ev('connect', net('10.0.0.5', 443), { count: 3 }),
    ev('connect', net('10.0.0.6', 443)),
    ev('connect', net('10.0.0.5', 8080)),
    ev('connect', net('fd00::1', 53, 'udp')),
    ev('bind', net('0.0.0.0', 8080)),
    ev('bind', net('127.0.0.1', 0, 'udp')),
    ev('file', { path: '/var/lib/app/state.db', operation: 'write' }, { count: 7 }),
    ev('file', { path: '/var/lib/app/tmp.1', operation: 'rename', newPath: '/var/lib/app/state.1' }),
    ev('file', { path: '/var/log/app/app.log', operation: 'write' }),
  ];
  const text = renderPolicy(learn(observed), {
    name: 'learned-app',
    cgroups: ['/system.slice/app.service'],
    executables: [],
  });

  it('validates, in audit mode with defaultAction block, scoped as asked', () => {
    const r = parsePolicySources([{ file: 'learned.yaml', text }]);
    expect(r.diagnostics).toEqual([]);
    const p = r.set!.policies[0]!;
    expect(p).toMatchObject({ name: 'learned-app', mode: 'audit', defaultAction: 'block' });
    expect(p.scope.cgroups).toEqual(['/system.slice/app.service']);
  });

  it('allows what was seen, with counts, and generalises only non-shared directories', () => {
    expect(text).toContain('- /usr/bin/cat  # 12');
    expect(text).toContain('- /opt/app/bin/  # 5, 5 programs');
    expect(text).toContain('- /usr/bin/e  # 1'); // /usr/bin/ is shared: never a directory entry
    expect(text).not.toContain('- /usr/bin/  #');
    const p = parsePolicySources([{ file: 'l.yaml', text }]).set!.policies[0]!;
    const rules = Object.fromEntries(p.rules.map((r) => [r.id, r]));
    expect(rules.programs!.match).toMatchObject({ kind: 'exec', directories: ['/opt/app/bin/'] });
    // 10.0.0.5 reached on 443 and 8080, 10.0.0.6 on 443 only: never 10.0.0.6:8080
    const connects = p.rules.filter((r) => r.kind === 'connect').map((r) => r.match);
    expect(connects).toHaveLength(3);
    expect(text).toMatch(
      /addresses:\n\s+- 10\.0\.0\.5\/32 {2}# 4\n\s+ports: \[443, 8080\]\n\s+protocols: \[tcp\]/,
    );
    expect(text).toMatch(/addresses:\n\s+- 10\.0\.0\.6\/32 {2}# 1\n\s+ports: \[443\]/);
    expect(text).toMatch(/- fd00::1\/128 {2}# 1\n\s+ports: \[53\]\n\s+protocols: \[udp\]/);
    // a bind to port 0: any port on that address
    expect(text).toMatch(
      /port 0 seen[^\n]*\n\s+- id: bind-\d\n[\s\S]*?- 127\.0\.0\.1\/32 {2}# 1\n\s+protocols: \[udp\]/,
    );
    expect(text).toContain('- /var/lib/app/  # write 7, rename 1');
    expect(text).toContain('operations: [create, rename, write]'); // write and create together
    expect(text).toContain('- /var/log/app/  # write 1\n        operations: [create, write]');
    expect(rules.reads!.match).toMatchObject({ kind: 'file', directories: ['/'], operations: ['read'] });
  });

  it('a kind with nothing observed is blocked whole', () => {
    const only = renderPolicy(learn([ev('exec', { path: '/usr/bin/cat' })]), {
      name: 'x',
      cgroups: ['/a'],
      executables: [],
    });
    const p = parsePolicySources([{ file: 'x.yaml', text: only }]).set!.policies[0]!;
    expect(p.rules.map((r) => `${r.id} ${r.kind} ${r.action}`)).toEqual([
      'programs exec allow',
      'connect-none connect block',
      'bind-none bind block',
      'reads file allow',
    ]);
  });

  it('names from the scope', () => {
    expect(defaultName('/system.slice/My_App.service', undefined)).toBe('learned-my-app');
    expect(defaultName('/kubepods/**', undefined)).toBe('learned-kubepods');
    expect(defaultName(undefined, '/usr/sbin/nginx')).toBe('learned-nginx');
  });
});

describe('bpfgate learn FILE', () => {
  const out = captureOutput();
  const dir = mkdtempSync(join(tmpdir(), 'bpfgate-learn-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'events.jsonl');
  writeFileSync(
    file,
    `${[
      ev('exec', { path: '/usr/bin/cat' }),
      ev('connect', net('10.0.0.5', 443)),
      ev('exec', { path: '/usr/bin/nc' }, { cgroup: '/elsewhere' }),
    ]
      .map((e) => JSON.stringify(e))
      .join('\n')}\nnot json\n`,
  );

  it('writes the policy to --output and says what it used', async () => {
    const target = join(dir, 'out.yaml');
    expect(await run([file, '--cgroup', '/system.slice/app.service', '--output', target])).toBe(EXIT.ok);
    const text = readFileSync(target, 'utf8');
    expect(text).toContain('name: learned-app');
    expect(text).toContain('- /usr/bin/cat  # 1');
    expect(text).not.toContain('/usr/bin/nc');
    expect(out.err).toContain('2 event(s) in scope');
    expect(out.err).toContain('1 unreadable');
  });

  it('exits 1 when nothing in scope was read, and 2 on bad usage', async () => {
    expect(await run([file, '--cgroup', '/nothing'])).toBe(EXIT.failed);
    expect(out.out).toBe('');
    await expect(run([file])).rejects.toThrow(/a scope is needed/);
    await expect(run([file, '--cgroup', 'relative'])).rejects.toThrow(/--cgroup/);
    await expect(run([file, '--cgroup', '/a', '--kinds', 'exec,ptrace'])).rejects.toThrow(/ptrace/);
    await expect(run([file, '--cgroup', '/a', '--name', 'Bad_Name'])).rejects.toThrow(/--name/);
  });
});
