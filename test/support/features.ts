// The shipped feature files, for tests.
import { expect } from 'vitest';
import type { Plan, PlannedRule } from '../../src/abi/plan.ts';
import { compile } from '../../src/compiler/compile.ts';
import { loadFeatureFile, SHIPPED_FEATURES } from '../../src/compiler/feature-file.ts';
import type { PolicySet } from '../../src/policy/model.ts';

export const LSM = loadFeatureFile(SHIPPED_FEATURES.lsm);
/** BPF-LSM built but not active: the fmod_ret rung */
export const FMOD_RET = loadFeatureFile(SHIPPED_FEATURES['fmod-ret']);
export const NO_LSM = loadFeatureFile(SHIPPED_FEATURES['no-lsm']);

/** `set` compiled (generation 1) on the BPF-LSM and the no-LSM feature files, its first rule checked against `rule` on each. */
export function plansOnShippedKernels(set: PolicySet, rule: Partial<PlannedRule>): Plan[] {
  return [LSM, NO_LSM].map((features) => {
    const plan = compile(set, features, { gen: 1 });
    expect(plan.rules[0]).toMatchObject(rule);
    return plan;
  });
}
