// The attacks against the starter policies (policies/*.yaml), as data: the
// "Attacks bpfgate stops" table of docs/attacks.md is rendered from this list and the
// kernel suite's results (test/support/kernel-suite/tables.ts), and the suite
// performs every row on each kernel. How the starter policies are adapted to
// a disposable test machine is docs/attacks.md.
import { parse, stringify } from 'yaml';
import { type CaseContext, type CaseRule, MODULE_CHECK, moduleAfter, type SuiteCase } from './cases.ts';

/** An attack: a suite case with the words of its row in docs/attacks.md. */
export interface Attack extends SuiteCase {
  rule: CaseRule;
  /** the table's "Attack" column */
  title: string;
  /** the table's "What the attacker runs" column */
  runs: string;
}

/** The cgroup given to the starter policies that ship without a scope (global on a real host). */
export const ATTACK_CGROUP = '/attack';
/** The service an intruder has compromised (no-shells-in-services covers /system.slice/**). */
export const SERVICE_CGROUP = '/system.slice/webapp.service';

/**
 * The shadow file the shadow attacks see: a writable copy bound over
 * /etc/shadow in the attack's own mount namespace (the guest's root is
 * read-only; the host's file is never touched).
 */
const SHADOW_BIND =
  'cp /tmp/attack/shadow.orig /tmp/attack/shadow.copy && mount --bind /tmp/attack/shadow.copy /etc/shadow';

const inAttack = (c: CaseContext) => ['--cgroup', `${c.cg}${ATTACK_CGROUP}`];
const inService = (c: CaseContext) => ['--cgroup', `${c.cg}${SERVICE_CGROUP}`];

const starter = (
  policy: string,
  rule: string,
  kind: string,
  cls: CaseRule['cls'],
  target: object,
): CaseRule => ({
  policy,
  rule,
  kind,
  cls,
  action: 'block',
  target: target as Record<string, unknown>,
});

