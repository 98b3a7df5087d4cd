// Which rung self-protection uses on a kernel (src/abi/protect.ts): BPF-LSM
// where it is active, fmod_ret on the security_* functions where it is built
// but not active (a function the kernel's BTF lacks is named, not skipped
// silently), and a refusal that says why where neither works.
import { describe, expect, it } from 'vitest';
import type { FeatureSet } from '../../src/abi/features.ts';
import { PROTECT_HOOKS, protectFunctions, protectPlan, protectSummary } from '../../src/abi/protect.ts';
import { FMOD_RET, LSM, NO_LSM } from '../support/features.ts';

const inBtf = (missing: string[] = []): FeatureSet['protectHooks'] =>
  Object.fromEntries(
    protectFunctions().map((fn) => [
      fn,
      missing.includes(fn)
        ? { available: false, reason: `${fn} is not a function in this kernel's BTF (inlined or missing)` }
        : { available: true, reason: `${fn} is a function in the kernel's BTF` },
    ]),
  );

describe('self-protection rungs', () => {
  it('BPF-LSM active: every check as a BPF-LSM program', () => {
    const plan = protectPlan(LSM);
    expect(plan.rung).toBe('lsm');
    if (plan.rung !== 'lsm') return;
    expect(plan.programs.map((p) => p.program)).toEqual(PROTECT_HOOKS.map((h) => `bg_protect_${h.name}`));
    expect(plan.programs[1]!.attach).toEqual({ type: 'lsm', hook: 'task_kill' });
    expect(plan.unarmed).toEqual([]);
    expect(protectSummary(plan)).toBe(`BPF-LSM, ${PROTECT_HOOKS.length} of ${PROTECT_HOOKS.length} checks`);
  });

  it('BPF-LSM built but not active: every check as fmod_ret on its security_* function', () => {
    const plan = protectPlan({ ...FMOD_RET, protectHooks: inBtf() });
    expect(plan.rung).toBe('fmod_ret');
    if (plan.rung !== 'fmod_ret') return;
    expect(plan.programs.map((p) => p.program)).toEqual(PROTECT_HOOKS.map((h) => `bg_protect_fmr_${h.name}`));
    expect(plan.programs.find((p) => p.program === 'bg_protect_fmr_inode_permission')?.attach).toEqual({
      type: 'fmod_ret',
      function: 'security_inode_permission',
    });
    expect(plan.unarmed).toEqual([]);
  });

  it('a security_* function missing from BTF: that check is named as not armed, with why', () => {
    const plan = protectPlan({ ...FMOD_RET, protectHooks: inBtf(['security_file_fcntl']) });
    if (plan.rung !== 'fmod_ret') throw new Error(`rung ${plan.rung}`);
    expect(plan.programs).toHaveLength(PROTECT_HOOKS.length - 1);
    expect(plan.unarmed).toEqual([
      {
        program: 'bg_protect_fmr_fcntl',
        function: 'security_file_fcntl',
        guards: 'F_SETOWN toward the daemon',
        reason: "security_file_fcntl is not a function in this kernel's BTF (inlined or missing)",
      },
    ]);
    expect(protectSummary(plan)).toMatch(
      /^fmod_ret on the security_\* functions \(BPF-LSM not active\), 14 of 15 checks; NOT armed: F_SETOWN toward the daemon \(security_file_fcntl: /,
    );
  });

  it('a feature set that did not probe the functions arms nothing, and says so', () => {
    const plan = protectPlan(FMOD_RET);
    if (plan.rung !== null) throw new Error(`rung ${plan.rung}`);
    expect(plan.reason).toMatch(
      /this feature set does not say which of self-protection's security_\* functions/,
    );
    const none = protectPlan({ ...FMOD_RET, protectHooks: {} });
    if (none.rung !== null) throw new Error(`rung ${none.rung}`);
    expect(none.reason).toMatch(
      /none of the security_\* functions it needs is attachable \(security_\w+ was not probed/,
    );
  });

  it('neither BPF-LSM nor fmod_ret: refused, with both reasons and the fix for BPF-LSM', () => {
    const plan = protectPlan({
      ...NO_LSM,
      lsm: { ...NO_LSM.lsm, fix: 'add bpf to lsm= on the kernel command line' },
      protectHooks: inBtf(),
    });
    if (plan.rung !== null) throw new Error(`rung ${plan.rung}`);
    expect(plan.reason).toContain(`BPF-LSM: ${NO_LSM.lsm.reason}`);
    expect(plan.reason).toContain(`fmod_ret: ${NO_LSM.fmodRet.reason}`);
    expect(plan.fix).toBe('add bpf to lsm= on the kernel command line');
    expect(protectSummary(plan)).toMatch(/^not available: self-protection needs BPF-LSM or fmod_ret/);
  });

  it('every check has its own program names and a security_* function', () => {
    expect(new Set(PROTECT_HOOKS.map((h) => h.name)).size).toBe(PROTECT_HOOKS.length);
    for (const h of PROTECT_HOOKS) expect(h.function).toBe(`security_${h.hook}`);
  });
});
