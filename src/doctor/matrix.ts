// The enforcement matrix of `bpfgate doctor`: for each rule kind, what a rule
// asking block, kill or audit achieves on a kernel's FeatureSet, by which
// mechanism and hooks, and why. Not a second ladder: each cell is a rule of
// the policy language (one representative rule per kind and action, validated
// by the policy parser) compiled by the compiler itself, so the matrix is
// exactly what `bpfgate compile --explain` says of such a rule. Every kind
// has a row (its representatives); socket rules have two. Pure.

import type { FeatureSet } from '../abi/features.ts';
import type { Enforcement } from '../abi/plan.ts';
import type { Family } from '../abi/programs.ts';
import { compile } from '../compiler/compile.ts';
import { hookOf } from '../compiler/explain.ts';
import { KINDS, type RuleKind } from '../kinds/index.ts';
import { type PolicySource, parsePolicySources } from '../policy/index.ts';

export const MATRIX_ACTIONS = ['block', 'kill', 'audit'] as const;
export type MatrixAction = (typeof MATRIX_ACTIONS)[number];

/** A rule the matrix compiles: its id in the representative policies, its kind, its `match:` in YAML. */
export interface Representative {
  rule: string;
  kind: RuleKind;
  match: string;
}

/**
 * The representative rules, each kind's (src/kinds/): the language's defaults
 * wherever a qualifier may be omitted (every file operation, every socket
 * family, both address families...), one target where one is needed. Socket
 * rules get a second row, inet and inet6 only, since other families take
 * other hooks.
 */
export const REPRESENTATIVES: readonly Representative[] = KINDS.flatMap((k) =>
  k.representatives.map((r) => ({ rule: r.rule ?? k.name, kind: k.name, match: r.match })),
);

export interface MatrixCell {
  /** what the rule achieves; 'not-allowed': the policy language refuses this action for the kind */
  achieved: Enforcement | 'not-allowed';
  mechanism: Family | null;
  /** attach points, as compile --explain shows them ("lsm/file_open", "cgroup_inet4_connect") */
  hooks: string[];
  /** enforced more weakly than asked, or only part of what the rule names is covered */
  downgraded: boolean;
  reason: string;
}

export interface MatrixRow {
  /** the representative rule's id: the kind, or the kind and a variant ("socket-inet") */
  rule: string;
  kind: RuleKind;
  /** the representative rule's match, as YAML */
  match: string;
  block: MatrixCell;
  kill: MatrixCell;
  audit: MatrixCell;
}

export interface EnforcementMatrix {
  /** FeatureSet.name */
  features: string;
  rows: MatrixRow[];
}

/** The policy of the representative rules asking `action`, named `doctor-<action>`. */
function policyText(
  action: MatrixAction,
  reps: readonly Representative[],
): { text: string; lineOf: Map<number, string> } {
  const lines = [
    'apiVersion: bpfgate.dev/v1',
    'kind: Policy',
    'metadata:',
    `  name: doctor-${action}`,
    'spec:',
    '  rules:',
  ];
  const lineOf = new Map<number, string>();
  for (const r of reps) {
    const first = lines.length + 1;
    lines.push(
      `    - id: ${r.rule}`,
      `      kind: ${r.kind}`,
      `      action: ${action}`,
      `      message: a ${r.kind} rule asking ${action} matched`,
      `      match: ${r.match}`,
    );
    for (let l = first; l <= lines.length; l++) lineOf.set(l, r.rule);
  }
  return { text: `${lines.join('\n')}\n`, lineOf };
}

/** A file name for the representative policy of `action` (its diagnostics and `source` name it). */
export function matrixPolicyFile(action: MatrixAction): string {
  return `doctor-${action}.yaml`;
}

/**
 * The representative policies, one per action, without the rules the language
 * refuses (and, for each refused rule, the diagnostic that refused it).
 * `bpfgate compile --explain` on these files shows the matrix row by row.
 */
export function matrixPolicies(): { sources: PolicySource[]; refused: Map<string, string> } {
  const sources: PolicySource[] = [];
  const refused = new Map<string, string>();
  for (const action of MATRIX_ACTIONS) {
    const file = matrixPolicyFile(action);
    let reps = [...REPRESENTATIVES];
    for (;;) {
      const { text, lineOf } = policyText(action, reps);
      const errors = parsePolicySources([{ file, text }]).diagnostics.filter((d) => d.severity === 'error');
      if (errors.length === 0) {
        sources.push({ file, text });
        break;
      }
      for (const d of errors) {
        const rule = lineOf.get(d.pos.line);
        if (!rule)
          throw new Error(`doctor's representative policy ${file} is invalid: ${d.message} [${d.code}]`);
        refused.set(`${rule}/${action}`, `${d.message} [${d.code}]`);
      }
      reps = reps.filter((r) => !refused.has(`${r.rule}/${action}`));
    }
  }
  return { sources, refused };
}

/** The matrix on `features`, computed by compiling the representative rules. */
export function enforcementMatrix(features: FeatureSet): EnforcementMatrix {
  const { sources, refused } = matrixPolicies();
  const { set, diagnostics } = parsePolicySources(sources);
  if (!set) {
    const first = diagnostics.find((d) => d.severity === 'error');
    throw new Error(`doctor's representative policies are invalid: ${first?.message} [${first?.code}]`);
  }
  const plan = compile(set, features, { gen: 0 });
  const cell = (rule: string, action: MatrixAction): MatrixCell => {
    const why = refused.get(`${rule}/${action}`);
    if (why !== undefined) {
      return { achieved: 'not-allowed', mechanism: null, hooks: [], downgraded: false, reason: why };
    }
    const r = plan.rules.find((x) => x.policy === `doctor-${action}` && x.rule === rule);
    if (!r) throw new Error(`the compiled plan has no rule doctor-${action}/${rule}`);
    return {
      achieved: r.achieved,
      mechanism: r.mechanism,
      hooks: r.programs.map((n) => hookOf(plan, n, r.ruleId)),
      downgraded: r.downgraded,
      reason: r.reason,
    };
  };
  return {
    features: plan.features,
    rows: REPRESENTATIVES.map((r) => ({
      rule: r.rule,
      kind: r.kind,
      match: r.match,
      block: cell(r.rule, 'block'),
      kill: cell(r.rule, 'kill'),
      audit: cell(r.rule, 'audit'),
    })),
  };
}
