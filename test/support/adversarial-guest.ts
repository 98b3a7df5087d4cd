// The adversarial cases (test/adversarial/cases.ts) in Debian's 6.1 guest,
// one guest per kernel: one phase per mode, the daemon enforcing every case's
// policy, then the same with --audit. Each case's attacker runs from a
// network namespace of its own in the case's cgroup (/adv/<id>), and must end
// as the case says for the kernel, with exactly one event naming the case's
// rule. test/vm/adversarial.test.ts (BPF-LSM) and
// test/vm/adversarial-fmod-ret.test.ts (BPF-LSM built but not active) call it.
// Other guest suites join the same boot and daemons as parts (GuestPart: the
// fail-closed suite, test/support/failclosed-part.ts): a guest boot and two
// daemon starts under TCG cost minutes, a part's cases seconds.
import { beforeAll, describe, expect, it } from 'vitest';
import * as adv from './adversarial.ts';
import { buildAttacks } from './attacks.ts';
import { GUEST_IN } from './guest.ts';
import {
  type CaseSpec,
  CG,
  caseOf,
  type PhaseResult,
  type PhaseSpec,
  runScenario,
} from './guest-scenario.ts';

const MODES = ['enforce', 'audit'] as const;
export type Mode = (typeof MODES)[number];

/** A suite that runs in the adversarial guest, beside its cases, under the same daemons. */
export interface GuestPart {
  /** files for the guest (GUEST_IN/...); policies go under adv/, the folder the daemons load */
  files: Record<string, string>;
  /** bash run before each phase's daemon starts, after the cases' own set-up (set -e) */
  setup: string;
  /** the part's cases, run in each phase after the adversarial cases (names unique in the phase) */
  cases(): CaseSpec[];
  /** registers the part's tests; `phase(mode)` is that phase's result once the guest ran */
  tests(phase: (mode: Mode) => PhaseResult): void;
}
const ROOT = '/adv';

/** The suite on one guest kernel: `lsm` is its lsm= (undefined: Debian's default, BPF-LSM active). */
export function guestAdversarialSuite(
  kernel: 'lsm' | 'fmod',
  title: string,
  lsm?: readonly string[],
  parts: readonly GuestPart[] = [],
): void {
  const CASES = adv.casesFor(kernel);
  const phases: Partial<Record<(typeof MODES)[number], PhaseResult>> = {};
  const caseDir = (c: adv.AdversarialCase) => `${CG}${ROOT}/${c.id}`;

  beforeAll(async () => {
    const { attack } = buildAttacks();
    const files: Record<string, string> = {};
    for (const c of CASES) files[`adv/${c.id}.yaml`] = adv.casePolicy(c, `${ROOT}/${c.id}`);
    for (const p of parts) Object.assign(files, p.files);
    const setup = [
      ...CASES.flatMap((c) => adv.cgroupsBefore(c, caseDir(c)).map((d) => `mkdir -p ${d}`)),
      ...CASES.flatMap((c) => (c.files ? [c.files] : [])),
      ...parts.map((p) => p.setup),
    ].join('\n');
    const spec: PhaseSpec[] = MODES.map((mode) => ({
      name: mode,
      // every case's cgroups afresh: the audit phase must not inherit what the enforce phase made
      setup: `set -e\nfor d in $(find ${CG}${ROOT} -mindepth 1 -depth -type d 2>/dev/null); do rmdir "$d"; done\n${setup}`,
      daemonArgs: ['--policies', `${GUEST_IN}/adv`, ...(mode === 'audit' ? ['--audit'] : [])],
      cases: [
        ...CASES.map((c) => ({
          name: c.id,
          argv: adv.attackerArgv(c, attack, caseDir(c)),
          ...(c.after ? { prep: `CASE=${caseDir(c)}\nKERNEL=${kernel}\nMODE=${mode}\n${c.after}` } : {}),
        })),
        ...parts.flatMap((p) => p.cases()),
      ],
    }));
    const r = await runScenario(`adversarial-${kernel}`, { phases: spec }, files, 1_200_000, lsm); // within the kernel project's 1300 s hook timeout: two daemon starts and every case, under TCG
    for (const [i, mode] of MODES.entries()) {
      const p = r.phases[i]!;
      if (p.error) throw new Error(`${mode}: ${p.error}\n${p.daemonLog.slice(-4000)}`);
      phases[mode] = p;
    }
    console.log(`adversarial guest (${kernel}): ${r.guest.durationMs} ms (boot ${r.guest.bootMs} ms)`);
  });

  it(`both daemons stop cleanly, ${title}`, () => {
    for (const mode of MODES)
      expect(phases[mode]!.daemonExit, phases[mode]!.daemonLog.slice(-4000)).toEqual({
        code: 0,
        signal: null,
      });
  });

  for (const p of parts) p.tests((mode) => phases[mode]!);

  describe.each(MODES)(`%s mode, ${title}`, (mode) => {
    it.each(CASES.map((c) => [c.id, c] as const))('%s', (_id, c) => {
      const phase = phases[mode]!;
      const r = caseOf(phase, c.id);
      // what the case does before the attack (a control among it) must have gone through
      expect(r.prep?.status ?? 0, r.prep?.output).toBe(0);
      const attempt = { stdout: r.stdout, stderr: r.stderr, code: r.status, signal: r.signal, pid: r.pid };
      const { observed, expected, events, why } = adv.judge(c, kernel, mode, attempt, phase.events);
      expect(observed, why).toEqual(expected);
      for (const e of events) expect((e as { target: unknown }).target, why).toMatchObject(c.target);
    });
  });
}
