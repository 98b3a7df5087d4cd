// bpfgate end to end on a kernel with BPF-LSM and kprobes (Debian 6.1 under
// QEMU): one guest runs the daemon on test/fixtures/guest-policies/e2e twice,
// enforcing and then with --audit, and an attacker program
// (test/vm/scenarios/bgattack.c) tries each privileged action inside and
// outside the policies' test cgroups. Every case checks what the attacker saw
// (exit status, errno) and the violation the daemon printed.
// npx vitest run --project kernel test/vm/e2e.test.ts
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GUEST_IN, PROJECT_ROOT, prepareGuest } from '../support/guest.ts';
import {
  buildAttacker,
  type CaseResult,
  type CaseSpec,
  CG,
  caseOf,
  describeCase,
  eventsOf,
  type PhaseResult,
  policyFiles,
  runScenario,
  type Violation,
} from '../support/guest-scenario.ts';

const POLICIES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'guest-policies', 'e2e');

let phases: { enforce: PhaseResult; audit: PhaseResult };

/** The cases of one phase; `audit` leaves out the out-of-scope controls (nothing to compare there). */
function cases(attacker: string, modules: string, audit: boolean): CaseSpec[] {
  const A = attacker;
  const inScope = ['--cgroup', `${CG}/e2e/enforced`];
  const caps = ['--cgroup', `${CG}/e2e/caps`];
  const allow = ['--cgroup', `${CG}/e2e/allowlist`];
  const kprobe = ['--cgroup', `${CG}/e2e/kprobe`];
  const shadow =
    'mkdir -p /tmp/protected && echo secret > /tmp/protected/shadow && chmod 640 /tmp/protected/shadow';
  const list: (CaseSpec & { control?: true })[] = [
    // the bpf block is global: first, so every later event shows the daemon still reporting
    { name: 'bpf-prog-load', argv: [A, 'bpf-prog-load'] },
    { name: 'exec-path', argv: [A, ...inScope, 'exec', '/usr/bin/whoami'] },
    { name: 'exec-path-out-of-scope', argv: [A, 'exec', '/usr/bin/whoami'], control: true },
    { name: 'exec-directory', argv: [A, ...inScope, 'exec', '/tmp/e2e/blocked-bin/true'] },
    { name: 'exec-directory-out-of-scope', argv: [A, 'exec', '/tmp/e2e/blocked-bin/true'], control: true },
    { name: 'exec-unlisted-in-scope', argv: [A, ...inScope, 'exec', '/usr/bin/true'], control: true },
    { name: 'file-write', argv: [A, ...inScope, 'write', '/tmp/protected/shadow'], prep: shadow },
    { name: 'file-read', argv: [A, ...inScope, 'read', '/tmp/protected/shadow'] },
    { name: 'file-chmod', argv: [A, ...inScope, 'chmod', '/tmp/protected/shadow', '666'] },
    {
      name: 'file-rename',
      argv: [A, ...inScope, 'rename', '/tmp/protected/shadow', '/tmp/protected/shadow.moved'],
      prep: shadow,
    },
    { name: 'file-unlink', argv: [A, ...inScope, 'unlink', '/tmp/protected/shadow'], prep: shadow },
    {
      name: 'file-unlink-other',
      argv: [A, ...inScope, 'unlink', '/tmp/protected/other'],
      prep: 'echo x > /tmp/protected/other',
      control: true,
    },
    {
      name: 'file-write-out-of-scope',
      argv: [A, 'write', '/tmp/protected/shadow'],
      prep: shadow,
      control: true,
    },
    { name: 'cap-sys-admin', argv: [A, ...caps, 'sethostname'] },
    { name: 'cap-net-raw', argv: [A, ...caps, 'raw-socket'] },
    { name: 'cap-out-of-scope', argv: [A, 'sethostname'], control: true },
    { name: 'module', argv: [A, ...inScope, 'finit-module', `${modules}/kernel/lib/crc7.ko`] },
    {
      name: 'module-out-of-scope',
      argv: [A, 'finit-module', `${modules}/kernel/lib/crc8.ko`],
      control: true,
    },
    { name: 'ptrace-attach', argv: [A, ...inScope, 'ptrace-attach', '@/tmp/e2e/victim.pid'] },
    { name: 'ptrace-attach-out-of-scope', argv: [A, 'ptrace-attach', '@/tmp/e2e/victim.pid'], control: true },
    { name: 'mount', argv: [A, ...inScope, 'mount', 'tmpfs', '/tmp/e2e/mnt', 'tmpfs'] },
    { name: 'mount-out-of-scope', argv: [A, 'mount', 'tmpfs', '/tmp/e2e/mnt-free', 'tmpfs'], control: true },
    { name: 'setuid-root', argv: [A, ...inScope, 'setuid-root'] },
    { name: 'setuid-root-out-of-scope', argv: [A, 'setuid-root'], control: true },
    {
      name: 'unless-named-executable',
      argv: ['/tmp/e2e/allowed/bgattack', ...inScope, 'exec', '/usr/bin/id'],
    },
    { name: 'unless-copy-elsewhere', argv: ['/tmp/e2e/copy/bgattack', ...inScope, 'exec', '/usr/bin/id'] },
    { name: 'allowlist-listed', argv: [A, ...allow, 'exec', '/usr/bin/true'], control: true },
    { name: 'allowlist-unlisted', argv: [A, ...allow, 'exec', '/usr/bin/id'] },
    { name: 'allowlist-connect-listed', argv: [A, ...allow, 'connect', '127.0.0.1', '9'], control: true },
    { name: 'allowlist-connect-unlisted', argv: [A, ...allow, 'connect', '127.0.0.1', '10'] },
    { name: 'kprobe-commit-creds', argv: [A, ...kprobe, 'setgid', '0'] },
  ];
  return list.filter((c) => !(audit && c.control)).map(({ control: _c, ...c }) => c);
}

