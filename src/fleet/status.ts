// What a host reports about itself under hosts.<host> in the bucket after
// every apply (docs/fleet.md): the policies it applies with their revisions,
// each rule's achieved enforcement, and whether the last reload worked.
import type { Enforcement, Plan } from '../abi/plan.ts';
import { formatDiagnostic, ValidationError } from '../errors.ts';
import type { AppliedEntry } from './select.ts';

export interface HostRuleStatus {
  policy: string;
  rule: string;
  kind: string;
  /** what the policy asked for */
  action: string;
  achieved: Enforcement;
  mechanism: string | null;
  dryRun: boolean;
  downgraded: boolean;
}

export interface HostStatus {
  version: 1;
  host: string;
  labels: Record<string, string>;
  bucket: string;
  /** kv: the set read from the bucket; cache: NATS was unreachable at start, the cached set is enforced */
  source: 'kv' | 'cache';
  mode: 'enforce' | 'audit';
  /** the policies being enforced, from the last successful apply */
  applied: AppliedEntry[];
  /** rules of the applied set by achieved enforcement: block, kill, audit, allow, unavailable */
  enforcement: Partial<Record<Enforcement, number>>;
  rules: HostRuleStatus[];
  lastReload: {
    ok: boolean;
    time: string;
    /** the revisions the reload read (equal to applied when ok) */
    read: AppliedEntry[];
    /** one line each, file:line:column: message [CODE] */
    errors: string[];
  };
  /** ISO time this status was written */
  updated: string;
}

export function ruleStatus(plan: Plan): { enforcement: HostStatus['enforcement']; rules: HostRuleStatus[] } {
  const enforcement: HostStatus['enforcement'] = {};
  const rules: HostRuleStatus[] = [];
  for (const r of plan.rules) {
    enforcement[r.achieved] = (enforcement[r.achieved] ?? 0) + 1;
    rules.push({
      policy: r.policy,
      rule: r.rule,
      kind: r.kind,
      action: r.action,
      achieved: r.achieved,
      mechanism: r.mechanism,
      dryRun: r.dryRun,
      downgraded: r.downgraded,
    });
  }
  return { enforcement, rules };
}

/** The lines that say why an apply failed. */
export function errorLines(error: unknown): string[] {
  if (error instanceof ValidationError)
    return error.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
  if (error === null || error === undefined) return ['the daemon is not enforcing: nothing was reloaded'];
  return [error instanceof Error ? error.message : String(error)];
}