export const ATTACKS: readonly Attack[] = [
  {
    name: 'service-shell',
    title: 'a compromised service spawns a shell',
    runs: 'a process in the cgroup `/system.slice/webapp.service` calls `execve("/bin/sh", ["sh", "-c", "id"])`',
    argv: (c) => [c.attacker, ...inService(c), 'exec', '/bin/sh', '-c', 'id'],
    // the file /bin/sh resolves to
    rule: starter('no-shells-in-services', 'shells', 'exec', 'exec', { path: '/usr/bin/dash' }),
  },
  {
    name: 'raw-socket-reverse-shell',
    title: 'a reverse shell over ICMP opens a raw socket',
    runs: '`socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)`',
    argv: (c) => [c.attacker, ...inAttack(c), 'raw-socket'],
    // inet sockets: the cgroup hook where no security_* hook runs
    rule: starter('no-raw-sockets', 'raw-ip-sockets', 'socket', 'inet', { family: 'inet', type: 'raw' }),
  },
  {
    name: 'packet-sniffer',
    title: 'traffic is sniffed (or frames spoofed) on a packet socket',
    runs: '`socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))`',
    argv: (c) => [c.attacker, ...inAttack(c), 'packet-socket'],
    rule: starter('no-raw-sockets', 'packet-sockets', 'socket', 'security', {
      family: 'packet',
      type: 'raw',
    }),
  },
  {
    name: 'read-shadow',
    title: 'password hashes are read for offline cracking',
    runs: '`open("/etc/shadow", O_RDONLY)` and `read`',
    argv: (c) => [c.attacker, ...inAttack(c), 'read', '/etc/shadow'],
    rule: {
      ...starter('protect-shadow', 'shadow-reads', 'file', 'security', {
        path: '/etc/shadow',
        operation: 'read',
      }),
      action: 'audit',
    },
    mountns: SHADOW_BIND,
  },
  {
    name: 'write-shadow',
    title: 'a backdoor account or password is written into the shadow file',
    runs: '`open("/etc/shadow", O_WRONLY|O_APPEND)`, then `write`',
    argv: (c) => [c.attacker, ...inAttack(c), 'write', '/etc/shadow'],
    rule: starter('protect-shadow', 'shadow-writes', 'file', 'security', {
      path: '/etc/shadow',
      operation: 'write',
    }),
    check: 'cmp -s /tmp/attack/shadow.copy /tmp/attack/shadow.orig && echo unchanged || echo changed',
    // killed after the open, before its write
    after: (_k, fate) => (fate === 'ran' ? 'changed\n' : 'unchanged\n'),
    mountns: SHADOW_BIND,
  },
  {
    name: 'drop-and-run-from-tmp',
    title: 'a payload is dropped in `/tmp` and started',
    runs: 'copies a binary to `/tmp/.x/payload` (allowed), then `execve("/tmp/.x/payload")`',
    argv: (c) => [c.attacker, ...inAttack(c), 'drop-exec', '/usr/bin/true', '/tmp/.x/payload'],
    rule: starter('no-exec-from-tmp', 'temp-directories', 'exec', 'exec', { path: '/tmp/.x/payload' }),
  },
  {
    name: 'load-kernel-module',
    title: 'a rootkit module is loaded',
    runs: '`finit_module(fd)` on a `.ko` of the running kernel (`crc7.ko`)',
    argv: (c) => [c.attacker, ...inAttack(c), 'finit-module', `${c.modules}/kernel/lib/crc7.ko`],
    rule: starter('no-kernel-modules', 'module-load', 'module', 'security', { source: 'file' }),
    check: MODULE_CHECK,
    after: moduleAfter,
  },
  {
    name: 'ptrace-inject',
    title: 'code is injected into another process',
    runs: '`ptrace(PTRACE_ATTACH, pid)` on a running process',
    argv: (c) => [c.attacker, ...inAttack(c), 'ptrace-attach', '@/tmp/attack/victim.pid'],
    rule: starter('no-ptrace', 'ptrace-attach', 'ptrace', 'security', { mode: 'attach' }),
  },
  {
    name: 'mount-host-filesystem',
    title: 'from a container, the host’s file system is mounted',
    runs: 'in a new pid and mount namespace: `mount("hostroot", "/tmp/hostfs", "9p", 0, "trans=virtio,…")` (in the test VM the host root is that 9p export)',
    argv: (c) => [
      c.attacker,
      ...inAttack(c),
      '--pidns',
      'mount',
      'hostroot',
      '/tmp/hostfs',
      '9p',
      'trans=virtio,version=9p2000.L',
    ],
    rule: starter('no-mounts-in-containers', 'container-mounts', 'mount', 'security', {
      operation: 'mount',
      fsType: '9p',
      mountPoint: '/tmp/hostfs',
    }),
  },
  {
    name: 'cloud-metadata',
    title: 'from a container, the instance’s cloud credentials are fetched',
    runs: 'in a new pid namespace: `connect()` to `169.254.169.254:80` over TCP',
    argv: (c) => [c.attacker, ...inAttack(c), '--pidns', 'connect', '169.254.169.254', '80'],
    rule: starter('no-cloud-metadata', 'metadata-endpoints', 'connect', 'cgroup', {
      address: '169.254.169.254',
      port: 80,
      protocol: 'tcp',
    }),
    free: 'ENETUNREACH',
  },
  {
    name: 'core-pattern',
    title:
      '`kernel.core_pattern` is pointed at a payload, which the kernel then runs as root on the next crash',
    runs: '`open("/proc/sys/kernel/core_pattern", O_WRONLY)`, `write("|/tmp/.x/payload %p")` (on the host: its current value, should anything let it through)',
    argv: (c) => [
      c.attacker,
      ...inAttack(c),
      'sysctl-write',
      'kernel.core_pattern',
      c.kernel === 'host' ? '-' : '|/tmp/.x/payload %p',
    ],
    rule: starter('no-sysctl-writes', 'hardening-sysctls', 'sysctl', 'cgroup', {
      name: 'kernel.core_pattern',
      operation: 'write',
    }),
  },
  {
    name: 'bpf-rootkit',
    title: 'an eBPF program is loaded (rootkit, or blinding security tools)',
    runs: '`bpf(BPF_PROG_LOAD)` of a two-instruction socket filter',
    argv: (c) => [c.attacker, ...inAttack(c), 'bpf-prog-load'],
    rule: starter('no-bpf-outside-loaders', 'bpf-load', 'bpf', 'security', { command: 'BPF_PROG_LOAD' }),
  },
  {
    name: 'setuid-root',
    title: 'a process that kept CAP_SETUID after dropping to uid 1000 takes root back',
    runs: '`setuid(0)` from uid 1000 with CAP_SETUID effective',
    argv: (c) => [c.attacker, ...inAttack(c), 'setuid-root'],
    rule: starter('no-setuid-root', 'setuid-to-root', 'setuid', 'security', { oldUid: 1000, newUid: 0 }),
    detail: { stopped: 'uid=1000 euid=1000' },
  },
  {
    name: 'write-dev-mem',
    title: 'physical memory is opened for writing (kernel patching)',
    runs: '`open(O_WRONLY)` of a node of `/dev/mem` (char 1:1; the test makes one in `/tmp`, as this host has no `/dev/mem`)',
    // the device cgroup decides by the node's numbers, whatever its name
    prep: 'rm -f /tmp/.bg-dev-mem && mknod -m 0600 /tmp/.bg-dev-mem c 1 1',
    argv: (c) => [c.attacker, ...inAttack(c), 'open-write', '/tmp/.bg-dev-mem'],
    rule: starter('no-raw-device-writes', 'physical-memory', 'device', 'cgroup', {
      type: 'char',
      major: 1,
      minor: 1,
    }),
  },
];