const SETUP = (attacker: string) => `set -e
for g in enforced caps allowlist kprobe; do mkdir -p ${CG}/e2e/$g; done
mkdir -p /tmp/e2e/blocked-bin /tmp/e2e/allowed /tmp/e2e/copy /tmp/protected
cp /usr/bin/true /tmp/e2e/blocked-bin/true
cp ${attacker} /tmp/e2e/allowed/bgattack
cp ${attacker} /tmp/e2e/copy/bgattack
[ -s /tmp/e2e/victim.pid ] || { setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > /tmp/e2e/victim.pid; }
`;

beforeAll(async () => {
  const [attacker, assets] = await Promise.all([buildAttacker(), prepareGuest()]);
  const modules = path.join(assets.kernelDir, 'lib', 'modules', assets.kernelVersion);
  const policyDir = `${GUEST_IN}/policies`;
  const r = await runScenario(
    'e2e',
    {
      phases: [
        {
          name: 'enforce',
          daemonArgs: ['--policies', policyDir],
          setup: SETUP(attacker),
          cases: cases(attacker, modules, false),
        },
        {
          name: 'audit',
          daemonArgs: ['--policies', policyDir, '--audit'],
          setup: SETUP(attacker),
          cases: cases(attacker, modules, true),
        },
      ],
    },
    policyFiles(POLICIES, 'policies'),
  );
  const [enforce, audit] = r.phases as [PhaseResult, PhaseResult];
  for (const p of [enforce, audit]) {
    if (p.error) throw new Error(`phase ${p.name}: ${p.error}\n${p.daemonLog.slice(-4000)}`);
  }
  phases = { enforce, audit };
  console.log(
    `e2e guest: ${r.guest.durationMs} ms (boot ${r.guest.bootMs} ms; daemon start ${enforce.daemonStartMs} / ${audit.daemonStartMs} ms; phases ${enforce.durationMs} / ${audit.durationMs} ms)`,
  );
});

