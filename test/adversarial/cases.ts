// The adversarial cases: each is one way an intruder walks around a rule that
// is meant to stop them, written as data so that adding a case is one entry.
// Both runners read this table: test/host/adversarial.test.ts on this
// machine's kernel (cgroup hooks and tracepoints) and
// test/vm/adversarial.test.ts in Debian's 6.1 guest with BPF-LSM. Each case
// runs twice per kernel: enforce (the attacker gets EPERM, or is killed where
// the kernel can only kill, and exactly one event names the rule) and audit
// (the attempt succeeds and exactly one would-block/would-kill event names
// it). The README's "Walk-arounds bpfgate closes" table is checked against
// this one. How to add a case: test/adversarial/README.md.

/**
 * A kernel the suite runs on: Debian 6.1 with BPF-LSM ('lsm'), the same
 * kernel with BPF-LSM built but not active ('fmod': the fmod_ret rung), this
 * host. Another kernel is another key (and a runner that boots it).
 */
export type Kernel = 'lsm' | 'fmod' | 'host';

/** What a case achieves on a kernel: how the attempt ends in enforce mode, and which mechanism reports it. */
export type Expectation =
  | { ends: 'EPERM'; mechanism: 'lsm' | 'fmod_ret' | 'cgroup' }
  /** killed on return from the system call, which completed (sys_enter): kill-after */
  | { ends: 'killed-after'; mechanism: 'tracepoint' }
  /** the kernel offers no hook for this path: the attempt succeeds, said in doctor, explain and the README */
  | { ends: 'uncovered'; why: string };

export interface AdversarialCase {
  /** unique, lowercase with -: the case's cgroup, its policy (adv-<id>) and the README row */
  id: string;
  /** the item of the issue that tracks this class (16.4 network, 16.6 scope, 16.7 the daemon's exemption, 16.8 id changes) */
  item: string;
  /** what the intruder does, in words */
  title: string;
  /** the rule under attack, as a YAML flow mapping without its id (the id is always `r`) */
  rule: string;
  /**
   * the policy is an allowlist (defaultAction: block) and `rule` its allow
   * rule: the attack is what the list does not name, and the event names the
   * rule `default`
   */
  allowlist?: true;
  /** extra scope keys of the case's policy, as a YAML flow mapping (`{ processes: host }`) */
  scope?: string;
  /**
   * cgroup selectors relative to the case's cgroup (default ['/**']: the case's
   * cgroup and everything below it). Every selector stays inside it.
   */
  cgroups?: string[];
  /** cgroups below the case's to create before the daemon starts (relative, no leading /) */
  before?: string[];
  /** shell run after the daemon enforces and before the attack; $CASE is the case's cgroup directory */
  after?: string;
  /** where the attacker runs, relative to the case's cgroup (default: the case's cgroup itself) */
  in?: string;
  /** the attack program's arguments (test/attacks/attack.c); @DAEMON_PID is the pid file of the case's daemon */
  attack: string[];
  /** the event: its kind and the fields its target must have */
  kind: string;
  target: Record<string, unknown>;
  /** the daemon the case needs: the suite's shared one, or its own that is killed before the attack */
  daemon?: 'shared' | 'killed-before-attack';
  /**
   * what it achieves on each kernel; 'fmod', when omitted, is 'lsm' with the
   * fmod_ret twin in place of each BPF-LSM program (the same decisions)
   */
  kernels: Record<'lsm' | 'host', Expectation> & { fmod?: Expectation };
}

const IMDS = '169.254.169.254';
const IMDS6 = 'fd00:ec2::254';
const imds = (port: number, protocol: string, call: string) => ({
  family: 'ipv4',
  address: IMDS,
  port,
  protocol,
  call,
});
const blockImds = `{ kind: connect, action: block, match: { addresses: [${IMDS}/32, ${IMDS6}/128] } }`;
const cgroup = { ends: 'EPERM', mechanism: 'cgroup' } as const;
const both = { lsm: cgroup, host: cgroup };
const lsmOnly = { ends: 'EPERM', mechanism: 'lsm' } as const;
/** Without BPF-LSM (or fmod_ret) nothing sees the change: the attempt succeeds. */
const hooksOnly = (why: string) => ({ ends: 'uncovered', why }) as const;
const NO_SETID_HOOK = 'only the security hooks see this change (no system-call rung)';

