// Fail closed and privilege granted to files, with the real daemon on Debian's
// 6.1 kernel under QEMU, with BPF-LSM and with the fmod_ret rung. A part of
// the adversarial guests (test/support/adversarial-guest.ts): its policies are
// loaded by the same daemons beside the adversarial cases', so it shares
// their boots and daemon starts, enforcing then with --audit. The attacks are
// a Python program (fcattack.py) run as an intruder would, from a cgroup of
// the part's own (fc-test); what each left behind is checked with fccheck.py.
// Cases are data: adding one is one entry of CASES.
import { describe, expect, it } from 'vitest';
import type { GuestPart } from './adversarial-guest.ts';
import { GUEST_CGROUP2_ROOT, GUEST_IN } from './guest.ts';
import type { CaseResult, CaseSpec, PhaseResult } from './guest-scenario.ts';

const CG = `${GUEST_CGROUP2_ROOT}/fc-test`;
/** 40 components: deeper than the programs' walk (32) */
const DEEP = `/tmp/fc-deep/${Array(40).fill('d').join('/')}`;
/** 3 components of 200 bytes: longer than bpf_d_path's buffer (512) and the walk's (256) */
const LONG = `/tmp/fc-long/${[1, 2, 3].map((i) => String(i).repeat(200)).join('/')}`;
/** a cgroup 18 levels under the scoped one: deeper than the programs' cgroup walk (16) */
const DEEP_CG = `in/${Array(18).fill('c').join('/')}`;

const SCOPED = `    cgroups: ["/fc-test/in/**"]`;
const POLICIES: Record<string, string> = {
  'fc-paths.yaml': `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: fc-paths
spec:
  scope:
${SCOPED}
  rules:
    - id: protect-deep
      kind: file
      action: block
      match:
        directories: [/tmp/fc-deep/]
        operations: [create]
    - id: protect-long
      kind: file
      action: block
      match:
        directories: [/tmp/fc-long/]
        operations: [write]
    - id: no-exec-long
      kind: exec
      action: block
      match:
        directories: [/tmp/fc-long/]
    # extended attributes under /etc/ssh/ only: a file on another file system (the tmpfs /tmp)
    # has no name the hook can build, and is decided by identity, not refused
    - id: ssh-xattr
      kind: file
      action: block
      match:
        directories: [/etc/ssh/]
        operations: [xattr]
`,
  'fc-optout.yaml': `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: fc-optout
spec:
  scope:
    cgroups: ["/fc-test/opt/**"]
  rules:
    - id: protect-deep-optout
      kind: file
      action: block
      unresolved: allow
      match:
        directories: [/tmp/fc-deep/]
        operations: [create]
`,
  // the starter policy's rule, scoped to the test's cgroup
  'fc-privilege.yaml': `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: fc-privilege
spec:
  scope:
${SCOPED}
  rules:
    - id: setid-and-setcap
      kind: file
      action: block
      match:
        directories: [/]
        operations: [setid, setcap]
      unless:
        executables: [/usr/bin/dpkg]
`,
};

/** One attempt: prints "ok" or "errno N" (an exec that succeeds prints nothing: the program is replaced). */
const ATTACK_PY = `import os, struct, sys
op, path = sys.argv[1], sys.argv[2]
try:
    if op == "chmod":
        os.chmod(path, 0o4755)
    elif op == "fchmod":
        fd = os.open(path, os.O_RDONLY)
        os.fchmod(fd, 0o2755)
    elif op == "create-setuid":
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o4755))
    elif op == "xattr":
        os.setxattr(path, "trusted.bgtest", b"x")
    elif op == "setcap":
        # vfs_cap_data revision 2, effective, permitted: CAP_SETUID
        os.setxattr(path, "security.capability", struct.pack("<IIIII", 0x02000001, 1 << 7, 0, 0, 0))
    elif op == "create":
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
    elif op == "write":
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.write(fd, b"owned\\n")
    elif op == "exec":
        os.execv(path, [path])
    print("ok")
except OSError as e:
    print("errno", e.errno)
`;

/** What the file looks like afterwards (a Python one-liner: no coreutils needed beyond the shell). */
const CHECK_PY = `import os, sys
p = sys.argv[1]
if not os.path.exists(p):
    print("missing")
elif sys.argv[2:] == ["xattr"]:
    print("cap" if "security.capability" in os.listxattr(p) else "none")
elif sys.argv[2:] == ["trusted"]:
    print("set" if "trusted.bgtest" in os.listxattr(p) else "none")
elif sys.argv[2:] == ["content"]:
    print(open(p).read().strip())
else:
    print(oct(os.stat(p).st_mode & 0o7777)[2:])
`;