/** The attacker's call failed with `error` (EPERM), and exactly the one expected violation names its process. */
function expectDenied(
  name: string,
  want: { policy: string; rule: string; kind: string; mechanism?: string; target?: Record<string, unknown> },
): { c: CaseResult; ev: Violation } {
  const p = phases.enforce;
  const c = caseOf(p, name);
  const why = describeCase(p, c);
  expect(c.report, why).not.toBeNull();
  expect(c.report!.error, why).toBe('EPERM');
  expect(c.status, why).toBe(1);
  const evs = eventsOf(p, c).filter((e) => e.policy.name === want.policy && e.policy.rule === want.rule);
  expect(evs.length, why).toBeGreaterThanOrEqual(1);
  const ev = evs[0]!;
  expect(ev.kind, why).toBe(want.kind);
  expect(ev.outcome, why).toBe('denied');
  expect(ev.action, why).toBe('block');
  expect(ev.mode, why).toBe('enforce');
  expect(ev.mechanism, why).toBe(want.mechanism ?? 'lsm');
  expect(ev.ret, why).toBeLessThan(0);
  if (want.target) expect(ev.target, why).toMatchObject(want.target);
  return { c, ev };
}

/** The action went through (exit 0) and no violation names the process. */
function expectAllowedQuietly(name: string, stdout?: RegExp): CaseResult {
  const p = phases.enforce;
  const c = caseOf(p, name);
  const why = describeCase(p, c);
  expect(c.status, why).toBe(0);
  if (stdout) expect(c.stdout, why).toMatch(stdout);
  expect(eventsOf(p, c), why).toEqual([]);
  return c;
}

describe('enforcing: exec', () => {
  it('blocks an exact path with EPERM in scope, and lets it run out of scope', () => {
    expectDenied('exec-path', {
      policy: 'e2e-exec',
      rule: 'blocked-binaries',
      kind: 'exec',
      target: { path: '/usr/bin/whoami' },
    });
    expectAllowedQuietly('exec-path-out-of-scope', /^root$/m);
  });
  it('blocks everything under a directory rule, and lets it run out of scope', () => {
    expectDenied('exec-directory', {
      policy: 'e2e-exec',
      rule: 'blocked-binaries',
      kind: 'exec',
      target: { path: '/tmp/e2e/blocked-bin/true' },
    });
    expectAllowedQuietly('exec-directory-out-of-scope');
    expectAllowedQuietly('exec-unlisted-in-scope');
  });
  it('unless: exactly the named executable passes; a copy of it elsewhere is still blocked', () => {
    expectAllowedQuietly('unless-named-executable', /uid=0/);
    const { ev } = expectDenied('unless-copy-elsewhere', {
      policy: 'e2e-exec',
      rule: 'id-only-for-allowed',
      kind: 'exec',
      target: { path: '/usr/bin/id' },
    });
    expect(ev.process.comm).toBe('bgattack');
  });
});

describe('enforcing: files', () => {
  it('denies open for write of the protected file; read stays allowed', () => {
    expectDenied('file-write', {
      policy: 'e2e-files',
      rule: 'protected-shadow',
      kind: 'file',
      target: { path: '/tmp/protected/shadow', operation: 'write' },
    });
    const r = expectAllowedQuietly('file-read');
    expect(r.report?.detail).toBe('bytes=7');
  });
  it('denies chmod, rename and unlink of the protected path', () => {
    for (const [name, operation] of [
      ['file-chmod', 'chmod'],
      ['file-rename', 'rename'],
      ['file-unlink', 'unlink'],
    ] as const) {
      expectDenied(name, {
        policy: 'e2e-files',
        rule: 'protected-shadow',
        kind: 'file',
        target: { path: '/tmp/protected/shadow', operation },
      });
    }
  });
  it('leaves other files and processes out of scope alone', () => {
    expectAllowedQuietly('file-unlink-other');
    expectAllowedQuietly('file-write-out-of-scope');
  });
});

