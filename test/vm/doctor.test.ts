// `bpfgate doctor` on Debian's 6.1 kernel under QEMU (BPF-LSM active, kprobes
// built in): the probe finds them, and the matrix blocks with BPF-LSM.
//   npx vitest run --project kernel test/vm/doctor.test.ts
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CGROUP_HOOKS, type FeatureSet } from '../../src/abi/features.ts';
import {
  type EnforcementMatrix,
  MATRIX_ACTIONS,
  matrixPolicies,
  REPRESENTATIVES,
} from '../../src/doctor/matrix.ts';
import {
  GUEST_CGROUP2_ROOT,
  GUEST_IN,
  GUEST_OUT,
  type GuestResult,
  PROJECT_ROOT,
  runInGuest,
} from '../support/guest.ts';

const CLI = path.join(PROJECT_ROOT, 'bin/bpfgate.js');

let res: GuestResult;
let features: FeatureSet;
let matrix: EnforcementMatrix;
let probeMs: number;

beforeAll(async () => {
  const { sources } = matrixPolicies();
  const files = Object.fromEntries(sources.map((s) => [s.file, s.text]));
  const policies = sources.map((s) => `${GUEST_IN}/${s.file}`).join(' ');
  // doctor --json (timed), doctor's text, and compile --explain probing the same kernel
  const script = [
    'set -e',
    `t0=$(date +%s%N)`,
    `node ${CLI} doctor --json > ${GUEST_OUT}/doctor.json`,
    `echo $(( ($(date +%s%N) - t0) / 1000000 )) > ${GUEST_OUT}/doctor.ms`,
    `node ${CLI} doctor > ${GUEST_OUT}/doctor.txt`,
    `node ${CLI} compile --explain ${policies} > ${GUEST_OUT}/explain.txt 2> ${GUEST_OUT}/explain.err`,
  ].join('\n');
  res = await runInGuest(script, { files, timeoutMs: 600_000 });
  if (res.exitCode !== 0) throw new Error(`guest exit ${res.exitCode}\n${res.stderr}\n${res.console}`);
  const doc = JSON.parse(res.outFiles['doctor.json']!) as { features: FeatureSet; matrix: EnforcementMatrix };
  features = doc.features;
  matrix = doc.matrix;
  probeMs = Number(res.outFiles['doctor.ms']);
});

describe('bpfgate doctor in the guest (Debian 6.1)', () => {
  it('reports BPF-LSM active and loadable, with bpf_d_path', () => {
    expect(features.name).toMatch(/^host 6\.1\.0-\d+-amd64$/);
    expect(features.lsm.available).toBe(true);
    expect(features.lsm.reason).toMatch(/active LSMs: [a-z,]*\bbpf\b.*lsm\/capable loads/);
    expect(features.lsmDPath).toMatchObject({ available: true });
  });

  it('reports kprobes available (an attach on bpf_fentry_test1), fentry, tracepoints, bpf_send_signal', () => {
    expect(features.kprobes).toEqual({
      available: true,
      reason: 'kprobe loads; attach kprobe bpf_fentry_test1 ok (detached at once)',
    });
    expect(features.fentry.available).toBe(true);
    expect(features.tracepoints.available).toBe(true);
    expect(features.sendSignal.available).toBe(true);
  });

  it('BTF, bpffs, the pure cgroup2 root, and every cgroup hook', () => {
    expect(features.btf.available).toBe(true);
    expect(features.bpffs.available).toBe(true);
    expect(features.cgroup2).toMatchObject({ available: true, mount: GUEST_CGROUP2_ROOT });
    for (const h of CGROUP_HOOKS) expect(features.cgroupHooks[h].available, h).toBe(true);
  });

  it('the matrix: block via BPF-LSM for exec, file, capability, module, bpf, ptrace, mount, setuid (and socket)', () => {
    const row = (k: string) => matrix.rows.find((r) => r.rule === k)!;
    for (const k of ['exec', 'file', 'capability', 'module', 'bpf', 'ptrace', 'mount', 'setuid', 'socket']) {
      expect(row(k).block, k).toMatchObject({ achieved: 'block', mechanism: 'lsm', downgraded: false });
      expect(row(k).kill, k).toMatchObject({ achieved: 'kill', mechanism: 'lsm' });
      expect(
        row(k).block.hooks.every((h) => h.startsWith('lsm/')),
        k,
      ).toBe(true);
    }
    expect(row('exec').block.hooks).toEqual(['lsm/bprm_check_security']);
    expect(row('capability').block.hooks).toEqual(['lsm/capable']);
    for (const k of ['connect', 'bind', 'device', 'sysctl']) {
      expect(row(k).block, k).toMatchObject({ achieved: 'block', mechanism: 'cgroup', downgraded: false });
    }
    expect(row('kprobe').audit).toMatchObject({
      achieved: 'audit',
      mechanism: 'kprobe',
      hooks: ['kprobe/commit_creds'],
    });
  });

  it('the text output shows the same', () => {
    const text = res.outFiles['doctor.txt']!;
    expect(text).toMatch(/^ {2}✓ {2}BPF-LSM +/m);
    expect(text).toMatch(/^ {2}✓ {2}kprobes +/m);
    expect(text).toMatch(/^ {2}capability +block \(lsm\) +kill \(lsm\) +audit \(lsm\)$/m);
  });

  it('agrees with compile --explain on the same kernel', () => {
    expect(res.outFiles['explain.err']).toMatch(/^features: probed from this kernel \(host 6\.1\.0-/m);
    const lines = res.outFiles['explain.txt']!.split('\n');
    let compared = 0;
    for (const row of matrix.rows) {
      for (const a of MATRIX_ACTIONS) {
        const c = row[a];
        const cols = lines
          .find((l) => l.startsWith(`doctor-${a} `) && l.split(/ {2,}/)[1] === row.rule)
          ?.split(/ {2,}/);
        if (c.achieved === 'not-allowed') {
          expect(cols).toBeUndefined();
          continue;
        }
        expect(cols?.slice(3, 5), `${a}/${row.rule}`).toEqual([
          c.hooks.join(', ') || '-',
          c.mechanism ?? '-',
        ]);
        expect(cols?.[6]?.split(' ')[0]).toBe(c.achieved);
        compared++;
      }
    }
    expect(compared).toBe(REPRESENTATIVES.length * 3 - 2);
  });

  it('finishes in bounded time even under emulation', () => {
    // TCG guest: about 50 s alone, longer beside other guests (2 s of it is node starting)
    expect(probeMs).toBeGreaterThan(0);
    expect(probeMs).toBeLessThan(300_000);
  });
});