/** The same calls outside every policy's scope get the kernel's own answers (the denials above are the policies'). */
export const ATTACK_CONTROLS: readonly SuiteCase[] = [
  {
    name: 'control-cloud-metadata',
    argv: (c) => [c.attacker, 'connect', '169.254.169.254', '80'],
    free: 'ENETUNREACH',
    control: true,
    // the guests have no network; the host may have a metadata service there
    kernels: ['guest-lsm', 'guest-fmod-ret'],
  },
  {
    name: 'control-service-shell',
    argv: (c) => [c.attacker, 'exec', '/bin/sh', '-c', 'echo shell-ran'],
    control: true,
  },
];

/**
 * The starter policy as the suite loads it (docs/attacks.md): a policy
 * without any scope is scoped to `<prefix>/attack/**`, one with cgroups keeps
 * them below `<prefix>` (the host test's cgroup; '' in a guest), and a policy
 * shipped in audit mode is switched to enforce. Rules, matches and
 * exceptions are untouched.
 */
export function adaptStarterPolicy(text: string, prefix: string): string {
  return adaptPolicy(text, { prefix, unscoped: `${prefix}${ATTACK_CGROUP}/**`, enforce: true });
}

/**
 * A policy moved below the cgroup `prefix`: its scope's and its exceptions'
 * cgroup selectors prefixed, a policy without any scope given `unscoped`
 * (null: left global), and, with `enforce`, audit mode switched to enforce.
 */
export function adaptPolicy(
  text: string,
  o: { prefix: string; unscoped: string | null; enforce?: boolean },
): string {
  const doc = parse(text) as {
    spec: { scope?: Record<string, unknown>; mode?: string; rules: { unless?: { cgroups?: string[] } }[] };
  };
  const scope = doc.spec.scope ?? {};
  const unscopedPolicy = Object.values(scope).every(
    (v) => v === undefined || (Array.isArray(v) && v.length === 0),
  );
  if (unscopedPolicy) {
    if (o.unscoped !== null) doc.spec.scope = { cgroups: [o.unscoped] };
  } else if (Array.isArray(scope.cgroups) && scope.cgroups.length > 0) {
    scope.cgroups = (scope.cgroups as string[]).map((g) => `${o.prefix}${g}`);
  } else if (o.prefix) {
    // scoped by uid, executable or pid namespace only: on the host, kept to the test's cgroup too
    scope.cgroups = [`${o.prefix}/**`];
  }
  for (const r of doc.spec.rules) {
    if (r.unless?.cgroups) r.unless.cgroups = r.unless.cgroups.map((g) => `${o.prefix}${g}`);
  }
  if (o.enforce && doc.spec.mode === 'audit') doc.spec.mode = 'enforce';
  return stringify(doc);
}

/** Set-up of the starter phase: the cgroups, a copy of /etc/shadow to compare with, a victim to trace. */
export function attackSetup(c: CaseContext): string {
  return `set -e
mkdir -p ${c.cg}${ATTACK_CGROUP} ${c.cg}${SERVICE_CGROUP} ${c.cg}/system.slice/nginx.service /tmp/.x /tmp/attack
# a module an earlier phase let through (audit mode) must not look like this phase's
if grep -q '^crc7 ' /proc/modules 2>/dev/null; then rmmod crc7; fi
cp /etc/shadow /tmp/attack/shadow.orig
setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > /tmp/attack/victim.pid
`;
}