describe('enforcing: privileged operations', () => {
  it('capabilities: CAP_SYS_ADMIN (sethostname) and CAP_NET_RAW (raw socket) are denied', () => {
    expectDenied('cap-sys-admin', {
      policy: 'e2e-caps',
      rule: 'sys-admin',
      kind: 'capability',
      target: { name: 'CAP_SYS_ADMIN', number: 21 },
    });
    expectDenied('cap-net-raw', {
      policy: 'e2e-caps',
      rule: 'net-raw',
      kind: 'capability',
      target: { name: 'CAP_NET_RAW', number: 13 },
    });
    expectAllowedQuietly('cap-out-of-scope');
  });
  it('module: finit_module of a .ko is denied; out of scope another module loads', () => {
    const { ev } = expectDenied('module', { policy: 'e2e-privileged', rule: 'modules', kind: 'module' });
    expect(ev.target).toMatchObject({ source: 'file' });
    expect(String(ev.target.path)).toMatch(/crc7\.ko$/);
    expectAllowedQuietly('module-out-of-scope');
  });
  it('bpf: BPF_PROG_LOAD by another process is denied, and the daemon keeps reporting after it', () => {
    const { c } = expectDenied('bpf-prog-load', {
      policy: 'e2e-bpf',
      rule: 'prog-load',
      kind: 'bpf',
      target: { command: 'BPF_PROG_LOAD', number: 5 },
    });
    const later = phases.enforce.cases.filter((x) => x.startedAt > c.startedAt);
    const reportedLater = later.filter((x) => eventsOf(phases.enforce, x).length > 0);
    expect(reportedLater.length).toBeGreaterThan(10);
  });
  it('ptrace: attaching to another process is denied; out of scope it attaches', () => {
    const { ev } = expectDenied('ptrace-attach', {
      policy: 'e2e-privileged',
      rule: 'ptrace-attach',
      kind: 'ptrace',
      target: { mode: 'attach' },
    });
    const victim = Number(/target=(\d+)/.exec(caseOf(phases.enforce, 'ptrace-attach').report!.detail)?.[1]);
    expect(ev.target.pid).toBe(victim);
    expectAllowedQuietly('ptrace-attach-out-of-scope');
  });
  it('mount: denied in scope, allowed out of scope', () => {
    expectDenied('mount', {
      policy: 'e2e-privileged',
      rule: 'mounts',
      kind: 'mount',
      target: { operation: 'mount', fsType: 'tmpfs', mountPoint: '/tmp/e2e/mnt' },
    });
    expectAllowedQuietly('mount-out-of-scope');
  });
  it('setuid: a uid-1000 process holding CAP_SETUID cannot become root', () => {
    const { c, ev } = expectDenied('setuid-root', {
      policy: 'e2e-privileged',
      rule: 'setuid-root',
      kind: 'setuid',
      target: { oldUid: 1000, newUid: 0, toRoot: true },
    });
    expect(c.report!.detail).toBe('uid=1000 euid=1000');
    expect(ev.process.uid).toBe(1000);
    const free = expectAllowedQuietly('setuid-root-out-of-scope');
    expect(free.report!.detail).toBe('uid=0 euid=0');
  });
});

