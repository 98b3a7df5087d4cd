// The kernel suite's checks, the same on every kernel: one run (one guest
// boot, or one run on this host) and, against it, the rule-kind attacks
// enforcing and in audit mode, the attacks against the starter policies,
// doctor's probe and matrix, and the starter plan; then the run's results
// are written (test/vm/results/<kernel>.json) and the documents' tables must be
// what they render. Each test/vm/kernel-<kernel>.test.ts is one call.
import { beforeAll, describe, expect, it } from 'vitest';
import type { FeatureSet } from '../../../src/abi/features.ts';
import type { Plan } from '../../../src/abi/plan.ts';
import {
  type EnforcementMatrix,
  MATRIX_ACTIONS,
  type MatrixAction,
  REPRESENTATIVES,
} from '../../../src/doctor/matrix.ts';
import type { CaseResult, PhaseResult } from '../guest-runner.ts';
import { caseOf, describeCase, eventsOf } from '../guest-scenario.ts';
import { expected, type KernelId } from '../kernels.ts';
import { ATTACK_CONTROLS, ATTACKS } from './attacks.ts';
import { E2E_CASES, type SuiteCase } from './cases.ts';
import { expectation, expectedOf, fateOf, type Observation, observe, ruleEvents } from './observe.ts';
import { runKernelSuite, type SuiteRun } from './run.ts';
import { type KernelResults, renderDocuments, writeResults } from './tables.ts';

/** Kinds a security_* hook decides (BPF-LSM, fmod_ret); without either they fall to a tracepoint or nothing. */
const SECURITY_KINDS = new Set([
  'exec',
  'file',
  'capability',
  'module',
  'bpf',
  'ptrace',
  'mount',
  'setuid',
  'socket',
]);
const CGROUP_KINDS = new Set(['connect', 'bind', 'device', 'sysctl']);
/** Packet kinds: tc (tcx links, Linux 6.6) and XDP on named interfaces; no process, so no kill. */
const PACKET_KINDS = new Set(['ingress', 'egress']);
/** the programs that see listen() on a socket never bound */
const LISTEN = new Set(['bg_lsm_socket_listen', 'bg_fmr_socket_listen', 'bg_tp_sys_listen']);

/**
 * The case did what its kernel's expectation says, and its one rule reported
 * it (or nothing did). What it did is recorded first, pass or fail.
 */
function checkCase(
  p: PhaseResult,
  c: SuiteCase,
  k: KernelId,
  mode: 'enforce' | 'audit',
  into?: Record<string, Observation>,
): void {
  const r = caseOf(p, c.name);
  const why = describeCase(p, r);
  const want = expectation(c, k, mode);
  const got = observe(p, r, c);
  if (into) into[c.name] = got;
  expect(got, why).toEqual(want);
  const evs = ruleEvents(p, r, c);
  if (want.outcome === null) {
    // nothing of the case's own rule, and for a control nothing at all
    expect(evs, why).toEqual([]);
  } else {
    // one attempt, one decision: every event of the rule says the same
    expect(new Set(evs.map((e) => `${e.outcome} ${e.mechanism}`)).size, why).toBe(1);
    const e = evs[0]!;
    expect(e.action, why).toBe(c.rule!.action);
    expect(e.mode, why).toBe(mode);
    expect(e.kind, why).toBe(c.rule!.kind);
    if (c.rule!.target) expect(e.target, why).toMatchObject(c.rule!.target);
    const deny = want.outcome === 'denied';
    expect(e.ret < 0, why).toBe(deny);
  }
  const detail = c.detail?.[fateOf(expectedOf(c, k, mode))];
  if (detail !== undefined) expect(r.report?.detail, why).toBe(detail);
}

function cases(list: readonly SuiteCase[], k: KernelId, audit: boolean): SuiteCase[] {
  return list.filter((c) => !(audit && c.control) && (c.kernels?.includes(k) ?? true));
}

function parse<T>(run: SuiteRun, name: string): T {
  const c = run.commands[name];
  if (c?.status !== 0) throw new Error(`${name} failed (${c?.status}):\n${c?.stdout}\n${c?.stderr}`);
  return JSON.parse(c.stdout) as T;
}