export const CASES: AdversarialCase[] = [
  // ---- 16.4: network rules hold for every way to send
  {
    id: 'net-v4mapped-connect',
    item: '16.4',
    title: 'connects to the metadata service through an IPv6 socket, as ::ffff:169.254.169.254',
    rule: blockImds,
    attack: ['connect', `::ffff:${IMDS}`, '80'],
    kind: 'connect',
    target: imds(80, 'tcp', 'connect'),
    kernels: both,
  },
  {
    id: 'net-udp-sendto',
    item: '16.4',
    title: 'sends a UDP datagram to the metadata service with sendto(), never calling connect()',
    rule: blockImds,
    attack: ['sendto', IMDS, '53'],
    kind: 'connect',
    target: imds(53, 'udp', 'sendmsg'),
    kernels: both,
  },
  {
    id: 'net-udp-sendmsg-v6',
    item: '16.4',
    title: "sends a UDP datagram to the metadata service's IPv6 address with sendmsg(), no connect()",
    rule: blockImds,
    attack: ['sendmsg', IMDS6, '53'],
    kind: 'connect',
    target: { family: 'ipv6', address: IMDS6, port: 53, protocol: 'udp', call: 'sendmsg' },
    kernels: both,
  },
  {
    id: 'net-v4mapped-udp',
    item: '16.4',
    title: 'sends a UDP datagram through an IPv6 socket to ::ffff:169.254.169.254',
    rule: blockImds,
    attack: ['sendto', `::ffff:${IMDS}`, '53'],
    kind: 'connect',
    target: imds(53, 'udp', 'sendmsg'),
    kernels: both,
  },
  {
    id: 'net-tcp-fast-open',
    item: '16.4',
    title: 'opens a TCP connection with sendto(MSG_FASTOPEN), which connects inside sendmsg',
    rule: blockImds,
    attack: ['tfo', IMDS, '80'],
    kind: 'connect',
    target: imds(80, 'tcp', 'connect'),
    kernels: both,
  },
  {
    id: 'net-connect-unspecified',
    item: '16.4',
    title: 'reaches a loopback-only service by connecting to 0.0.0.0, which the kernel routes to 127.0.0.1',
    rule: '{ kind: connect, action: block, match: { addresses: [127.0.0.1/32], ports: [6379] } }',
    attack: ['connect', '0.0.0.0', '6379'],
    kind: 'connect',
    target: { family: 'ipv4', address: '127.0.0.1', port: 6379, protocol: 'tcp', call: 'connect' },
    kernels: both,
  },
  listenCase(
    'net-listen-unbound',
    'opens a listening port without bind(): listen() on a fresh socket, the kernel picks the port',
    '{ kind: bind, action: block, match: { protocols: [tcp] } }',
    'inet',
  ),
  {
    ...listenCase(
      'net-listen-allowlist',
      'opens a listening port outside a bind allowlist (only 80 allowed) with listen() and no bind()',
      '{ kind: bind, action: allow, match: { ports: [80], protocols: [tcp] } }',
      'inet6',
    ),
    allowlist: true,
  },
  bindAllV4(
    'net-bind-v4mapped',
    'listens on every IPv4 interface through an IPv6 socket bound to ::ffff:0.0.0.0',
    '::ffff:0.0.0.0',
  ),
  bindAllV4(
    'net-bind-dual-stack',
    'listens on every IPv4 interface by binding :: on a dual-stack IPv6 socket',
    '::',
  ),
  // ---- 16.6: scope follows the system as it changes
  {
    id: 'scope-unshare-pid',
    item: '16.6',
    title:
      'steps out of a host-only policy with unshare(CLONE_NEWPID), which moves only its future children, then connects',
    rule: blockImds,
    scope: '{ processes: host }',
    attack: ['--unshare-pid', 'connect', IMDS, '80'],
    kind: 'connect',
    target: imds(80, 'tcp', 'connect'),
    kernels: both,
  },
  {
    id: 'scope-container-pidns',
    item: '16.6',
    title: "acts from a new pid namespace (a container's process) under a containers-only policy",
    rule: blockImds,
    scope: '{ processes: containers }',
    attack: ['--pidns', 'connect', IMDS, '80'],
    kind: 'connect',
    target: imds(80, 'tcp', 'connect'),
    kernels: both,
  },
  // ---- 16.8: every id change
  {
    id: 'id-fsuid',
    item: '16.8',
    title:
      'keeps CAP_SETUID after dropping to uid 1000, sets only its fs uid to 0 (setfsuid) and reads a file only root may read',
    rule: '{ kind: setuid, action: block, match: { to: root } }',
    after: 'echo secret > /tmp/adv-id-fsuid && chmod 600 /tmp/adv-id-fsuid',
    attack: ['--drop', '1000:1000', '--raise', 'setfsuid', '0', '/tmp/adv-id-fsuid'],
    kind: 'setuid',
    target: { id: 'uid', oldUid: 1000, newFsuid: 0, toRoot: true },
    kernels: {
      lsm: lsmOnly,
      host: hooksOnly('the system-call rung reads setuid, setreuid and setresuid, not setfsuid'),
    },
  },
  {
    id: 'id-setresgid',
    item: '16.8',
    title: 'keeps CAP_SETGID after dropping to gid 1000, then takes gid 0 back (setresgid(0, 0, 0))',
    rule: '{ kind: setuid, action: block, match: { to: root, ids: [gid] } }',
    attack: ['--drop', '1000:1000', '--raise', 'setresgid', '0', '0', '0'],
    kind: 'setuid',
    target: { id: 'gid', oldGid: 1000, newGid: 0, newEgid: 0, newSgid: 0, newFsgid: 0, toRoot: true },
    kernels: { lsm: lsmOnly, host: hooksOnly(NO_SETID_HOOK) },
  },
  {
    id: 'id-setgroups',
    item: '16.8',
    title: 'keeps CAP_SETGID after dropping to uid and gid 1000, then joins group 0 (setgroups)',
    rule: '{ kind: setuid, action: block, match: { to: root, ids: [groups] } }',
    attack: ['--drop', '1000:1000', '--raise', 'setgroups', '0'],
    kind: 'setuid',
    target: { id: 'groups', oldGroups: 0, newGroups: 1, toRoot: true },
    kernels: { lsm: lsmOnly, host: hooksOnly(NO_SETID_HOOK) },
  },
  {
    id: 'id-capset',
    item: '16.8',
    title:
      'drops to uid 1000 keeping its permitted capabilities, then raises them into the effective set (capset)',
    rule: '{ kind: setuid, action: block, match: { to: root, ids: [capabilities] } }',
    attack: ['--drop', '1000:1000', 'capset'],
    kind: 'setuid',
    target: { id: 'capabilities', toRoot: true },
    kernels: { lsm: lsmOnly, host: hooksOnly(NO_SETID_HOOK) },
  },
];