interface Case {
  name: string;
  /** the attacker's cgroup under fc-test */
  cg: string;
  /** its working directory */
  cwd: string;
  op: string;
  /** the path it passes (relative to cwd where the full path is too long or too deep) */
  path: string;
  /** the file the check looks at, and how */
  check: [string, ...string[]];
  /** the attempt's answer and the check's: enforcing, then in audit mode */
  enforce: [string, string];
  audit: [string, string];
  /** the rule that acts (none: nothing may be reported) */
  rule?: { policy: string; rule: string; operation?: string; unresolved?: true };
}

const FILE = (n: string) => `/tmp/fc-files/${n}`;
const PRIV = (operation: string) => ({ policy: 'fc-privilege', rule: 'setid-and-setcap', operation });
const CASES: readonly Case[] = [
  {
    name: 'chmod-setuid',
    cg: 'in',
    cwd: '/',
    op: 'chmod',
    path: FILE('chmod'),
    check: [FILE('chmod')],
    enforce: ['errno 1', '755'],
    audit: ['ok', '4755'],
    rule: PRIV('setid'),
  },
  {
    name: 'fchmod-setgid',
    cg: 'in',
    cwd: '/',
    op: 'fchmod',
    path: FILE('fchmod'),
    check: [FILE('fchmod')],
    enforce: ['errno 1', '755'],
    audit: ['ok', '2755'],
    rule: PRIV('setid'),
  },
  {
    name: 'create-setuid',
    cg: 'in',
    cwd: '/',
    op: 'create-setuid',
    path: FILE('created'),
    check: [FILE('created')],
    enforce: ['errno 1', 'missing'],
    audit: ['ok', '4755'],
    rule: PRIV('setid'),
  },
  {
    // /tmp is a tmpfs, not the root's file system: setxattr's hook has no mount, so the path is
    // unresolved, and decided fail-closed by the same rule
    name: 'setcap',
    cg: 'in',
    cwd: '/',
    op: 'setcap',
    path: FILE('setcap'),
    check: [FILE('setcap'), 'xattr'],
    enforce: ['errno 1', 'none'],
    audit: ['ok', 'cap'],
    rule: { ...PRIV('setcap'), unresolved: true },
  },
  {
    // a rule on /etc/ssh/ naming xattr: a file on the tmpfs /tmp is not below it (its identity is
    // not one the rule names), so the change goes through, unreported (not refused as unresolved)
    name: 'xattr-other-fs',
    cg: 'in',
    cwd: '/',
    op: 'xattr',
    path: FILE('xattr'),
    check: [FILE('xattr'), 'trusted'],
    enforce: ['ok', 'set'],
    audit: ['ok', 'set'],
  },
  {
    name: 'deep-create',
    cg: 'in',
    cwd: DEEP,
    op: 'create',
    path: 'new',
    check: [`${DEEP}/new`],
    enforce: ['errno 1', 'missing'],
    audit: ['ok', '644'],
    rule: { policy: 'fc-paths', rule: 'protect-deep', operation: 'create', unresolved: true },
  },
  {
    name: 'long-write',
    cg: 'in',
    cwd: LONG,
    op: 'write',
    path: 'file',
    check: [`${LONG}/file`, 'content'],
    enforce: ['errno 1', 'secret'],
    audit: ['ok', 'owned'],
    rule: { policy: 'fc-paths', rule: 'protect-long', operation: 'write', unresolved: true },
  },
  {
    name: 'long-exec',
    cg: 'in',
    cwd: LONG,
    op: 'exec',
    path: './prog',
    check: [`${LONG}/prog`],
    enforce: ['errno 1', '755'],
    audit: ['', '755'],
    rule: { policy: 'fc-paths', rule: 'no-exec-long', unresolved: true },
  },
  {
    // the cgroup is deeper than the walk: in scope of every cgroup-scoped policy
    name: 'deep-cgroup-chmod',
    cg: DEEP_CG,
    cwd: '/',
    op: 'chmod',
    path: FILE('deepcg'),
    check: [FILE('deepcg')],
    enforce: ['errno 1', '755'],
    audit: ['ok', '4755'],
    rule: PRIV('setid'),
  },
  {
    // unresolved: allow, and no other policy covers the cgroup: the create goes through, unreported
    name: 'optout-deep-create',
    cg: 'opt',
    cwd: DEEP,
    op: 'create',
    path: 'optout',
    check: [`${DEEP}/optout`],
    enforce: ['ok', '644'],
    audit: ['ok', '644'],
  },
];

