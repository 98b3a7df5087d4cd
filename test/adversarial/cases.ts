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

import { ATTACK_STATIC } from '../support/attacks.ts';

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
  /** the new program killed before its first instruction (sched_process_exec): the exec itself succeeded */
  | { ends: 'killed'; mechanism: 'tracepoint' }
  /** the kernel offers no hook for this path: the attempt succeeds, said in doctor, explain and the README */
  | { ends: 'uncovered'; why: string };

export interface AdversarialCase {
  /** unique, lowercase with -: the case's cgroup, its policy (adv-<id>) and the README row */
  id: string;
  /** the item of the issue that tracks this class (16.4 network, 16.6 scope, 16.7 the daemon's exemption, 16.8 id changes) */
  item: string;
  /** what the intruder does, in words */
  title: string;
  /**
   * the rule under attack, as a YAML flow mapping without its id (the id is always `r`);
   * `@SHA256:<path>` is the SHA-256 of that file when the policy is written
   */
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
  /**
   * shell run after the daemon enforces and before the attack; $CASE is the case's cgroup
   * directory, $KERNEL the kernel (lsm, fmod, host), $MODE enforce or audit; a non-zero exit
   * fails the case
   */
  after?: string;
  /** where the attacker runs, relative to the case's cgroup (default: the case's cgroup itself) */
  in?: string;
  /**
   * the attack program's arguments (test/attacks/attack.c); @DAEMON_PID is the
   * pid file of the case's daemon, @ATTACKS/ the directory of the attack
   * programs (`exec @ATTACKS/execattack ...` runs test/attacks/execattack.c)
   */
  attack: string[];
  /** the event: its kind and the fields its target must have */
  kind: string;
  target: Record<string, unknown>;
  /**
   * shell run before the daemon starts, in every mode (the files a file rule
   * protects, which must exist when the policy is loaded); it makes them
   * afresh each time
   */
  files?: string;
  /** the daemon the case needs: the suite's shared one, or its own that is killed before the attack */
  daemon?: 'shared' | 'killed-before-attack';
  /**
   * what it achieves on each kernel; 'fmod', when omitted, is 'lsm' with the
   * fmod_ret twin in place of each BPF-LSM program (the same decisions)
   */
  kernels: Record<'lsm' | 'host', Expectation> & { fmod?: Expectation };
}

