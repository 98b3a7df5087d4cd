// bpfgate doctor without a kernel: the enforcement matrix and its formatting on
// the shipped feature files, and the matrix's agreement with compile --explain.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FeatureSet } from '../../src/abi/features.ts';
import { run as runCompile } from '../../src/cli/commands/compile.ts';
import {
  formatFeatures,
  formatMatrix,
  formatProtection,
  formatSettings,
  run as runDoctor,
} from '../../src/cli/commands/doctor.ts';
import {
  type EnforcementMatrix,
  enforcementMatrix,
  MATRIX_ACTIONS,
  type MatrixAction,
  matrixPolicies,
  REPRESENTATIVES,
} from '../../src/doctor/matrix.ts';
import { UsageError } from '../../src/errors.ts';
import { RULE_KINDS } from '../../src/policy/model.ts';
import { captureOutput } from '../support/capture.ts';
import { FMOD_RET, LSM, NO_LSM } from '../support/features.ts';

const io = captureOutput();

/** rule (kind, or kind-variant) -> "achieved/mechanism" for block, kill, audit */
function summary(m: EnforcementMatrix): Record<string, string[]> {
  return Object.fromEntries(
    m.rows.map((r) => [r.rule, MATRIX_ACTIONS.map((a) => `${r[a].achieved}/${r[a].mechanism ?? '-'}`)]),
  );
}

const NOT_ALLOWED = 'not-allowed/-';
/** the cgroup hooks deny on every kernel (kill asked: denied, which is stronger) */
const CG_BLOCK = ['block/cgroup', 'block/cgroup', 'audit/cgroup'];
const CGROUP_KINDS = { connect: CG_BLOCK, bind: CG_BLOCK, device: CG_BLOCK, sysctl: CG_BLOCK };
/** a uprobe cannot refuse a call: kill lands after readline returned (kill-after) */
const UPROBE = [NOT_ALLOWED, 'kill-after/uprobe', 'audit/uprobe'];

/** Linux 6.1 (both Debian feature files) has no tcx links: tc rules are unavailable, XDP drops. */
const PACKETS_ON_6_1 = {
  ingress: ['unavailable/-', NOT_ALLOWED, 'unavailable/-'],
  'ingress-xdp': ['block/xdp', NOT_ALLOWED, 'audit/xdp'],
  egress: ['unavailable/-', NOT_ALLOWED, 'unavailable/-'],
};

