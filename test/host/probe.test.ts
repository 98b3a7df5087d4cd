// The kernel probe and `bpfgate doctor` on this machine's kernel (6.18, root):
// what KERNEL.md says of it, measured by loading bpfgate's own programs.
//   npx vitest run --project host test/host/probe.test.ts
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CGROUP_HOOKS, type FeatureSet } from '../../src/abi/features.ts';
import { PROGRAMS, type ProgramInfo } from '../../src/abi/programs.ts';
import {
  type EnforcementMatrix,
  enforcementMatrix,
  MATRIX_ACTIONS,
  matrixPolicies,
  REPRESENTATIVES,
} from '../../src/doctor/matrix.ts';
import type { BpfgateError } from '../../src/errors.ts';
import { isBpffs } from '../../src/kernel/binding.ts';
import { findCgroup2Mount } from '../../src/kernel/cgroups.ts';
import { ProbeSetupError, probeFeatures } from '../../src/kernel/probe.ts';
import { runCommand } from '../support/child.ts';
import { BPFGATE, PROJECT_ROOT } from '../support/paths.ts';

// the probe's cost is measured by the start-up benchmark (npm run bench), not here
let features: FeatureSet;
const dir = mkdtempSync(join(tmpdir(), 'bpfgate-probe-'));

beforeAll(async () => {
  features = await probeFeatures();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[], opts: { uid?: number } = {}) {
  const argv = [process.execPath, BPFGATE, ...args];
  const [file, ...rest] =
    opts.uid === undefined
      ? argv
      : [
          'setpriv',
          `--reuid=${opts.uid}`,
          `--regid=${opts.uid}`,
          '--clear-groups',
          '--inh-caps=-all',
          ...argv,
        ];
  const r = await runCommand([file!, ...rest], { cwd: PROJECT_ROOT, timeoutMs: 0 });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

describe('probeFeatures on this kernel', () => {
  it('is named after this kernel', () => {
    expect(features.name).toBe(`host ${release()}`);
    expect(features.kernelRelease).toBe(release());
  });

  it('BTF present; bpffs and the cgroup2 mount as the system shows them', () => {
    expect(features.btf).toEqual({ available: true, reason: '/sys/kernel/btf/vmlinux present' });
    expect(features.bpffs.available).toBe(isBpffs('/sys/fs/bpf'));
    const mount = findCgroup2Mount();
    expect(features.cgroup2.available).toBe(mount !== null);
    expect(features.cgroup2.mount).toBe(mount ?? undefined);
    expect(features.cgroup2.reason).toContain(String(mount));
  });

  it('BPF-LSM active but refused: lsm/ programs load with EPERM before verification', () => {
    expect(features.lsm.available).toBe(false);
    expect(features.lsm.reason).toMatch(/active LSMs: [a-z,]*\bbpf\b/);
    expect(features.lsm.reason).toMatch(
      /lsm\/capable load: EPERM \(Operation not permitted; refused before verification/,
    );
    expect(features.lsmDPath.available).toBe(false);
    expect(features.lsmDPath.reason).toMatch(/^no BPF-LSM: .*EPERM/);
  });

  it('kprobes: the program loads, the attach fails with ENOENT (no kprobes built in)', () => {
    expect(features.kprobes.available).toBe(false);
    expect(features.kprobes.reason).toMatch(/^kprobe loads; attach kprobe bpf_fentry_test1: ENOENT/);
    expect(features.kprobes.reason).toMatch(/CONFIG_KPROBES unset/);
  });

  it('fmod_ret refused like BPF-LSM (EPERM before verification); the functions are in the BTF all the same', () => {
    expect(features.fmodRet.available).toBe(false);
    expect(features.fmodRet.reason).toMatch(
      /^fmod_ret\/security_sb_statfs \(bg_fmr_probe\) load: EPERM \(Operation not permitted; refused before verification/,
    );
    // read from this kernel's BTF: every function the fmod_ret programs attach to is there on 6.18
    expect(Object.keys(features.fmodRetHooks).sort()).toEqual(
      Object.values(PROGRAMS as Record<string, ProgramInfo>)
        .flatMap((p) => (p.attach.type === 'fmod_ret' ? [p.attach.function] : []))
        .sort(),
    );
    for (const [fn, f] of Object.entries(features.fmodRetHooks)) {
      expect(f, fn).toEqual({ available: true, reason: `${fn} is a function in the kernel's BTF` });
    }
  });

  it('fentry refused (libbpf probe), tracepoints load, bpf_send_signal available', () => {
    expect(features.fentry.available).toBe(false);
    expect(features.tracepoints).toMatchObject({ available: true });
    expect(features.tracepoints.reason).toMatch(
      /tp_btf\/sched_process_exec and raw_tracepoint\/sys_enter load/,
    );
    expect(features.sendSignal).toMatchObject({ available: true });
  });

  it('every cgroup hook loads', () => {
    for (const h of CGROUP_HOOKS) {
      expect(features.cgroupHooks[h], h).toEqual({
        available: true,
        reason: `cgroup/${h} (bg_cg_${h}) loads`,
      });
    }
  });

  it('a missing object: a set-up error naming scripts/setup.sh', async () => {
    const err = await probeFeatures({ objectPath: join(dir, 'missing.bpf.o') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProbeSetupError);
    expect((err as BpfgateError).code).toBe('PROBE_SETUP');
    expect((err as Error).message).toMatch(/missing.*run scripts\/setup\.sh/);
  });

  it('an object that is not one: the same set-up error', async () => {
    const bogus = join(dir, 'bogus.bpf.o');
    writeFileSync(bogus, 'not an ELF file');
    const err = await probeFeatures({ objectPath: bogus }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProbeSetupError);
    expect((err as Error).message).toMatch(/cannot open .*bogus\.bpf\.o.*scripts\/setup\.sh/);
  });
});

function summary(m: EnforcementMatrix): Record<string, string[]> {
  return Object.fromEntries(
    m.rows.map((r) => [r.rule, MATRIX_ACTIONS.map((a) => `${r[a].achieved}/${r[a].mechanism ?? '-'}`)]),
  );
}

describe('the enforcement matrix on this kernel', () => {
  it('exec and file: kill by tracepoint; capability unavailable; inet sockets, connect, bind, device, sysctl block by cgroup; kprobe unavailable', () => {
    const m = enforcementMatrix(features);
    const s = summary(m);
    expect(s.exec).toEqual(['kill/tracepoint', 'kill/tracepoint', 'audit/tracepoint']);
    // every call but exec completes before the kill lands
    expect(s.file).toEqual(['kill-after/tracepoint', 'kill-after/tracepoint', 'audit/tracepoint']);
    for (const k of ['module', 'bpf', 'ptrace', 'mount', 'setuid'])
      expect(s[k]?.[0], k).toBe('kill-after/tracepoint');
    expect(s.capability).toEqual(['unavailable/-', 'unavailable/-', 'unavailable/-']);
    for (const k of ['socket-inet', 'connect', 'bind', 'device', 'sysctl']) {
      expect(s[k], k).toEqual(['block/cgroup', 'block/cgroup', 'audit/cgroup']);
    }
    // a socket rule of every family: inet and inet6 denied by the cgroup hook, the rest killed after the call
    expect(s.socket).toEqual(['kill-after/tracepoint', 'kill-after/tracepoint', 'audit/cgroup']);
    expect(m.rows.find((r) => r.rule === 'socket')!.block.hooks).toEqual([
      'cgroup_inet_sock_create',
      'raw_tp/sys_enter',
    ]);
    expect(s.kprobe).toEqual(['not-allowed/-', 'not-allowed/-', 'unavailable/-']);
    const exec = m.rows.find((r) => r.rule === 'exec')!;
    expect(exec.block.hooks).toEqual(['tp_btf/sched_process_exec']);
    expect(exec.block.downgraded).toBe(true);
    // mapped executable (the dynamic loader, mmap/mprotect PROT_EXEC) has no hook here at all
    expect(exec.block.reason).toMatch(
      /stronger hooks unavailable \(lsm\/bprm_check_security, lsm\/mmap_file, lsm\/file_mprotect: .*EPERM/,
    );
    expect(m.rows.find((r) => r.rule === 'file')!.block.hooks).toEqual(['raw_tp/sys_enter']);
    expect(m.rows.find((r) => r.rule === 'kprobe')!.audit.reason).toMatch(/ENOENT/);
  });
});

describe('bpfgate doctor (a child process)', () => {
  it('--json: exit 0 with the probe, the kernel settings and the matrix', async () => {
    const r = await cli(['doctor', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      features: FeatureSet;
      settings: { name: string; value: string | null }[];
      matrix: EnforcementMatrix;
    };
    expect(doc.settings.map((x) => [x.name, x.value])).toEqual(
      ['net/core/bpf_jit_enable', 'net/core/bpf_jit_harden', 'kernel/unprivileged_bpf_disabled'].map((p) => [
        p.replaceAll('/', '.'),
        readFileSync(`/proc/sys/${p}`, 'utf8').trim(),
      ]),
    );
    // reasons may differ by the securityfs mount note of a first probe; availability may not
    const avail = (f: FeatureSet) =>
      JSON.stringify(f, (k, v) => (k === 'reason' ? undefined : (v as unknown)));
    expect(avail(doc.features)).toBe(avail(features));
    expect(doc.features.name).toBe(`host ${release()}`);
    expect(summary(doc.matrix)).toEqual(summary(enforcementMatrix(features)));
    expect(doc.matrix).toEqual(enforcementMatrix(doc.features));
  });

  it('text: ✓ and ✗ per feature, then the matrix table', async () => {
    const r = await cli(['doctor']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}✗ {2}BPF-LSM +.*EPERM/m);
    expect(r.stdout).toMatch(/^ {2}✓ {2}cgroup\/dev +cgroup\/dev \(bg_cg_dev\) loads$/m);
    expect(r.stdout).toMatch(
      /^ {2}exec +kill \(tracepoint\) ! +kill \(tracepoint\) ! +audit \(tracepoint\) !$/m,
    );
    expect(r.stdout).toMatch(
      /^ {2}file +kill-after \(tracepoint\) ! +kill-after \(tracepoint\) ! +audit \(tracepoint\)$/m,
    );
    expect(r.stdout).toMatch(/^ {2}✗ {2}fmod_ret +fmod_ret\/security_sb_statfs .*EPERM/m);
    expect(r.stdout).toMatch(
      /^enforcement rungs: BPF-LSM ✗, fmod_ret ✗, cgroup hooks ✓, tracepoint kill ✓, kprobe audit ✗$/m,
    );
    expect(r.stdout).toMatch(/^kernel settings:\n {2}net\.core\.bpf_jit_enable +\d /m);
    expect(r.stdout).toMatch(/^ {2}sysctl +block \(cgroup\) +block \(cgroup\) +audit \(cgroup\)$/m);
  });

  it('agrees with compile --explain, which probes the same kernel', async () => {
    const files = matrixPolicies().sources.map((s) => {
      const p = join(dir, s.file);
      writeFileSync(p, s.text);
      return p;
    });
    const [doctor, explain] = await Promise.all([
      cli(['doctor', '--json']),
      cli(['compile', '--explain', ...files]),
    ]);
    expect(explain.code).toBe(0);
    expect(explain.stderr).toMatch(/^features: probed from this kernel \(host /m);
    const matrix = (JSON.parse(doctor.stdout) as { matrix: EnforcementMatrix }).matrix;
    let compared = 0;
    for (const row of matrix.rows) {
      for (const a of MATRIX_ACTIONS) {
        const c = row[a];
        const line = explain.stdout
          .split('\n')
          .find((l) => l.startsWith(`doctor-${a} `) && l.split(/ {2,}/)[1] === row.rule);
        if (c.achieved === 'not-allowed') {
          expect(line).toBeUndefined();
          continue;
        }
        const cols = line?.split(/ {2,}/) ?? [];
        expect(cols.slice(3, 5), `${a}/${row.rule}`).toEqual([c.hooks.join(', ') || '-', c.mechanism ?? '-']);
        expect(cols[6]?.split(' ')[0]).toBe(c.achieved);
        expect(cols[6]?.includes('!')).toBe(c.downgraded);
        compared++;
      }
    }
    // refused by the language: kprobe block and kill, uprobe block, ingress, ingress-xdp and egress kill
    expect(compared).toBe(REPRESENTATIVES.length * 3 - 6);
  });

  it('without root: exit 3 and one sentence on privileges (doctor and compile)', async () => {
    const doctor = await cli(['doctor', '--json'], { uid: 65534 });
    expect(doctor.code).toBe(3);
    expect(doctor.stdout).toBe('');
    expect(doctor.stderr).toMatch(
      /^bpfgate doctor: probing the kernel needs root .*EPERM \(running as uid 65534\)\n$/,
    );
    const compile = await cli(['compile', join(PROJECT_ROOT, 'policies')], { uid: 65534 });
    expect(compile.code).toBe(3);
    expect(compile.stderr).toMatch(/needs root.*--features FILE\|lsm\|fmod-ret\|no-lsm\n$/);
  });
});