describe('enforcing: allowlist posture and kprobes', () => {
  it('defaultAction block: only the listed program runs and only the listed port connects', () => {
    expectAllowedQuietly('allowlist-listed');
    expectDenied('allowlist-unlisted', {
      policy: 'e2e-allowlist',
      rule: 'default',
      kind: 'exec',
      target: { path: '/usr/bin/id' },
    });
    const listed = caseOf(phases.enforce, 'allowlist-connect-listed');
    expect(listed.report?.error, describeCase(phases.enforce, listed)).toBe('ECONNREFUSED');
    expect(eventsOf(phases.enforce, listed)).toEqual([]);
    expectDenied('allowlist-connect-unlisted', {
      policy: 'e2e-allowlist',
      rule: 'default',
      kind: 'connect',
      mechanism: 'cgroup',
      target: { address: '127.0.0.1', port: 10, protocol: 'tcp' },
    });
  });
  it('a kprobe rule reports calls of commit_creds with the caller', () => {
    const p = phases.enforce;
    const c = caseOf(p, 'kprobe-commit-creds');
    const why = describeCase(p, c);
    expect(c.status, why).toBe(0);
    const evs = eventsOf(p, c).filter((e) => e.policy.name === 'e2e-kprobe');
    expect(evs.length, why).toBeGreaterThanOrEqual(1);
    for (const e of evs) {
      expect(e).toMatchObject({ kind: 'kprobe', mechanism: 'kprobe', outcome: 'allowed', action: 'audit' });
      expect(e.target.function).toBe('commit_creds');
      expect(e.process.comm).toBe('bgattack');
      expect(e.process.tgid).toBe(c.pid);
    }
  });
});

describe('audit mode (--audit)', () => {
  const blocked: [string, string, string, string][] = [
    ['bpf-prog-load', 'e2e-bpf', 'prog-load', 'lsm'],
    ['exec-path', 'e2e-exec', 'blocked-binaries', 'lsm'],
    ['exec-directory', 'e2e-exec', 'blocked-binaries', 'lsm'],
    ['file-write', 'e2e-files', 'protected-shadow', 'lsm'],
    ['file-chmod', 'e2e-files', 'protected-shadow', 'lsm'],
    ['file-rename', 'e2e-files', 'protected-shadow', 'lsm'],
    ['file-unlink', 'e2e-files', 'protected-shadow', 'lsm'],
    ['cap-sys-admin', 'e2e-caps', 'sys-admin', 'lsm'],
    ['cap-net-raw', 'e2e-caps', 'net-raw', 'lsm'],
    ['module', 'e2e-privileged', 'modules', 'lsm'],
    ['ptrace-attach', 'e2e-privileged', 'ptrace-attach', 'lsm'],
    ['mount', 'e2e-privileged', 'mounts', 'lsm'],
    ['setuid-root', 'e2e-privileged', 'setuid-root', 'lsm'],
    ['unless-copy-elsewhere', 'e2e-exec', 'id-only-for-allowed', 'lsm'],
    ['allowlist-unlisted', 'e2e-allowlist', 'default', 'lsm'],
    ['allowlist-connect-unlisted', 'e2e-allowlist', 'default', 'cgroup'],
  ];
  it.each(blocked)('%s goes through and is reported as would-block by %s/%s', (name, policy, rule, mech) => {
    const p = phases.audit;
    const c = caseOf(p, name);
    const why = describeCase(p, c);
    // the action succeeded (a refused TCP connect is the network's answer, not the policy's)
    if (name === 'allowlist-connect-unlisted') expect(c.report?.error, why).toBe('ECONNREFUSED');
    else expect(c.status, why).toBe(0);
    const evs = eventsOf(p, c).filter((e) => e.policy.name === policy && e.policy.rule === rule);
    expect(evs.length, why).toBeGreaterThanOrEqual(1);
    expect(evs[0], why).toMatchObject({
      outcome: 'would-block',
      action: 'block',
      mode: 'audit',
      mechanism: mech,
    });
    expect(evs[0]!.ret, why).toBe(0);
  });
  it('nothing in the audit phase was denied', () => {
    const denied = (phases.audit.events as unknown as Violation[]).filter(
      (e) => e.type === 'violation' && (e.outcome === 'denied' || e.outcome === 'killed'),
    );
    expect(denied).toEqual([]);
    expect(caseOf(phases.audit, 'file-read').status).toBe(0);
    expect(caseOf(phases.audit, 'unless-named-executable').status).toBe(0);
  });
});
