// The adversarial cases (test/adversarial/cases.ts) on Debian's 6.1 kernel
// with BPF-LSM, under QEMU:
//   npx vitest run --project kernel test/vm/adversarial.test.ts
// One guest, one phase per mode: the daemon enforcing every case's policy,
// then the same with --audit. Each case's attacker runs from a network
// namespace of its own in the case's cgroup (/adv/<id>), and must end as the
// case says for this kernel ('lsm'), with exactly one event naming the case's
// rule. Another kernel (BPF-LSM built but not active, for instance) is another
// key of each case's `kernels` and another `KERNEL` here.
import { beforeAll, describe, expect, it } from 'vitest';
import * as adv from '../support/adversarial.ts';
import { buildAttacks } from '../support/attacks.ts';
import { GUEST_IN } from '../support/guest.ts';
import { CG, caseOf, type PhaseResult, type PhaseSpec, runScenario } from '../support/guest-scenario.ts';

const KERNEL = 'lsm' as const;
const CASES = adv.casesFor(KERNEL);
const MODES = ['enforce', 'audit'] as const;
const ROOT = '/adv';

const phases: Partial<Record<(typeof MODES)[number], PhaseResult>> = {};

const caseDir = (c: adv.AdversarialCase) => `${CG}${ROOT}/${c.id}`;

beforeAll(async () => {
  const { attack } = buildAttacks();
  const files: Record<string, string> = {};
  for (const c of CASES) files[`adv/${c.id}.yaml`] = adv.casePolicy(c, `${ROOT}/${c.id}`);
  const setup = CASES.flatMap((c) => adv.cgroupsBefore(c, caseDir(c)).map((d) => `mkdir -p ${d}`)).join('\n');
  const spec: PhaseSpec[] = MODES.map((mode) => ({
    name: mode,
    // every case's cgroups afresh: the audit phase must not inherit what the enforce phase made
    setup: `set -e\nfor d in $(find ${CG}${ROOT} -mindepth 1 -depth -type d 2>/dev/null); do rmdir "$d"; done\n${setup}`,
    daemonArgs: ['--policies', `${GUEST_IN}/adv`, ...(mode === 'audit' ? ['--audit'] : [])],
    cases: CASES.map((c) => ({
      name: c.id,
      argv: adv.attackerArgv(c, attack, caseDir(c)),
      ...(c.after ? { prep: `CASE=${caseDir(c)}\n${c.after}` } : {}),
    })),
  }));
  const r = await runScenario('adversarial', { phases: spec }, files);
  for (const [i, mode] of MODES.entries()) {
    const p = r.phases[i]!;
    if (p.error) throw new Error(`${mode}: ${p.error}\n${p.daemonLog.slice(-4000)}`);
    phases[mode] = p;
  }
  console.log(`adversarial guest: ${r.guest.durationMs} ms (boot ${r.guest.bootMs} ms)`);
});

describe.each(MODES)('%s mode, BPF-LSM kernel', (mode) => {
  it.each(CASES.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const phase = phases[mode]!;
    const r = caseOf(phase, c.id);
    const attempt = { stdout: r.stdout, stderr: r.stderr, code: r.status, signal: r.signal, pid: r.pid };
    const { observed, expected, events, why } = adv.judge(c, KERNEL, mode, attempt, phase.events);
    expect(observed, why).toEqual(expected);
    for (const e of events) expect((e as { target: unknown }).target, why).toMatchObject(c.target);
  });
});
