// What a kernel-suite case did, in the words the checks and the documents'
// tables use: what the attacker saw, the one event (outcome, mechanism), and
// what the attack left behind. Pure.

import type { CaseResult, PhaseResult } from '../guest-runner.ts';
import { eventsOf, type Violation } from '../guest-scenario.ts';
import type { KernelId } from '../kernels.ts';
import { type Expected, expected } from '../kernels.ts';
import { type Fate, freeOf, type SuiteCase } from './cases.ts';

export interface Observation {
  /** an errno name, 'SIGKILL' or 'ok' */
  sees: string;
  /** the case's rule's event, or null when there was none */
  outcome: string | null;
  mechanism: string | null;
  /** what the check printed after the case */
  after?: string;
}

/** What the attacker saw: killed, its own report, or (an exec that replaced it) its exit status. */
export function seen(c: CaseResult): string {
  if (c.signal === 'SIGKILL') return 'SIGKILL';
  if (c.report) return c.report.ok ? 'ok' : c.report.error;
  return c.status === 0 ? 'ok' : `exit ${c.status}`;
}

/** The case's events from its rule (every event of the case for a control). */
export function ruleEvents(p: PhaseResult, r: CaseResult, c: SuiteCase): Violation[] {
  const all = eventsOf(p, r);
  return c.rule ? all.filter((e) => e.policy.name === c.rule!.policy && e.policy.rule === c.rule!.rule) : all;
}

export function observe(p: PhaseResult, r: CaseResult, c: SuiteCase): Observation {
  const ev = ruleEvents(p, r, c)[0];
  return {
    sees: seen(r),
    outcome: ev?.outcome ?? null,
    mechanism: ev?.mechanism ?? null,
    ...(r.check ? { after: r.check.output } : {}),
  };
}

/** What becomes of an attempt expected to end as `e`. */
export function fateOf(e: Expected): Fate {
  return e.sees === 'EPERM' ? 'stopped' : e.outcome === 'killed-after' ? 'killed-after' : 'ran';
}

export function expectedOf(c: SuiteCase, k: KernelId, mode: 'enforce' | 'audit'): Expected {
  return c.rule
    ? expected(k, c.rule.cls, c.rule.action, mode)
    : { sees: 'ok', outcome: null, mechanism: null };
}

/** What a case must do on kernel k in a phase of mode `mode`. */
export function expectation(c: SuiteCase, k: KernelId, mode: 'enforce' | 'audit'): Observation {
  const e = expectedOf(c, k, mode);
  // what is not stopped gets the kernel's own answer
  const sees = e.sees === 'ok' ? freeOf(c, k) : e.sees;
  const fate = fateOf(e);
  return {
    sees,
    outcome: e.outcome,
    mechanism: e.mechanism,
    ...(c.after ? { after: c.after(k, fate) } : {}),
  };
}
