// The kernel suite's cases as data: what the attacker runs, which rule must
// stop it (and of which class, so that each kernel's answer follows from
// test/support/kernels.ts), what it gets when nothing stops it, and what it
// left behind. Adding a case is one entry. Two sets: the rule-kind attacks
// against the suite's own policies (test/fixtures/guest-policies/e2e) and
// the attacks against the starter policies (policies/, docs/attacks.md "Attacks
// bpfgate stops").
import type { KernelId, RuleClass } from '../kernels.ts';

/** Where a case runs: the attacker, the cgroup root of the suite's test cgroups, the guest kernel's modules. */
export interface CaseContext {
  kernel: KernelId;
  /** the attacker program (test/vm/scenarios/bgattack.c) */
  attacker: string;
  /** the cgroup every scope of the suite lives under: the guest's root, or the host test's own cgroup */
  cg: string;
  /** Debian 6.1's modules (lib/modules/<version>) */
  modules: string;
}

/** The rule a case attacks. */
export interface CaseRule {
  policy: string;
  rule: string;
  kind: string;
  cls: RuleClass;
  /** what the rule asks: block, kill (uprobe), or audit (reported, allowed) */
  action: 'block' | 'kill' | 'audit';
  /** the event's target (a subset) */
  target?: Record<string, unknown>;
}

export interface SuiteCase {
  name: string;
  /** the attacker's command line: argv[0] is its path */
  argv(c: CaseContext): string[];
  /** the rule that must act; none: a control nothing may stop or report */
  rule?: CaseRule;
  /** what the call returns when nothing stops it (default 'ok'); per kernel where they differ */
  free?: string | Partial<Record<KernelId, string>>;
  /** bash before the case */
  prep?: string;
  /** bash after the case, printing what the attack left behind */
  check?: string;
  /** what the check prints on kernel k, by the attack's fate */
  after?: (k: KernelId, fate: Fate) => string;
  /** the attacker's report detail, by the attempt's fate (when it reports: EPERM or ok) */
  detail?: Partial<Record<Fate, string>>;
  /**
   * run in a private mount namespace of its own, after this bash: what it
   * mounts or binds dies with it (never on the host's mounts)
   */
  mountns?: string;
  /** a control: not part of the audit phase */
  control?: true;
  /** only on these kernels (default: every one) */
  kernels?: readonly KernelId[];
}

/**
 * What became of the attempt: stopped before it acted (denied), killed on
 * return from a call that completed (killed-after), or run (audit mode, a
 * control, no hook).
 */
export type Fate = 'stopped' | 'killed-after' | 'ran';

export function freeOf(c: SuiteCase, k: KernelId): string {
  if (c.free === undefined) return 'ok';
  if (typeof c.free === 'string') return c.free;
  return c.free[k] ?? 'ok';
}

const A = (c: CaseContext, ...rest: string[]) => [c.attacker, ...rest];
const IN = (c: CaseContext, group: string) => ['--cgroup', `${c.cg}/e2e/${group}`];
/** the attacker copied where the uprobe policies name it (test/fixtures/guest-policies/e2e/e2e-uprobe*.yaml) */
const UPROBE_BIN = '/tmp/e2e/uprobe/bgattack';
const uprobeRule = (
  policy: string,
  rule: string,
  action: 'audit' | 'kill',
  target: Record<string, unknown>,
): CaseRule => ({
  policy,
  rule,
  kind: 'uprobe',
  cls: 'uprobe',
  action,
  target: { binary: UPROBE_BIN, symbol: 'bg_uprobe_line', ...target },
});

const SHADOW = '/tmp/protected/shadow';
const shadowPrep = `mkdir -p /tmp/protected && echo secret > ${SHADOW} && chmod 640 ${SHADOW}`;
const shadowCheck = `cat ${SHADOW} 2>/dev/null || echo missing; stat -c %a ${SHADOW} 2>/dev/null || echo missing`;
const untouched = 'secret\n640\n';
/** The protected file after an attack: untouched when stopped, what the call did when killed after it, what the program did when it ran. */
const shadowAfter =
  (killedAfter: string, ran = killedAfter) =>
  (_k: KernelId, fate: Fate) =>
    fate === 'stopped' ? untouched : fate === 'killed-after' ? killedAfter : ran;