/**
 * listen() on a TCP socket that was never bound: the kernel picks the port,
 * and no bind hook sees it. BPF-LSM denies it in socket_listen; without it
 * only the system-call tracepoint sees the call, and can only kill.
 */
function listenCase(id: string, title: string, rule: string, family: 'inet' | 'inet6'): AdversarialCase {
  return {
    id,
    item: '16.4',
    title,
    rule,
    attack: ['listen', family],
    kind: 'bind',
    target: { family: family === 'inet6' ? 'ipv6' : 'ipv4', port: 0, protocol: 'tcp', call: 'listen' },
    kernels: {
      lsm: { ends: 'EPERM', mechanism: 'lsm' },
      host: { ends: 'killed-after', mechanism: 'tracepoint' },
    },
  };
}

/** A bind of every IPv4 interface spelt as an IPv6 address (`host`), against a rule naming 0.0.0.0. */
function bindAllV4(id: string, title: string, host: string): AdversarialCase {
  return {
    id,
    item: '16.4',
    title,
    rule: '{ kind: bind, action: block, match: { addresses: [0.0.0.0/32], ports: [8080] } }',
    attack: ['bind', host, '8080'],
    kind: 'bind',
    target: { family: 'ipv4', address: '0.0.0.0', port: 8080, protocol: 'tcp', call: 'bind' },
    kernels: both,
  };
}