describe('enforcement matrix', () => {
  it('on the no-lsm feature file: kill by tracepoint (after the call but for exec), deny by cgroup, capability and kprobe unavailable', () => {
    const m = enforcementMatrix(NO_LSM);
    expect(m.features).toBe(NO_LSM.name);
    // every kind has a row; socket a second one for inet and inet6 only
    expect([...new Set(m.rows.map((r) => r.kind))]).toEqual([...RULE_KINDS]);
    expect(m.rows.map((r) => r.rule)).toEqual(REPRESENTATIVES.map((r) => r.rule));
    expect(m.rows.filter((r) => r.kind === 'socket').map((r) => r.rule)).toEqual(['socket', 'socket-inet']);
    const tpKill = ['kill/tracepoint', 'kill/tracepoint', 'audit/tracepoint'];
    const tpKillAfter = ['kill-after/tracepoint', 'kill-after/tracepoint', 'audit/tracepoint'];
    expect(summary(m)).toEqual({
      // an exec is killed before the new program's first instruction; every other call completes first
      exec: tpKill,
      file: tpKillAfter,
      // setuid/setgid bits and file capabilities: only the security hooks see them
      'file-setid': ['unavailable/-', 'unavailable/-', 'unavailable/-'],
      'file-tree': ['unavailable/-', 'unavailable/-', 'unavailable/-'],
      capability: ['unavailable/-', 'unavailable/-', 'unavailable/-'],
      module: tpKillAfter,
      bpf: tpKillAfter,
      ptrace: tpKillAfter,
      mount: tpKillAfter,
      setuid: tpKillAfter,
      // gid, groups, capset, userns: only the security hooks see them
      'setuid-ids': ['unavailable/-', 'unavailable/-', 'unavailable/-'],
      // inet and inet6 denied by the cgroup hook, every other family killed by raw sys_enter after the call
      socket: ['kill-after/tracepoint', 'kill-after/tracepoint', 'audit/cgroup'],
      'socket-inet': CG_BLOCK,
      ...CGROUP_KINDS,
      // any port: listen() without bind() is only killed after the call (raw sys_enter)
      'bind-listen': ['kill-after/tracepoint', 'kill-after/tracepoint', 'audit/cgroup'],
      kprobe: [NOT_ALLOWED, NOT_ALLOWED, 'unavailable/-'],
      ingress: ['block/tc', NOT_ALLOWED, 'audit/tc'],
      'ingress-xdp': ['block/xdp', NOT_ALLOWED, 'audit/xdp'],
      egress: ['block/tc', NOT_ALLOWED, 'audit/tc'],
      uprobe: UPROBE,
    });
    const row = (k: string) => m.rows.find((r) => r.rule === k)!;
    expect(row('exec').block).toMatchObject({ hooks: ['tp_btf/sched_process_exec'], downgraded: true });
    expect(row('exec').block.reason).toMatch(
      /lsm\/bprm_check_security, lsm\/mmap_file, lsm\/file_mprotect: lsm\/ program load: EPERM/,
    );
    // a file mapped executable: no tracepoint sees it
    expect(row('exec').block.reason).toMatch(/not covered on this kernel: mapped executable/);
    expect(row('file').block.hooks).toEqual(['raw_tp/sys_enter']);
    expect(row('connect').block).toMatchObject({
      hooks: ['cgroup_inet4_connect', 'cgroup_inet6_connect', 'cgroup_udp4_sendmsg', 'cgroup_udp6_sendmsg'],
      downgraded: false,
    });
    expect(row('bind-listen').block).toMatchObject({
      hooks: ['cgroup_inet4_bind', 'cgroup_inet6_bind', 'raw_tp/sys_enter'],
      downgraded: true,
    });
    expect(row('bind-listen').block.reason).toMatch(
      /listen\(\) without bind\(\): raw_tp\/sys_enter kills the process with SIGKILL on return from the system call/,
    );
    // every socket family by default: block is a kill for the families the cgroup hook does not see
    expect(row('socket').block).toMatchObject({
      hooks: ['cgroup_inet_sock_create', 'raw_tp/sys_enter'],
      downgraded: true,
    });
    expect(row('socket').block.reason).toMatch(/any other family: raw_tp\/sys_enter kills the process/);
    expect(row('file').kill).toMatchObject({ achieved: 'kill-after', downgraded: true });
    expect(row('file').kill.reason).toMatch(/which has completed \(kill-after: its effects stay\)/);
    expect(row('kprobe').block.reason).toMatch(/ACTION_NOT_ALLOWED_FOR_KIND/);
    expect(row('kprobe').audit.reason).toMatch(/CONFIG_KPROBES unset/);
  });

  it('on the lsm feature file: BPF-LSM denies every kind it has a hook for', () => {
    const m = enforcementMatrix(LSM);
    const lsm = ['block/lsm', 'kill/lsm', 'audit/lsm'];
    expect(summary(m)).toEqual({
      exec: lsm,
      file: lsm,
      'file-setid': lsm,
      'file-tree': lsm,
      capability: lsm,
      module: lsm,
      bpf: lsm,
      ptrace: lsm,
      mount: lsm,
      setuid: lsm,
      'setuid-ids': lsm,
      socket: lsm,
      'socket-inet': lsm,
      ...CGROUP_KINDS,
      // the cgroup hooks for bind(), lsm/socket_listen for listen() without bind(): the matrix names the strongest
      'bind-listen': ['block/lsm', 'kill/lsm', 'audit/lsm'],
      kprobe: [NOT_ALLOWED, NOT_ALLOWED, 'audit/kprobe'],
      ...PACKETS_ON_6_1,
      uprobe: UPROBE,
    });
    expect(m.rows.find((r) => r.rule === 'egress')!.block.reason).toMatch(/tcx links need Linux 6\.6/);
    const file = m.rows.find((r) => r.rule === 'file')!;
    expect(file.block.hooks).toContain('lsm/file_open');
    expect(file.block.hooks).toContain('lsm/path_truncate');
    expect(m.rows.find((r) => r.rule === 'file-setid')!.block.hooks).toEqual([
      'lsm/inode_setxattr',
      'lsm/path_chmod',
      'lsm/path_mknod',
    ]);
    // names made in a directory and extended attributes: their own security hooks
    expect(m.rows.find((r) => r.rule === 'file-tree')!.block.hooks).toEqual([
      'lsm/inode_removexattr',
      'lsm/inode_setxattr',
      'lsm/path_mkdir',
      'lsm/path_symlink',
    ]);
    expect(m.rows.find((r) => r.rule === 'kprobe')!.audit.hooks).toEqual(['kprobe/commit_creds']);
    // a uprobe on readline: reported (and killed) when bash returns the line
    expect(m.rows.find((r) => r.rule === 'uprobe')!.audit.hooks).toEqual([
      'uretprobe//usr/bin/bash:readline',
    ]);
  });

  it('on the fmod-ret feature file: fmod_ret denies every kind BPF-LSM would, the same decisions', () => {
    const m = enforcementMatrix(FMOD_RET);
    const fmr = ['block/fmod_ret', 'kill/fmod_ret', 'audit/fmod_ret'];
    expect(summary(m)).toEqual({
      exec: fmr,
      file: fmr,
      'file-setid': fmr,
      'file-tree': fmr,
      capability: fmr,
      module: fmr,
      bpf: fmr,
      ptrace: fmr,
      mount: fmr,
      setuid: fmr,
      'setuid-ids': fmr,
      socket: fmr,
      'socket-inet': fmr,
      ...CGROUP_KINDS,
      // listen() without bind() denied by fmod_ret on security_socket_listen
      'bind-listen': fmr,
      kprobe: [NOT_ALLOWED, NOT_ALLOWED, 'audit/kprobe'],
      ...PACKETS_ON_6_1,
      uprobe: UPROBE,
    });
    const row = (k: string) => m.rows.find((r) => r.rule === k)!;
    expect(row('bind-listen').block.hooks).toContain('fmod_ret/security_socket_listen');
    expect(row('exec').block).toMatchObject({
      hooks: [
        'fmod_ret/security_bprm_check',
        'fmod_ret/security_file_mprotect',
        'fmod_ret/security_mmap_file',
      ],
      downgraded: false,
    });
    expect(row('file').block.hooks).toContain('fmod_ret/security_file_open');
    expect(row('file').block.hooks).toContain('fmod_ret/security_path_truncate');
    expect(row('file-setid').block.hooks).toContain('fmod_ret/security_inode_setxattr');
    expect(row('capability').block.reason).toMatch(/BPF-LSM is not active/);
  });

  it('the representative rules are valid policy; the language refuses only kprobe block and kill, ingress and egress kill, uprobe block', () => {
    const { sources, refused } = matrixPolicies();
    expect(sources.map((s) => s.file)).toEqual([
      'doctor-block.yaml',
      'doctor-kill.yaml',
      'doctor-audit.yaml',
    ]);
    expect([...refused.keys()].sort()).toEqual([
      'egress/kill',
      'ingress-xdp/kill',
      'ingress/kill',
      'kprobe/block',
      'kprobe/kill',
      'uprobe/block',
    ]);
  });
});