/** Whether crc7 was loaded: its init runs inside finit_module, so loaded means it ran. */
export const MODULE_CHECK =
  'if [ -e /proc/modules ]; then grep -q "^crc7 " /proc/modules && echo loaded || echo not loaded; else echo no modules; fi';
export const moduleAfter = (k: KernelId, fate: Fate) =>
  k === 'host' ? 'no modules\n' : fate === 'stopped' ? 'not loaded\n' : 'loaded\n';

const files = (rule: string): CaseRule => ({
  policy: 'e2e-files',
  rule,
  kind: 'file',
  cls: 'security',
  action: 'block',
});
const privileged = (rule: string, kind: string, cls: RuleClass = 'security'): CaseRule => ({
  policy: 'e2e-privileged',
  rule,
  kind,
  cls,
  action: 'block',
});
const exec = (rule: string, path: string, policy = 'e2e-exec'): CaseRule => ({
  policy,
  rule,
  kind: 'exec',
  cls: 'exec',
  action: 'block',
  target: { path },
});

/** The rule-kind attacks: test/fixtures/guest-policies/e2e, enforcing then --audit. */
export const E2E_CASES: readonly SuiteCase[] = [
  // the bpf block covers the suite's whole cgroup: first, so later events show the daemon still reporting
  {
    name: 'bpf-prog-load',
    argv: (c) => A(c, '--cgroup', c.cg, 'bpf-prog-load'),
    rule: {
      policy: 'e2e-bpf',
      rule: 'prog-load',
      kind: 'bpf',
      cls: 'security',
      action: 'block',
      target: { command: 'BPF_PROG_LOAD', number: 5 },
    },
  },
  {
    name: 'exec-path',
    argv: (c) => A(c, ...IN(c, 'enforced'), 'exec', '/usr/bin/whoami'),
    rule: exec('blocked-binaries', '/usr/bin/whoami'),
  },
  { name: 'exec-path-out-of-scope', argv: (c) => A(c, 'exec', '/usr/bin/whoami'), control: true },
  {
    name: 'exec-directory',
    argv: (c) => A(c, ...IN(c, 'enforced'), 'exec', '/tmp/e2e/blocked-bin/true'),
    rule: exec('blocked-binaries', '/tmp/e2e/blocked-bin/true'),
  },
  {
    name: 'exec-directory-out-of-scope',
    argv: (c) => A(c, 'exec', '/tmp/e2e/blocked-bin/true'),
    control: true,
  },
  {
    name: 'exec-unlisted-in-scope',
    argv: (c) => A(c, ...IN(c, 'enforced'), 'exec', '/usr/bin/true'),
    control: true,
  },
  {
    name: 'file-write',
    argv: (c) => A(c, ...IN(c, 'enforced'), 'write', SHADOW),
    rule: { ...files('protected-shadow'), target: { path: SHADOW, operation: 'write' } },
    prep: shadowPrep,
    check: shadowCheck,
    // killed after the open, before its write; in audit mode the write is done
    after: shadowAfter(untouched, 'secret\nx\n640\n'),
  },
  {
    name: 'file-open-truncate',
    argv: (c) => A(c, ...IN(c, 'enforced'), 'truncate-open', SHADOW),
    rule: { ...files('protected-shadow'), target: { path: SHADOW, operation: 'write' } },
    prep: shadowPrep,
    check: shadowCheck,
    // the open itself empties the file: a kill after the call is too late
    after: shadowAfter('640\n'),
  },
  {
    name: 'file-read',
    argv: (c) => A(c, ...IN(c, 'enforced'), 'read', SHADOW),
    prep: shadowPrep,
    detail: { ran: 'bytes=7' },
    control: true,
  },
  {
    name: 'file-chmod',
    argv: (c) => A(c, ...IN(c, 'enforced'), 'chmod', SHADOW, '666'),
    rule: { ...files('protected-shadow'), target: { path: SHADOW, operation: 'chmod' } },
    prep: shadowPrep,
    check: shadowCheck,
    after: shadowAfter('secret\n666\n'),
  },
  {
    name: 'file-rename',
    argv: (c) => A(c, ...IN(c, 'enforced'), 'rename', SHADOW, `${SHADOW}.moved`),
    rule: { ...files('protected-shadow'), target: { path: SHADOW, operation: 'rename' } },
    prep: `rm -f ${SHADOW}.moved; ${shadowPrep}`,
    check: shadowCheck,
    after: shadowAfter('missing\nmissing\n'),
  },
  {
    name: 'file-unlink',
    argv: (c) => A(c, ...IN(c, 'enforced'), 'unlink', SHADOW),
    rule: { ...files('protected-shadow'), target: { path: SHADOW, operation: 'unlink' } },
    prep: shadowPrep,
    check: shadowCheck,
    after: shadowAfter('missing\nmissing\n'),
  },
  {
    name: 'file-unlink-other',
    argv: (c) => A(c, ...IN(c, 'enforced'), 'unlink', '/tmp/protected/other'),
    prep: 'echo x > /tmp/protected/other',
    control: true,
  },
  {
    name: 'file-write-out-of-scope',
    argv: (c) => A(c, 'write', SHADOW),
    prep: shadowPrep,
    control: true,
  },
  {
    name: 'cap-sys-admin',
    argv: (c) => A(c, ...IN(c, 'caps'), 'sethostname'),
    rule: {
      policy: 'e2e-caps',
      rule: 'sys-admin',
      kind: 'capability',
      cls: 'capability',
      action: 'block',
      target: { name: 'CAP_SYS_ADMIN', number: 21 },
    },
  },
  {
    name: 'cap-net-raw',
    argv: (c) => A(c, ...IN(c, 'caps'), 'raw-socket'),
    rule: {
      policy: 'e2e-caps',
      rule: 'net-raw',
      kind: 'capability',
      cls: 'capability',
      action: 'block',
      target: { name: 'CAP_NET_RAW', number: 13 },
    },
  },
  { name: 'cap-out-of-scope', argv: (c) => A(c, 'sethostname'), control: true },
  {
    name: 'module',
    argv: (c) => A(c, ...IN(c, 'enforced'), 'finit-module', `${c.modules}/kernel/lib/crc7.ko`),
    rule: { ...privileged('modules', 'module'), target: { source: 'file' } },
    // the host kernel has no module support at all
    free: { host: 'ENOSYS' },
    check: MODULE_CHECK,
    after: moduleAfter,
  },
  {
    name: 'module-out-of-scope',
    argv: (c) => A(c, 'finit-module', `${c.modules}/kernel/lib/crc8.ko`),
    free: { host: 'ENOSYS' },
    control: true,
  },
  {
    name: 'ptrace-attach',
    argv: (c) => A(c, ...IN(c, 'enforced'), 'ptrace-attach', '@/tmp/e2e/victim.pid'),
    rule: { ...privileged('ptrace-attach', 'ptrace'), target: { mode: 'attach' } },
  },
  {
    name: 'ptrace-attach-out-of-scope',
    argv: (c) => A(c, 'ptrace-attach', '@/tmp/e2e/victim.pid'),
    control: true,
  },
  {
    name: 'mount',
    argv: (c) => A(c, ...IN(c, 'enforced'), 'mount', 'tmpfs', '/tmp/e2e/mnt', 'tmpfs'),
    rule: {
      ...privileged('mounts', 'mount'),
      target: { operation: 'mount', fsType: 'tmpfs', mountPoint: '/tmp/e2e/mnt' },
    },
    mountns: ':',
  },
  {
    name: 'mount-out-of-scope',
    argv: (c) => A(c, 'mount', 'tmpfs', '/tmp/e2e/mnt-free', 'tmpfs'),
    mountns: ':',
    control: true,
  },
  {
    name: 'setuid-root',
    argv: (c) => A(c, ...IN(c, 'enforced'), 'setuid-root'),
    rule: { ...privileged('setuid-root', 'setuid'), target: { oldUid: 1000, newUid: 0, toRoot: true } },
    detail: { stopped: 'uid=1000 euid=1000', ran: 'uid=0 euid=0' },
  },
  {
    name: 'setuid-root-out-of-scope',
    argv: (c) => A(c, 'setuid-root'),
    detail: { ran: 'uid=0 euid=0' },
    control: true,
  },
  {
    name: 'unless-named-executable',
    argv: (c) => ['/tmp/e2e/allowed/bgattack', ...IN(c, 'enforced'), 'exec', '/usr/bin/id'],
    control: true,
  },
  {
    name: 'unless-copy-elsewhere',
    argv: (c) => ['/tmp/e2e/copy/bgattack', ...IN(c, 'enforced'), 'exec', '/usr/bin/id'],
    rule: exec('id-only-for-allowed', '/usr/bin/id'),
  },
  {
    name: 'allowlist-listed',
    argv: (c) => A(c, ...IN(c, 'allowlist'), 'exec', '/usr/bin/true'),
    control: true,
  },
  {
    name: 'allowlist-unlisted',
    argv: (c) => A(c, ...IN(c, 'allowlist'), 'exec', '/usr/bin/id'),
    rule: exec('default', '/usr/bin/id', 'e2e-allowlist'),
  },
  {
    name: 'allowlist-connect-listed',
    argv: (c) => A(c, ...IN(c, 'allowlist'), 'connect', '127.0.0.1', '9'),
    free: 'ECONNREFUSED',
    control: true,
  },
  {
    name: 'allowlist-connect-unlisted',
    argv: (c) => A(c, ...IN(c, 'allowlist'), 'connect', '127.0.0.1', '10'),
    rule: {
      policy: 'e2e-allowlist',
      rule: 'default',
      kind: 'connect',
      cls: 'cgroup',
      action: 'block',
      target: { address: '127.0.0.1', port: 10, protocol: 'tcp' },
    },
    // nothing listens there: the network's own answer when the policy lets it through
    free: 'ECONNREFUSED',
  },
  {
    name: 'kprobe-commit-creds',
    argv: (c) => A(c, ...IN(c, 'kprobe'), 'setgid', '0'),
    rule: {
      policy: 'e2e-kprobe',
      rule: 'creds',
      kind: 'kprobe',
      cls: 'kprobe',
      action: 'audit',
      target: { function: 'commit_creds' },
    },
  },
  {
    // a function of a binary the setup copied to /tmp/e2e/uprobe: the returned line, captured
    name: 'uprobe-returned-line',
    argv: (c) => [UPROBE_BIN, ...IN(c, 'uprobe'), 'uprobe-line', 'whoami'],
    rule: uprobeRule('e2e-uprobe', 'line', 'audit', { captured: 'typed whoami' }),
    detail: { ran: 'typed whoami' },
  },
  {
    name: 'uprobe-kill-on-entry',
    argv: (c) => [UPROBE_BIN, ...IN(c, 'uprobe-kill'), 'uprobe-line', 'id'],
    rule: uprobeRule('e2e-uprobe-kill', 'kill', 'kill', { capture: 'none' }),
  },
  {
    // the same program at another inode (the attacker itself): not covered
    name: 'uprobe-copy-elsewhere',
    argv: (c) => A(c, ...IN(c, 'uprobe-kill'), 'uprobe-line', 'id'),
    control: true,
  },
];

/** Set-up of the rule-kind phases: the suite's cgroups, binaries, a victim to trace. */
export function e2eSetup(c: CaseContext): string {
  return `set -e
for g in enforced caps allowlist kprobe uprobe uprobe-kill; do mkdir -p ${c.cg}/e2e/$g; done
# a module an earlier phase let through (audit mode) must not look like this phase's
if grep -q '^crc7 ' /proc/modules 2>/dev/null; then rmmod crc7; fi
mkdir -p /tmp/e2e/blocked-bin /tmp/e2e/allowed /tmp/e2e/copy /tmp/e2e/uprobe /tmp/protected
cp /usr/bin/true /tmp/e2e/blocked-bin/true
cp ${c.attacker} /tmp/e2e/allowed/bgattack
cp ${c.attacker} /tmp/e2e/copy/bgattack
cp ${c.attacker} /tmp/e2e/uprobe/bgattack
[ -s /tmp/e2e/victim.pid ] && kill -0 "$(cat /tmp/e2e/victim.pid)" 2>/dev/null || { setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > /tmp/e2e/victim.pid; }
`;
}