const PREP = [
  `mkdir -p ${CG}/in ${CG}/opt ${CG}/${DEEP_CG} /tmp/fc-files ${DEEP} ${LONG}`,
  ...['chmod', 'fchmod', 'setcap', 'xattr', 'deepcg'].map(
    (n) => `echo x > ${FILE(n)} && chmod 755 ${FILE(n)}`,
  ),
  `echo secret > ${LONG}/file`,
  `cp /usr/bin/true ${LONG}/prog && chmod 755 ${LONG}/prog`,
];
const CLEAN = [
  `rm -rf /tmp/fc-files /tmp/fc-deep /tmp/fc-long`,
  `for d in $(find ${CG} -depth -type d 2>/dev/null); do rmdir "$d"; done`,
];

/**
 * What the file looks like afterwards: its mode (stat), its content, or
 * whether it is missing, from the shell; its extended attributes from
 * fccheck.py (a Python start costs seconds in the guest: only where needed).
 */
function checkScript([file, how]: Case['check']): string {
  if (how === 'xattr' || how === 'trusted') return `/usr/bin/python3 ${GUEST_IN}/fccheck.py ${file} ${how}`;
  const show = how === 'content' ? `cat '${file}'` : `stat -c %a '${file}'`;
  return `if [ -e '${file}' ]; then ${show}; else echo missing; fi`;
}

/** The attempt (tag fc-<name>): joins its cgroup, goes to its directory, runs fcattack.py; then the check. */
function caseSpec(c: Case): CaseSpec {
  return {
    name: `fc-${c.name}`,
    argv: [
      '/bin/sh',
      '-c',
      `echo $$ > ${CG}/${c.cg}/cgroup.procs; cd ${c.cwd} && exec /usr/bin/python3 ${GUEST_IN}/fcattack.py ${c.op} ${c.path}`,
    ],
    check: checkScript(c.check),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: events are JSON lines, checked field by field
type Event = Record<string, any>;

/** The fail-closed part on a guest kernel whose denying mechanism is `mechanism`. */
export function failClosedPart(mechanism: 'lsm' | 'fmod_ret', title: string): GuestPart {
  const files: Record<string, string> = { 'fcattack.py': ATTACK_PY, 'fccheck.py': CHECK_PY };
  for (const [name, text] of Object.entries(POLICIES)) files[`adv/${name}`] = text;
  return {
    files,
    setup: [...CLEAN, ...PREP].join('\n'),
    cases: () => CASES.map(caseSpec),
    tests(phaseOf) {
      describe(`fail closed and privileged files, ${title}`, () => {
        for (const mode of ['enforce', 'audit'] as const) {
          it.each(CASES)(`${mode}: $name`, (c) => {
            const phase: PhaseResult = phaseOf(mode);
            const r: CaseResult | undefined = phase.cases.find((x) => x.name === `fc-${c.name}`);
            if (!r) throw new Error(`phase ${mode} has no case fc-${c.name}`);
            const [answer, after] = c[mode];
            expect({ answer: r.stdout.trim(), after: (r.check?.output ?? '').trim() }, `${r.stderr}`).toEqual(
              { answer, after },
            );
            const mine = (phase.events as Event[]).filter(
              (e) => e.type === 'violation' && e.process?.tgid === r.pid,
            );
            if (!c.rule) {
              expect(mine).toEqual([]);
              return;
            }
            expect(mine, JSON.stringify(mine)).toHaveLength(1);
            const e = mine[0]!;
            expect(e).toMatchObject({
              policy: { name: c.rule.policy, rule: c.rule.rule },
              action: 'block',
              outcome: mode === 'enforce' ? 'denied' : 'would-block',
              mechanism,
              ...(c.rule.operation ? { target: { operation: c.rule.operation } } : {}),
            });
            expect(e.unresolved === true).toBe(c.rule.unresolved === true);
          });
        }
      });
    },
  };
}