interface ExplainRow {
  hook: string;
  mechanism: string;
  enforcement: string;
  reason: string | null;
}

/** The rows of a compile --explain table, by "policy/rule", with their downgrade notes. */
function explainRows(text: string): Map<string, ExplainRow> {
  const lines = text.split('\n');
  const notes = new Map<string, string>();
  for (const l of lines) {
    const m = /^ {2}\[(\d+)\] [^:]+: (.*)$/.exec(l);
    if (m) notes.set(m[1]!, m[2]!);
  }
  const rows = new Map<string, ExplainRow>();
  for (const l of lines) {
    const cols = l.split(/ {2,}/);
    if (cols.length !== 7 || !cols[0]!.startsWith('doctor-')) continue;
    const [policy, rule, , hook, mechanism, , enforcement] = cols as [string, ...string[]];
    const note = /! \[(\d+)\]$/.exec(enforcement!);
    rows.set(`${policy}/${rule}`, {
      hook: hook!,
      mechanism: mechanism!,
      enforcement: enforcement!,
      reason: note ? (notes.get(note[1]!) ?? null) : null,
    });
  }
  return rows;
}

const dir = mkdtempSync(join(tmpdir(), 'bpfgate-doctor-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the matrix agrees with compile --explain', () => {
  for (const [name, features] of [
    ['no-lsm', NO_LSM],
    ['fmod-ret', FMOD_RET],
    ['lsm', LSM],
  ] as [string, FeatureSet][]) {
    it(`on the ${name} feature file`, async () => {
      const files = matrixPolicies().sources.map((s) => {
        const p = join(dir, s.file);
        writeFileSync(p, s.text);
        return p;
      });
      expect(await runCompile([...files, '--features', name, '--explain'])).toBe(0);
      const rows = explainRows(io.out);
      const m = enforcementMatrix(features);
      let compared = 0;
      for (const r of m.rows) {
        for (const a of MATRIX_ACTIONS as readonly MatrixAction[]) {
          const c = r[a];
          const e = rows.get(`doctor-${a}/${r.rule}`);
          if (c.achieved === 'not-allowed') {
            expect(e).toBeUndefined();
            continue;
          }
          expect(e, `doctor-${a}/${r.rule}`).toBeDefined();
          expect(e!.hook).toBe(c.hooks.join(', ') || '-');
          expect(e!.mechanism).toBe(c.mechanism ?? '-');
          expect(e!.enforcement.split(' ')[0]).toBe(c.achieved);
          expect(e!.reason).toBe(c.downgraded ? c.reason : null);
          compared++;
        }
      }
      expect(compared).toBe(REPRESENTATIVES.length * 3 - 6); // kprobe block and kill, ingress and egress kill, uprobe block
    });
  }
});

describe('formatting', () => {
  it('the feature list: ✓ or ✗ and the reason, cgroup hooks one per line, then the rungs', () => {
    const text = formatFeatures(NO_LSM);
    expect(text.split('\n')[0]).toBe(`features: ${NO_LSM.name} (kernel ${NO_LSM.kernelRelease})`);
    expect(text).toMatch(/^ {2}✓ {2}BTF +\/sys\/kernel\/btf\/vmlinux present$/m);
    expect(text).toMatch(/^ {2}✗ {2}BPF-LSM +lsm\/ program load: EPERM/m);
    expect(text).toMatch(/^ {2}✗ {2}fmod_ret +fmod_ret\/security_sb_statfs \(bg_fmr_probe\) load: EPERM/m);
    expect(text).toMatch(/^ {2}✓ {2}fmod_ret functions +31 of 31 security_\* functions/m);
    expect(text).toMatch(/^ {2}✗ {2}kprobes +CONFIG_KPROBES unset/m);
    expect(text).toMatch(/^ {2}✓ {2}cgroup\/sysctl +cgroup\/sysctl denies/m);
    expect(text).toMatch(/^ {2}✓ {2}uprobes +CONFIG_UPROBES=y/m);
    const lines = text.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(
      'enforcement rungs: BPF-LSM ✗, fmod_ret ✗, cgroup hooks ✓, tracepoint kill ✓, kprobe audit ✗',
    );
    expect(text).toMatch(/^ {2}✓ {2}tc \(tcx\) +tc \(bg_tc_ingress\) loads; tcx links/m);
    expect(text).toMatch(/^ {2}✓ {2}XDP \(native, generic\) +xdp \(bg_xdp_ingress\) loads; generic mode/m);
    expect(text).toMatch(
      /^ {2}✓ {2}cgroup_skb \(packets of scoped sockets\) +cgroup_skb\/ingress \(bg_cgskb_ingress\) loads/m,
    );
    // 19 features (sendmsg4 and sendmsg6 among them) and 2 rungs available, 6 features (file hashing
    // in LSM among them) and 3 rungs not
    expect(text).toMatch(/^ {2}✗ {2}file hashing in LSM \(exceptions by SHA-256 alone\) +no BPF-LSM$/m);
    expect(text.match(/✓/g)).toHaveLength(21);
    expect(text.match(/✗/g)).toHaveLength(9);
  });

  it('the fix and the verifier’s words under their feature; a function missing from the BTF by name', () => {
    const f: FeatureSet = {
      ...FMOD_RET,
      fmodRetHooks: {
        ...FMOD_RET.fmodRetHooks,
        security_path_chown: {
          available: false,
          reason: 'security_path_chown is not a function in this kernel',
        },
      },
      cgroupHooks: {
        ...FMOD_RET.cgroupHooks,
        dev: {
          available: false,
          reason: 'cgroup/dev (bg_cg_dev) load: EACCES (Permission denied; verifier: R1 invalid mem access)',
          verifier: ['0: (61) r2 = *(u32 *)(r1 +0)', 'R1 invalid mem access'],
        },
      },
    };
    const lines = formatFeatures(f).split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const lsm = at(
      /^ {2}✗ {2}BPF-LSM +active LSMs: lockdown,capability,landlock,yama,apparmor; BPF-LSM is compiled in/,
    );
    expect(lines[lsm + 1]).toMatch(
      /^ +fix: add bpf to lsm= on the kernel command line: lsm=lockdown,capability,landlock,yama,apparmor,bpf /,
    );
    // the fix starts where the reasons do
    expect(lines[lsm + 1]!.indexOf('fix:')).toBe(lines[lsm]!.indexOf('active LSMs'));
    expect(lines[at(/fmod_ret functions/)]).toMatch(/^ {2}✗ {2}fmod_ret functions +30 of 31/);
    expect(lines[at(/fmod_ret functions/) + 1]).toMatch(
      /^ {2}✗ {4}security_path_chown +security_path_chown is not a function/,
    );
    const dev = at(/cgroup\/dev /);
    expect(lines.slice(dev + 1, dev + 3).map((l) => l.trim())).toEqual([
      'verifier: 0: (61) r2 = *(u32 *)(r1 +0)',
      'verifier: R1 invalid mem access',
    ]);
    expect(lines.at(-2)).toBe(
      'enforcement rungs: BPF-LSM ✗, fmod_ret ✓, cgroup hooks ✓, tracepoint kill ✓, kprobe audit ✓',
    );
  });

  it('a rung not tried (fmod_ret where BPF-LSM runs) is -, not ✗', () => {
    const text = formatFeatures(LSM);
    expect(text).toMatch(/^ {2}- {2}fmod_ret +not probed: BPF-LSM is active/m);
    expect(text).toMatch(/^enforcement rungs: BPF-LSM ✓, fmod_ret -, cgroup hooks ✓/m);
  });

  it('the kernel settings: name, value, what it means', () => {
    const text = formatSettings([
      { name: 'net.core.bpf_jit_enable', value: '1', meaning: 'the JIT compiles programs to native code' },
      { name: 'kernel.unprivileged_bpf_disabled', value: null, meaning: 'not in this kernel' },
    ]);
    expect(text).toBe(
      [
        'kernel settings:',
        '  net.core.bpf_jit_enable           1  the JIT compiles programs to native code',
        '  kernel.unprivileged_bpf_disabled  -  not in this kernel',
        '',
      ].join('\n'),
    );
  });

  it('the matrix table: asked action by kind, downgrades marked, then how and why', () => {
    const text = formatMatrix(enforcementMatrix(NO_LSM));
    const lines = text.split('\n');
    expect(lines[0]).toBe(`enforcement matrix: what a rule of each kind achieves on ${NO_LSM.name}`);
    expect(lines[1]).toMatch(/^ {2}rule {9}asked block {16}asked kill {17}asked audit$/);
    expect(text).toMatch(
      /^ {2}exec {9}kill \(tracepoint\) ! {8}kill \(tracepoint\) ! {8}audit \(tracepoint\) !$/m,
    );
    expect(text).toMatch(
      /^ {2}file {9}kill-after \(tracepoint\) ! {2}kill-after \(tracepoint\) ! {2}audit \(tracepoint\)$/m,
    );
    expect(text).toMatch(/^ {2}capability {3}unavailable ! +unavailable ! +unavailable !$/m);
    expect(text).toMatch(/^ {2}socket-inet {2}block \(cgroup\) +block \(cgroup\) +audit \(cgroup\)$/m);
    expect(text).toMatch(/^ {2}connect {6}block \(cgroup\) +block \(cgroup\) +audit \(cgroup\)$/m);
    expect(text).toMatch(/^ {2}kprobe {7}not allowed +not allowed +unavailable !$/m);
    expect(text).toMatch(/^ {2}socket-inet {2}kind: socket, match: \{ families: \[inet, inet6\] \}$/m);
    expect(text).toMatch(
      /^ {4}block {2}kill \(tracepoint\) ! via tp_btf\/sched_process_exec: tp_btf\/sched_process_exec kills/m,
    );
    expect(text).toMatch(/^ {4}kill {3}not allowed: a kprobe rule can only audit, not kill/m);
  });

  it('the same layout on the lsm file', () => {
    const text = formatMatrix(enforcementMatrix(LSM));
    expect(text).toMatch(/^ {2}capability {3}block \(lsm\) +kill \(lsm\) +audit \(lsm\)$/m);
    expect(text).toMatch(/^ {2}kprobe {7}not allowed +not allowed +audit \(kprobe\)$/m);
  });
});

describe('bpfgate doctor --features', () => {
  it('--json: {features, matrix, protection} of the file (no kernel settings: nothing was probed), exit 0', async () => {
    expect(await runDoctor(['--features', 'no-lsm', '--json'])).toBe(0);
    const doc = JSON.parse(io.out) as { features: FeatureSet; matrix: EnforcementMatrix };
    expect(Object.keys(doc)).toEqual(['features', 'matrix', 'protection']);
    expect(doc).toMatchObject({ protection: { rung: null } });
    expect(doc.features).toEqual(NO_LSM);
    expect(doc.matrix).toEqual(enforcementMatrix(NO_LSM));
  });

  it('text: the feature list, self-protection’s rung, then the matrix', async () => {
    expect(await runDoctor(['--features', 'lsm'])).toBe(0);
    expect(io.out).toBe(
      `${formatFeatures(LSM)}self-protection: BPF-LSM, 15 of 15 checks\n\n${formatMatrix(enforcementMatrix(LSM))}`,
    );
    expect(io.err).toBe('');
  });

  it('self-protection where neither rung works: why, and the fix for BPF-LSM', () => {
    const f: FeatureSet = { ...NO_LSM, lsm: { ...NO_LSM.lsm, fix: 'add bpf to lsm=' } };
    expect(formatProtection(f)).toBe(
      `self-protection: not available: self-protection needs BPF-LSM or fmod_ret on the security_* functions; BPF-LSM: ${NO_LSM.lsm.reason}; fmod_ret: ${NO_LSM.fmodRet.reason}\n  fix: add bpf to lsm=\n`,
    );
  });

  it('usage errors', async () => {
    await expect(runDoctor(['--bogus'])).rejects.toBeInstanceOf(UsageError);
    await expect(runDoctor(['extra'])).rejects.toBeInstanceOf(UsageError);
    await expect(runDoctor(['--features', join(dir, 'missing.json')])).rejects.toBeInstanceOf(UsageError);
    await expect(runDoctor(['--features', ''])).rejects.toBeInstanceOf(UsageError);
  });
});
