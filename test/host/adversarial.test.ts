// The adversarial cases (test/adversarial/cases.ts) on this host's kernel,
// through the real daemon (run as root):
//   npx vitest run --project host test/host/adversarial.test.ts
// Each case is an intruder's walk-around of a rule, performed by the attack
// program (test/attacks/attack.c) from a network namespace of its own, in a
// cgroup of the case's own below this file's test cgroup: every policy is
// scoped there. Once with the daemon enforcing, once with --audit; each time
// the attempt ends as the case says for this kernel ('host'), with exactly
// one event naming the case's rule, and `compile` says what the rule achieves.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSchemaErrors } from '../../src/events/schema.ts';
import * as adv from '../support/adversarial.ts';
import { buildAttacks } from '../support/attacks.ts';
import { bpfgate, type DaemonProcess, type Json } from '../support/daemon.ts';
import { EnforceHarness } from '../support/enforce.ts';

const KERNEL = 'host' as const;
const CASES = adv.casesFor(KERNEL);
let ATTACK = '';

beforeAll(() => {
  ATTACK = buildAttacks().attack;
});

/** A harness with every case's cgroup and policy, and its daemon. */
async function setUp(mode: 'enforce' | 'audit'): Promise<{ h: EnforceHarness; daemon: DaemonProcess }> {
  const h = new EnforceHarness();
  for (const c of CASES) {
    for (const dir of adv.cgroupsBefore(c, caseDir(h, c))) mkdirSync(dir, { recursive: true });
    writeFileSync(`${h.policiesDir}/${c.id}.yaml`, adv.casePolicy(c, `/${h.name}/${c.id}`));
    if (c.files) execFileSync('/bin/sh', ['-c', c.files]);
  }
  const daemon = await h.startDaemon(mode === 'audit' ? ['--audit'] : []);
  return { h, daemon };
}

function caseDir(h: EnforceHarness, c: adv.AdversarialCase): string {
  return `${h.cgroup.path}/${c.id}`;
}

describe.each(['enforce', 'audit'] as const)('%s mode', (mode) => {
  let h: EnforceHarness;
  let daemon: DaemonProcess;

  beforeAll(async () => {
    ({ h, daemon } = await setUp(mode));
  });

  afterAll(async () => {
    const exit = h?.daemon?.running ? await h.daemon.stop('SIGTERM') : null;
    await h?.close();
    if (exit) expect(exit).toEqual({ code: 0, signal: null });
  });

  it.each(CASES.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
    if (c.after)
      execFileSync('/bin/sh', ['-c', c.after], {
        env: { ...process.env, CASE: caseDir(h, c), KERNEL, MODE: mode },
      });
    const r = await h.attempt(adv.attackerArgv(c, ATTACK, caseDir(h, c)), 'outside');
    const pid = adv.actingPid(r.stdout, r.pid);
    if (adv.expected(c, KERNEL, mode).events.length > 0) {
      await daemon.until(() => daemon.eventsOf(pid)[0], `an event of pid ${pid}`);
    }
    await new Promise((res) => setTimeout(res, 300));
    const { observed, expected, events, why } = adv.judge(c, KERNEL, mode, r, daemon.events);
    expect(observed, why).toEqual(expected);
    for (const e of events as Json[]) {
      expect(eventSchemaErrors(e)).toEqual([]);
      expect(e.target, why).toMatchObject(c.target);
      expect(e.process.cgroup?.id).toBeDefined();
    }
  });
});

describe('what compile says each case achieves here', () => {
  let plan: Json;

  beforeAll(async () => {
    const h = new EnforceHarness();
    try {
      for (const c of CASES)
        writeFileSync(`${h.policiesDir}/${c.id}.yaml`, adv.casePolicy(c, `/${h.name}/${c.id}`));
      const r = await bpfgate(['compile', h.policiesDir, '--json']);
      expect(r.code, r.stderr).toBe(0);
      plan = JSON.parse(r.stdout) as Json;
    } finally {
      await h.close();
    }
  });

  it.each(CASES.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    // an allowlist's default, or the case's rule
    const rule = c.allowlist
      ? (plan.policies as Json[])
          .find((p) => p.name === adv.policyName(c))
          ?.defaults?.find((d: Json) => d.kind === c.kind)
      : (plan.rules as Json[]).find((x) => x.policy === adv.policyName(c) && x.rule === adv.RULE);
    const e = adv.expectationOn(c, KERNEL);
    const achieved =
      ({ EPERM: 'block', 'killed-after': 'kill-after', killed: 'kill' } as Record<string, string>)[e.ends] ??
      rule?.achieved;
    expect(rule).toMatchObject({ achieved, downgraded: e.ends !== 'EPERM' });
  });
});