/** What a block rule of a security kind achieves on kernel k (a socket rule of every family included). */
function securityBlock(
  k: KernelId,
  kind: string,
  rule: string,
): { achieved: string; mechanism: string | null } {
  if (k === 'guest-lsm') return { achieved: 'block', mechanism: 'lsm' };
  if (k === 'guest-fmod-ret') return { achieved: 'block', mechanism: 'fmod_ret' };
  // capability checks, privilege granted to a file (setid, setcap) and the id changes other than
  // setuid/setreuid/setresuid (gid, groups, capset, user namespaces) have only security hooks:
  // sys_enter never decides them
  if (kind === 'capability' || rule === 'file-setid' || rule === 'file-tree' || rule === 'setuid-ids')
    return { achieved: 'unavailable', mechanism: null };
  return { achieved: kind === 'exec' ? 'kill' : 'kill-after', mechanism: 'tracepoint' };
}

export function kernelSuite(k: KernelId): void {
  let run: SuiteRun;
  let features: FeatureSet;
  let matrix: EnforcementMatrix;
  let probeMs: number;
  const results: KernelResults = { kernel: k, release: '', matrix: {}, e2e: {}, audit: {}, attacks: {} };

  beforeAll(async () => {
    run = await runKernelSuite(k);
    ({ features, matrix } = parse<{ features: FeatureSet; matrix: EnforcementMatrix }>(run, 'doctor'));
    probeMs = run.commands.doctor!.durationMs;
    results.release = run.release;
    console.log(
      `kernel suite on ${k} (${run.release}): ${run.durationMs} ms (boot ${run.bootMs} ms; doctor ${probeMs} ms; ` +
        `daemon start ${run.enforce.daemonStartMs} / ${run.audit.daemonStartMs} / ${run.starter.daemonStartMs} ms)`,
    );
  });

  describe(`the probe and the enforcement matrix on ${k}`, () => {
    it('doctor names the rungs of this kernel, the fix for BPF-LSM where there is one, and the BPF settings', () => {
      if (k === 'guest-lsm') {
        expect(features.lsm.available).toBe(true);
        expect(features.fmodRet).toMatchObject({ available: false, probed: false });
      } else if (k === 'guest-fmod-ret') {
        expect(features.lsm.available).toBe(false);
        expect(features.lsm.reason).toMatch(
          /BPF-LSM is compiled in \(the kernel's BTF has bpf_lsm_file_open\) but not active/,
        );
        expect(features.lsm.fix).toBe(
          'add bpf to lsm= on the kernel command line: lsm=lockdown,capability,landlock,yama,apparmor,bpf (e.g. in GRUB_CMDLINE_LINUX, then update-grub and reboot)',
        );
        expect(features.fmodRet.available).toBe(true);
        expect(features.fmodRet.reason).toMatch(/denied statfs to a child of the probe with EPERM/);
        const hooks = Object.entries(features.fmodRetHooks);
        // every security_* function a fmod_ret program attaches to (src/abi/programs.ts), each in 6.1's BTF
        expect(hooks.length).toBe(31);
        for (const [fn, f] of hooks) expect(f.available, fn).toBe(true);
      } else {
        expect(features.lsm.available).toBe(false);
        expect(features.fmodRet.available).toBe(false);
        expect(features.fmodRet.reason).toMatch(/load: EPERM/);
      }
      const text = run.commands['doctor-text']!.stdout;
      const rung = {
        'guest-lsm': 'BPF-LSM ✓, fmod_ret -',
        'guest-fmod-ret': 'BPF-LSM ✗, fmod_ret ✓',
        host: 'BPF-LSM ✗, fmod_ret ✗',
      }[k];
      expect(text).toMatch(
        new RegExp(
          `^enforcement rungs: ${rung}, cgroup hooks ✓, tracepoint kill ✓, kprobe audit ${k === 'host' ? '✗' : '✓'}$`,
          'm',
        ),
      );
      if (k === 'guest-fmod-ret') expect(text).toMatch(/^ +fix: add bpf to lsm= on the kernel command line/m);
      // uprobes on every kernel of the suite: the probe attached to _start of its own node binary
      expect(features.uprobes, 'uprobes').toMatchObject({ available: true });
      expect(text).toMatch(/^ {2}✓ {2}uprobes +uprobe loads; attach on .*:_start ok/m);
      const doctor = JSON.parse(run.commands.doctor!.stdout) as {
        settings: { name: string; value: string | null }[];
      };
      expect(doctor.settings.map((s) => s.name)).toEqual([
        'net.core.bpf_jit_enable',
        'net.core.bpf_jit_harden',
        'kernel.unprivileged_bpf_disabled',
      ]);
      for (const s of doctor.settings) expect(s.value, s.name).toMatch(/^\d+$/);
      // under emulation a probe takes tens of seconds, never minutes on end
      expect(probeMs).toBeLessThan(300_000);
    });

    it('the matrix: every security kind by this kernel’s rung, the cgroup kinds by cgroup hooks', () => {
      for (const row of matrix.rows) {
        const b = row.block;
        results.matrix[row.rule] = { achieved: b.achieved, mechanism: b.mechanism, hooks: b.hooks };
        if (row.kind === 'socket' && row.rule === 'socket-inet' && k === 'host') {
          expect(b, row.rule).toMatchObject({ achieved: 'block', mechanism: 'cgroup' });
        } else if (row.rule === 'bind-listen') {
          // bind() by the cgroup hooks; listen() on a socket never bound by security_socket_listen
          // (BPF-LSM or its fmod_ret twin), which the host only sees in sys_enter, after the call
          expect({ achieved: b.achieved, mechanism: b.mechanism }, row.rule).toEqual(
            securityBlock(k, 'socket', row.rule),
          );
          expect(b.hooks, row.rule).toEqual(
            expect.arrayContaining(['cgroup_inet4_bind', 'cgroup_inet6_bind']),
          );
        } else if (SECURITY_KINDS.has(row.kind)) {
          expect({ achieved: b.achieved, mechanism: b.mechanism }, row.rule).toEqual(
            securityBlock(k, row.kind, row.rule),
          );
          expect(b.downgraded, row.rule).toBe(k === 'host');
        } else if (CGROUP_KINDS.has(row.kind)) {
          expect(b, row.rule).toMatchObject({ achieved: 'block', mechanism: 'cgroup', downgraded: false });
        } else if (PACKET_KINDS.has(row.kind)) {
          // XDP drops on every kernel here; tc needs tcx links (Linux 6.6): not on Debian's 6.1
          const tc =
            k === 'host'
              ? { achieved: 'block', mechanism: 'tc' }
              : { achieved: 'unavailable', mechanism: null };
          expect({ achieved: b.achieved, mechanism: b.mechanism }, row.rule).toEqual(
            row.rule === 'ingress-xdp' ? { achieved: 'block', mechanism: 'xdp' } : tc,
          );
        }
      }
      // a uprobe cannot refuse a call: kill lands after the function returned (readline's line captured)
      expect(matrix.rows.find((r) => r.rule === 'uprobe')!.kill).toMatchObject({
        achieved: 'kill-after',
        mechanism: 'uprobe',
        hooks: ['uretprobe//usr/bin/bash:readline'],
      });
      if (k === 'guest-fmod-ret') {
        // the exec and the file mapped executable (the dynamic loader, mmap/mprotect PROT_EXEC)
        expect(matrix.rows.find((r) => r.rule === 'exec')!.block.hooks).toEqual([
          'fmod_ret/security_bprm_check',
          'fmod_ret/security_file_mprotect',
          'fmod_ret/security_mmap_file',
        ]);
        expect(matrix.rows.find((r) => r.rule === 'file')!.kill).toMatchObject({
          achieved: 'kill',
          mechanism: 'fmod_ret',
        });
      }
    });

    it('compile --explain on the probed features agrees with the matrix, cell by cell', () => {
      const lines = run.commands.explain!.stdout.split('\n');
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
      // refused by the language: kprobe block and kill, ingress and egress kill, uprobe block
      expect(compared).toBe(REPRESENTATIVES.length * 3 - 6);
    });

    it('the starter policies compile as the matrix says: no downgrade where a security_* hook runs', () => {
      const plan = parse<Plan>(run, 'plan');
      for (const r of plan.rules) {
        const id = `${r.policy}/${r.rule}: ${r.achieved} via ${r.mechanism}`;
        if (r.kind === 'uprobe') {
          // the starter uprobe rules audit (bash's readline, PAM) on every kernel
          expect({ mechanism: r.mechanism, achieved: r.achieved, downgraded: r.downgraded }, id).toEqual({
            mechanism: 'uprobe',
            achieved: r.action,
            downgraded: false,
          });
        } else if (CGROUP_KINDS.has(r.kind)) {
          // a bind rule any port of TCP covers listen() without bind() too: planned as the matrix's
          // bind-listen row (lsm/socket_listen or its fmod_ret twin, the stronger rung, where one runs)
          const listen = r.kind === 'bind' && r.action !== 'allow' && r.programs.some((p) => LISTEN.has(p));
          const cell = matrix.rows.find((x) => x.rule === 'bind-listen')![r.action as MatrixAction];
          expect(r.mechanism, id).toBe(listen ? cell.mechanism : 'cgroup');
          expect(r.downgraded, id).toBe(listen && cell.downgraded);
        } else if (PACKET_KINDS.has(r.kind)) {
          // every starter policy is scoped to the run's cgroups here: a packet rule is decided by its kind's
          // cgroup_skb program on the socket's cgroup (every kernel here has cgroup_skb), never by tc; it is
          // left out only for an interface this machine does not have, saying so
          if (r.achieved === 'unavailable') expect(r.reason, id).toMatch(/does not exist/);
          else
            expect({ mechanism: r.mechanism, achieved: r.achieved, downgraded: r.downgraded }, id).toEqual({
              mechanism: 'cgroup',
              achieved: r.action,
              downgraded: false,
            });
        } else if (k !== 'host') {
          expect(r.mechanism, id).toBe(k === 'guest-lsm' ? 'lsm' : 'fmod_ret');
          expect(r.achieved, id).toBe(r.action);
          expect(r.downgraded, id).toBe(false);
        } else if (r.policy === 'no-privileged-files') {
          // setid and setcap have only security hooks: unavailable on the host, never a kill-after
          expect(r.achieved, id).toBe('unavailable');
        } else if (r.action === 'block' && r.kind !== 'capability' && r.rule !== 'raw-ip-sockets') {
          expect(r.achieved, id).toBe(r.kind === 'exec' ? 'kill' : 'kill-after');
          expect(r.downgraded, id).toBe(true);
        }
      }
    });
  });

  describe(`the rule-kind attacks on ${k}`, () => {
    it.each(cases(E2E_CASES, k, false).map((c) => [c.name, c] as const))('%s, enforcing', (_n, c) => {
      checkCase(run.enforce, c, k, 'enforce', results.e2e);
    });
    it.each(cases(E2E_CASES, k, true).map((c) => [c.name, c] as const))('%s, in audit mode', (_n, c) => {
      checkCase(run.audit, c, k, 'audit', results.audit);
    });
    it('the daemon reports after the global bpf block (its own bpf() is never matched)', () => {
      const first = caseOf(run.enforce, 'bpf-prog-load');
      const later = run.enforce.cases.filter((x: CaseResult) => x.startedAt > first.startedAt);
      expect(later.filter((x) => eventsOf(run.enforce, x).length > 0).length).toBeGreaterThan(8);
    });
    it('nothing in the audit phase was denied or killed', () => {
      const stopped = run.audit.events.filter((e) =>
        ['denied', 'killed', 'killed-after'].includes(String(e.outcome)),
      );
      expect(stopped).toEqual([]);
    });
  });

  describe(`the attacks against the starter policies on ${k}`, () => {
    it.each(ATTACKS.map((a) => [a.name, a] as const))('%s', (_n, a) => {
      checkCase(run.starter, a, k, 'enforce', results.attacks);
    });
    it.each(cases(ATTACK_CONTROLS, k, false).map((c) => [c.name, c] as const))(
      '%s: outside the policies, the kernel’s own answer',
      (_n, c) => {
        checkCase(run.starter, c, k, 'enforce');
      },
    );
    it('an exec killed by the tracepoint rung never ran: no output of its own', () => {
      const shell = caseOf(run.starter, 'service-shell');
      if (expected(k, 'exec', 'block', 'enforce').outcome === 'killed') expect(shell.stdout).toBe('');
    });
  });

  describe(`the results of ${k}`, () => {
    it('are written, and the documents’ tables are what the results render', () => {
      expect(Object.keys(results.e2e).length).toBeGreaterThan(0);
      writeResults(results);
      for (const d of renderDocuments()) {
        expect(
          d.now,
          `${d.file} is not what this run's results render: npm run generate, and review the diff`,
        ).toBe(d.want);
      }
    });
  });
}