/** Where the file cases make their files: a tmpfs in the guest, below /tmp here. */
export const FILES_ROOT = '/tmp/bgtest';
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
/** Where the exec cases make their programs and files. */
const EXEC_DIR = '/tmp/bgtest-exec';
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
  {
    id: 'scope-effective-uid',
    item: '16.6',
    title:
      'binds as effective uid 0 with real uid 1000 (a set-uid root program) under a policy scoped to effective uid 0',
    rule: '{ kind: bind, action: block, match: { ports: [8084] } }',
    scope: '{ euids: [0] }',
    attack: ['--ids', '1000:0', 'bind', '0.0.0.0', '8084'],
    kind: 'bind',
    target: { family: 'ipv4', address: '0.0.0.0', port: 8084, protocol: 'tcp', call: 'bind' },
    kernels: both,
  },
  {
    id: 'exception-effective-uid',
    item: '16.6',
    title:
      'binds with real uid 0 and effective uid 1000 (root that switched its effective uid) past a rule that excepts effective uid 0',
    rule: '{ kind: bind, action: block, match: { ports: [8085] }, unless: { euids: [0] } }',
    attack: ['--ids', '0:1000', 'bind', '0.0.0.0', '8085'],
    kind: 'bind',
    target: { family: 'ipv4', address: '0.0.0.0', port: 8085, protocol: 'tcp', call: 'bind' },
    kernels: both,
  },
  // cgroups made after the set was applied: an exact or * selector matches them as they are made
  {
    id: 'scope-cgroup-restarted',
    item: '16.6',
    title:
      'a service restarted after the policy was applied: its cgroup, selected by its exact path, removed and made again (a new cgroup id), then connects from it',
    rule: blockImds,
    cgroups: ['/svc'],
    before: ['svc'],
    after: 'rmdir "$CASE/svc" && mkdir "$CASE/svc"',
    in: 'svc',
    attack: ['connect', IMDS, '80'],
    kind: 'connect',
    target: imds(80, 'tcp', 'connect'),
    kernels: both,
  },
  {
    id: 'scope-cgroup-made-later',
    item: '16.6',
    title:
      'a cgroup a `*` selector matches (`/*.service`), made after the policy was applied, connects at once',
    rule: blockImds,
    cgroups: ['/*.service'],
    after: 'mkdir "$CASE/web.service"',
    in: 'web.service',
    attack: ['connect', IMDS, '80'],
    kind: 'connect',
    target: imds(80, 'tcp', 'connect'),
    kernels: both,
  },
  {
    id: 'scope-cgroup-levels-later',
    item: '16.6',
    title:
      'cgroups two levels deep that `/*/pod*` matches, both levels made after the policy was applied (a pod started later), then connects',
    rule: blockImds,
    cgroups: ['/*/pod*'],
    after: 'mkdir "$CASE/burstable" "$CASE/burstable/pod1"',
    in: 'burstable/pod1',
    attack: ['connect', IMDS, '80'],
    kind: 'connect',
    target: imds(80, 'tcp', 'connect'),
    kernels: both,
  },
  // ---- 16.5: mounts by every API, decided on the superblock's type
  mountCase(
    'mount-fsopen',
    'mounts a new proc with the new mount API: fsopen, fsconfig, fsmount, move_mount (no mount(2))',
    ['mnt_fsopen', 'proc'],
    { fsType: 'proc', via: 'move_mount' },
    'new-api',
  ),
  mountCase(
    'mount-open-tree-clone',
    'binds /proc elsewhere without mount(2): open_tree(OPEN_TREE_CLONE), then move_mount',
    ['mnt_clone', '/proc'],
    { fsType: 'proc', via: 'move_mount' },
    'new-api',
  ),
  mountCase(
    'mount-bind-no-type',
    'binds /proc elsewhere with mount(2) MS_BIND, passing no type (decided fail closed: the source is a string no hook resolves)',
    ['mnt_bind', '/proc'],
    { flags: 'bind' },
    'no-type',
  ),
  mountCase(
    'mount-move-no-type',
    'moves the /proc mount elsewhere with mount(2) MS_MOVE, passing no type (decided fail closed)',
    ['mnt_move', '/proc'],
    { flags: 'move' },
    'no-type',
  ),
  mountCase(
    'mount-remount-type-lie',
    'remounts /proc read-only (MS_REMOUNT, MS_BIND, MS_RDONLY) passing the type string tmpfs, which a remount ignores',
    ['mnt_remount', '/proc', 'tmpfs'],
    { fsType: 'proc' },
    'sys_enter decides mount(2) on the type string it is passed, which a remount ignores',
  ),
  // ---- 16.1: files are identified by what they are, not by the name used
  ...fileCases(),
  // ---- 16.3: execution that does not go through execve of the target
  execCase(
    'exec-ldso',
    'runs a blocked program through the dynamic loader: ld-linux-x86-64.so.2 PROGRAM',
    'ldso',
    'mmap',
  ),
  execCase('exec-mmap', "maps a blocked program's file with PROT_EXEC, a loader of its own", 'mmap', 'mmap'),
  execCase(
    'exec-mprotect',
    "maps a blocked program's file readable, then mprotect()s it PROT_EXEC",
    'mprotect',
    'mprotect',
  ),
  {
    ...execCase(
      'exec-script-interpreter',
      'runs a #! script whose interpreter is the blocked program',
      'script',
      'exec',
    ),
    kernels: { lsm: { ends: 'EPERM', mechanism: 'lsm' }, host: { ends: 'killed', mechanism: 'tracepoint' } },
  },
  shellChainCase(),
  filelessCase(
    'exec-memfd',
    'copies a program into a memfd and runs it with fexecve (execveat AT_EMPTY_PATH)',
    ['memfd'],
  ),
  filelessCase(
    'exec-tmpfile',
    'copies a program into an O_TMPFILE file, never linked, and runs it with fexecve',
    ['tmpfile', EXEC_DIR],
  ),
  filelessCase('exec-deleted', 'copies a program, opens it, unlinks it and runs /proc/self/fd/N', [
    'deleted',
    EXEC_DIR,
  ]),
  // executable identity: an exception names a file, not a name
  ...exeIdentityCases(),
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
 * A blocked program (a copy of /bin/true the case makes, BLOCKED) run another
 * way than execve of its path: `how` is test/attacks/execattack.c's command
 * (script: a #! script naming it as interpreter, run with execve), `via` how
 * the event says it came to run. No tracepoint sees an executable mapping:
 * on this host the program runs, with no event.
 */
/**
 * 16.9: one attempt, one event. A blocked shell that execs a blocked shell
 * (what awk's system() or a script's `exec` does) is one attempt: enforced, the
 * first exec fails and nothing follows; in a dry run the chain is one
 * would-block event, the rest counted (bpfgate_audit_followups_total).
 */
function shellChainCase(): AdversarialCase {
  const id = 'exec-shell-chain';
  const shell = `${EXEC_DIR}/${id}`;
  return {
    id,
    item: '16.9',
    title:
      'a blocked shell that execs the blocked shell again (sh -c "exec sh ..."): one event for the chain',
    rule: `{ kind: exec, action: block, match: { paths: [${shell}] } }`,
    after: `mkdir -p ${EXEC_DIR} && cp -f /bin/dash ${shell}`,
    attack: ['exec', shell, '-c', `exec ${shell} -c "echo ok"`],
    kind: 'exec',
    target: { path: shell, via: 'exec', fileless: false },
    kernels: { lsm: { ends: 'EPERM', mechanism: 'lsm' }, host: { ends: 'killed', mechanism: 'tracepoint' } },
  };
}

function execCase(
  id: string,
  title: string,
  how: 'ldso' | 'mmap' | 'mprotect' | 'script',
  via: string,
): AdversarialCase {
  const blocked = `${EXEC_DIR}/${id}`;
  const script = `${EXEC_DIR}/${id}.sh`;
  const make = `mkdir -p ${EXEC_DIR} && cp -f /bin/true ${blocked}`;
  return {
    id,
    item: '16.3',
    title,
    rule: `{ kind: exec, action: block, match: { paths: [${blocked}] } }`,
    after: how === 'script' ? `${make} && printf '#!${blocked}\\n' > ${script} && chmod 755 ${script}` : make,
    attack: [
      'exec',
      '@ATTACKS/execattack',
      how === 'script' ? 'run' : how,
      how === 'script' ? script : blocked,
    ],
    kind: 'exec',
    target: { path: blocked, via, fileless: false },
    kernels: {
      lsm: { ends: 'EPERM', mechanism: 'lsm' },
      host: {
        ends: 'uncovered',
        why: 'no hook sees a file mapped executable without BPF-LSM (mmap_file, file_mprotect)',
      },
    },
  };
}

/**
 * 16.3: `unless.executables` names a file, not a name. The trusted program is
 * a copy of /bin/true the case makes before the daemon starts (its identity
 * is resolved then); the attacker runs its own program under the trusted
 * program's name, through a bind mount over it in a mount namespace of its
 * own, or from a chroot holding a file of that name, and binds a port the
 * rule blocks for everyone but the trusted program. And a process keeps its
 * executable's identity while any of its threads runs: a policy scoped to the
 * executable still applies after its main thread ended. The cgroup bind hook
 * decides, on every kernel, with the exe id the exec tracepoint gave.
 */
function exeIdentityCases(): AdversarialCase[] {
  const one = (
    id: string,
    title: string,
    port: number,
    attack: (trusted: string) => string[],
    files = '',
  ) => {
    const trusted = `${EXEC_DIR}/${id}-trusted`;
    return {
      id,
      item: '16.3',
      title,
      rule: `{ kind: bind, action: block, match: { ports: [${port}] }, unless: { executables: [${trusted}] } }`,
      files: `mkdir -p ${EXEC_DIR} && cp -f /bin/true ${trusted}${files ? ` && ${files.replaceAll('@', trusted)}` : ''}`,
      attack: attack(trusted),
      kind: 'bind',
      target: { family: 'ipv4', address: '0.0.0.0', port, protocol: 'tcp', call: 'bind' },
      kernels: both,
    } satisfies AdversarialCase;
  };
  const root = `${EXEC_DIR}/exe-chroot-same-name-root`;
  const scoped = `${EXEC_DIR}/exe-main-thread-exits-scoped`;
  const pinned = `${EXEC_DIR}/exe-pinned-rewritten-trusted`;
  const content = `${EXEC_DIR}/exe-content-changed`;
  /** `after`'s controls: a command run in the case's cgroup ($CASE is not exported in the guest) */
  const inCase = `sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' control "$CASE"`;
  return [
    one(
      'exe-bind-over-trusted',
      "runs its own program under an excepted program's name: a bind mount over the excepted file, in a mount namespace of its own",
      8081,
      (t) => ['--bind', '@ATTACKS/attack', t, 'exec', t, 'bind', '0.0.0.0', '8081'],
    ),
    one(
      'exe-chroot-same-name',
      "runs its own program under an excepted program's name: from a chroot holding a file of that name",
      8082,
      (t) => ['--chroot', root, 'exec', t, 'bind', '0.0.0.0', '8082'],
      `rm -rf ${root} && mkdir -p ${root}${EXEC_DIR} && cp -f ${ATTACK_STATIC} ${root}@`,
    ),
    {
      // the exception holds for the program's content, not for its file: the control in `after`
      // shows the pinned program excepted, then the intruder changes it in place (the same
      // inode, so the same identity) and runs it; the exec tracepoint sees its change time moved
      id: 'exe-pinned-rewritten',
      item: '16.3',
      title:
        'rewrites a program excepted by its SHA-256 in place (the same file, so the same identity) and runs its own code under it',
      rule: `{ kind: bind, action: block, match: { ports: [8086] }, unless: { executables: [{ path: ${pinned}, sha256: [@SHA256:${ATTACK_STATIC}] }] } }`,
      files: `mkdir -p ${EXEC_DIR} && cp -f ${ATTACK_STATIC} ${pinned}`,
      after: [
        `got=$(${inCase} ${pinned} bind 127.0.0.1 8086)`,
        `[ "$got" = ok ] || { echo "control: the pinned program was not excepted: $got" >&2; exit 1; }`,
        `printf '\\0' >> ${pinned}`,
      ].join('\n'),
      attack: ['exec', pinned, 'bind', '0.0.0.0', '8086'],
      kind: 'bind',
      target: { family: 'ipv4', address: '0.0.0.0', port: 8086, protocol: 'tcp', call: 'bind' },
      kernels: both,
    },
    {
      // an exception by content alone: a copy the daemon never saw, anywhere, is excepted by
      // what it holds (the control, where BPF-LSM hashes files); the same copy with one byte
      // more is another content. Elsewhere the exception excepts nothing (fail closed)
      id: 'exe-content-changed',
      item: '16.3',
      title:
        'runs a changed copy of a program excepted by its SHA-256 alone (any file with that content), from a path no policy names',
      rule: `{ kind: bind, action: block, match: { ports: [8087] }, unless: { executables: [{ sha256: [@SHA256:${ATTACK_STATIC}] }] } }`,
      files: `mkdir -p ${EXEC_DIR} && rm -f ${content}-*`,
      after: [
        `cp ${ATTACK_STATIC} ${content}-copy`,
        `got=$(${inCase} ${content}-copy bind 127.0.0.1 8087)`,
        `want=ok; [ "$KERNEL" = lsm ] || [ "$MODE" = audit ] || want='errno 1 EPERM'`,
        `[ "$got" = "$want" ] || { echo "control on $KERNEL: the copy got '$got', not '$want'" >&2; exit 1; }`,
        `cp ${content}-copy ${content}-changed && printf '\\0' >> ${content}-changed`,
      ].join('\n'),
      attack: ['exec', `${content}-changed`, 'bind', '0.0.0.0', '8087'],
      kind: 'bind',
      target: { family: 'ipv4', address: '0.0.0.0', port: 8087, protocol: 'tcp', call: 'bind' },
      kernels: both,
    },
    {
      id: 'exe-main-thread-exits',
      item: '16.3',
      title:
        'leaves the scope of a policy on its executable: its main thread ends (pthread_exit), a second thread binds',
      rule: '{ kind: bind, action: block, match: { ports: [8083] } }',
      scope: `{ executables: [${scoped}] }`,
      files: `mkdir -p ${EXEC_DIR} && cp -f ${ATTACK_STATIC} ${scoped}`,
      attack: ['exec', scoped, '--main-exits', 'bind', '0.0.0.0', '8083'],
      kind: 'bind',
      target: { family: 'ipv4', address: '0.0.0.0', port: 8083, protocol: 'tcp', call: 'bind' },
      kernels: both,
    },
  ];
}

/** A copy of /bin/true with no name in any file system, run with exec, against `fileless: true`. */
function filelessCase(id: string, title: string, how: string[]): AdversarialCase {
  return {
    id,
    item: '16.3',
    title,
    rule: '{ kind: exec, action: block, match: { fileless: true } }',
    after: `mkdir -p ${EXEC_DIR}`,
    attack: ['exec', '@ATTACKS/execattack', ...how, '/bin/true'],
    kind: 'exec',
    target: { via: 'exec', fileless: true },
    kernels: { lsm: { ends: 'EPERM', mechanism: 'lsm' }, host: { ends: 'killed', mechanism: 'tracepoint' } },
  };
}

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

/**
 * A mount of proc against a rule blocking mounts of proc, from a mount
 * namespace of the attacker's own: BPF-LSM (sb_mount, move_mount) decides it
 * on the superblock; the host's tracepoint rung only on the string passed.
 */
function mountCase(
  id: string,
  title: string,
  attack: string[],
  target: Record<string, unknown>,
  hostGap: 'new-api' | 'no-type' | string,
): AdversarialCase {
  const why =
    hostGap === 'new-api'
      ? 'sys_enter decides mount(2), umount2 and pivot_root only: the new mount API (fsopen, fsmount, open_tree, move_mount) is not added there (its instruction budget)'
      : hostGap === 'no-type'
        ? 'sys_enter decides mount(2) on the type string it is passed: a bind or a move passes none'
        : hostGap;
  return {
    id,
    item: '16.5',
    title,
    rule: '{ kind: mount, action: block, match: { operations: [mount], fsTypes: [proc] } }',
    attack,
    kind: 'mount',
    target: { operation: 'mount', ...target },
    kernels: { lsm: { ends: 'EPERM', mechanism: 'lsm' }, host: { ends: 'uncovered', why } },
  };
}

/**
 * 16.1: a protected file reached by another name. Each case protects
 * <root>/<id>/protected/secret (made before the daemon starts) and reaches it
 * through a hard link, a bind mount in a mount namespace of the attacker's
 * own, the file system bound again, a chroot, or renames a directory on the
 * way to it. BPF-LSM decides on the file's identity (device, inode); the
 * host's system-call tracepoint sees only the string the caller passed.
 */
function fileCases(): AdversarialCase[] {
  const lsm = { ends: 'EPERM', mechanism: 'lsm' } as const;
  const host = {
    ends: 'uncovered',
    why: 'sys_enter decides on the path string the caller passed, not on the file it names',
  } as const;
  const one = (
    id: string,
    title: string,
    match: string,
    attack: (dir: string) => string[],
    target: (dir: string) => Record<string, unknown>,
    extra: Partial<AdversarialCase> = {},
  ): AdversarialCase => {
    const dir = `${FILES_ROOT}/${id}`;
    const { files: more, ...rest } = extra;
    return {
      id,
      item: '16.1',
      title,
      rule: `{ kind: file, action: block, match: ${match.replaceAll('@', dir)} }`,
      files: `rm -rf ${dir} && mkdir -p ${dir}/protected ${dir}/view && echo secret > ${dir}/protected/secret${more ? ` && ${more.replaceAll('@', dir)}` : ''}`,
      attack: attack(dir),
      kind: 'file',
      target: target(dir),
      kernels: { lsm, host },
      ...rest,
    };
  };
  const file = '{ paths: [@/protected/secret], operations: [read, write] }';
  const treeOnly = {
    ends: 'uncovered',
    why: 'only the security hooks see mkdir, symlink and extended attributes (sys_enter has no room for them)',
  } as const;
  const read = (path: string) => ({ path, operation: 'read' });
  return [
    one(
      'file-hard-link',
      'reads a protected file through a hard link made before the policy was loaded',
      file,
      (d) => ['open', `${d}/alias`, 'r'],
      (d) => read(`${d}/alias`),
      { files: 'ln @/protected/secret @/alias' },
    ),
    one(
      'file-bind-mount',
      'reads a file under a protected directory through a bind mount of the directory in a mount namespace of its own',
      '{ directories: [@/protected], operations: [read, write] }',
      (d) => ['--bind', `${d}/protected`, `${d}/view`, 'open', `${d}/view/secret`, 'r'],
      (d) => read(`${d}/view/secret`),
    ),
    one(
      'file-bind-fs',
      'reads a protected file through its whole file system bound again elsewhere',
      file,
      (d) => [
        '--bind',
        '/tmp',
        `${d}/view`,
        'open',
        `${d}/view/${d.slice('/tmp/'.length)}/protected/secret`,
        'r',
      ],
      (d) => read(`${d}/view/${d.slice('/tmp/'.length)}/protected/secret`),
    ),
    one(
      'file-chroot',
      'reads a protected file from a chroot into its directory, as /secret',
      file,
      (d) => ['--chroot', `${d}/protected`, 'open', '/secret', 'r'],
      () => read('/secret'),
    ),
    one(
      'file-created-later',
      'reads a file created under a protected directory after the policy was loaded, through a bind mount',
      '{ directories: [@/protected], operations: [read, write] }',
      (d) => ['--bind', `${d}/protected`, `${d}/view`, 'open', `${d}/view/later`, 'r'],
      (d) => read(`${d}/view/later`),
      { after: `echo later > ${FILES_ROOT}/file-created-later/protected/later` },
    ),
    one(
      'file-rename-parent',
      'renames the directory that holds a protected file (to edit it under another name and move it back)',
      '{ paths: [@/protected/secret], operations: [read, write, rename] }',
      (d) => ['rename', `${d}/protected`, `${d}/moved`],
      (d) => ({ path: `${d}/protected`, operation: 'rename' }),
    ),
    // 16.1: names made inside a protected directory, extended attributes of a protected file
    one(
      'file-mkdir-in-protected',
      'makes a directory inside a protected directory, through a bind mount of it',
      '{ directories: [@/protected], operations: [mkdir, symlink] }',
      (d) => ['--bind', `${d}/protected`, `${d}/view`, 'mkdir', `${d}/view/newdir`],
      (d) => ({ path: `${d}/view/newdir`, operation: 'mkdir' }),
      { kernels: { lsm, host: treeOnly } },
    ),
    one(
      'file-symlink-in-protected',
      'plants a symbolic link inside a protected directory, from a chroot into it',
      '{ directories: [@/protected], operations: [mkdir, symlink] }',
      () => [
        '--chroot',
        `${FILES_ROOT}/file-symlink-in-protected/protected`,
        'symlink',
        '/etc/shadow',
        '/link',
      ],
      () => ({ path: '/link', operation: 'symlink' }),
      { kernels: { lsm, host: treeOnly } },
    ),
    one(
      'file-xattr',
      'sets an extended attribute on a protected file through a hard link',
      '{ paths: [@/protected/secret], operations: [xattr] }',
      (d) => ['setxattr', `${d}/alias`, 'trusted.bgtest', 'x'],
      // FILES_ROOT is a tmpfs in the guest, not the root's file system: the inode hook has no
      // mount to build a name from, so the rule decides fail-closed and the event says so
      // (`unresolved: true`, an empty path), as the fail-closed suite's setcap case does
      () => ({ path: '', operation: 'xattr' }),
      { files: 'ln @/protected/secret @/alias', kernels: { lsm, host: treeOnly } },
    ),
    // 16.9: one attempt, one event. The kernel truncates an open O_TRUNC after
    // security_file_open, through security_path_truncate: two hooks, one attempt.
    one(
      'file-open-trunc',
      'empties a protected file with open() with O_WRONLY and O_TRUNC: one event naming both write and truncate',
      '{ paths: [@/protected/secret], operations: [write, truncate] }',
      (d) => ['open', `${d}/protected/secret`, 'wt'],
      (d) => ({ path: `${d}/protected/secret`, operations: ['write', 'truncate'] }),
      { item: '16.9', kernels: { lsm, host: { ends: 'killed-after', mechanism: 'tracepoint' } } },
    ),
    one(
      'file-open-rdonly-trunc',
      'empties a protected file with open() with O_RDONLY and O_TRUNC, a read-only open that truncates: a write and a truncate',
      '{ paths: [@/protected/secret], operations: [truncate] }',
      (d) => ['open', `${d}/protected/secret`, 'rt'],
      (d) => ({
        path: `${d}/protected/secret`,
        operation: 'truncate',
        operations: ['read', 'write', 'truncate'],
      }),
      { item: '16.9', kernels: { lsm, host: { ends: 'killed-after', mechanism: 'tracepoint' } } },
    ),
  ];
}
