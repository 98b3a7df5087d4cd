// The enforcement matrix of `bpfgate doctor`: for each rule kind, what a rule
// asking block, kill or audit achieves on a kernel's FeatureSet, by which
// mechanism and hooks, and why. Not a second ladder: each cell is a rule of
// the policy language (one representative rule per kind and action, validated
// by the policy parser) compiled by the compiler itself, so the matrix is
// exactly what `bpfgate compile --explain` says of such a rule. Pure.
import { compile } from '../../compiler/compile.ts';
import { hookOf } from '../../compiler/explain.ts';
import type { FeatureSet } from '../../compiler/features.ts';
import type { Enforcement } from '../../compiler/plan.ts';
import { type PolicySource, parsePolicySources } from '../../policy/index.ts';
import { RULE_KINDS, type RuleKind } from '../../policy/model.ts';
import type { Family } from '../programs.ts';

export const MATRIX_ACTIONS = ['block', 'kill', 'audit'] as const;
export type MatrixAction = (typeof MATRIX_ACTIONS)[number];

/**
 * The representative rule of each kind (its `match:` in YAML): the language's
 * defaults wherever a qualifier may be omitted (every file operation, every
 * socket family, both address families...), one target where one is needed.
 */
export const REPRESENTATIVE_MATCH: Readonly<Record<RuleKind, string>> = {
  exec: '{ paths: [/usr/bin/true] }',
  file: '{ paths: [/etc/shadow] }',
  capability: '{ capabilities: [CAP_SYS_ADMIN] }',
  module: '{}',
  bpf: '{}',
  ptrace: '{}',
  mount: '{}',
  setuid: '{ to: root }',
  socket: '{}',
  connect: '{ ports: [443] }',
  bind: '{ ports: [8080] }',
  device: '{ devices: [{ type: char, major: 1, minor: 1 }] }',
  sysctl: '{ names: [kernel.hostname] }',
  kprobe: '{ function: commit_creds }',
};

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

/** The policy of the representative rules asking `action`, one rule per kind, named `doctor-<action>`. */
function policyText(
  action: MatrixAction,
  kinds: readonly RuleKind[],
): { text: string; lineOf: Map<number, RuleKind> } {
  const lines = [
    'apiVersion: bpfgate.dev/v1',
    'kind: Policy',
    'metadata:',
    `  name: doctor-${action}`,
    'spec:',
    '  rules:',
  ];
  const lineOf = new Map<number, RuleKind>();
  for (const kind of kinds) {
    const first = lines.length + 1;
    lines.push(
      `    - id: ${kind}`,
      `      kind: ${kind}`,
      `      action: ${action}`,
      `      message: a ${kind} rule asking ${action} matched`,
      `      match: ${REPRESENTATIVE_MATCH[kind]}`,
    );
    for (let l = first; l <= lines.length; l++) lineOf.set(l, kind);
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
    let kinds: RuleKind[] = [...RULE_KINDS];
    for (;;) {
      const { text, lineOf } = policyText(action, kinds);
      const errors = parsePolicySources([{ file, text }]).diagnostics.filter((d) => d.severity === 'error');
      if (errors.length === 0) {
        sources.push({ file, text });
        break;
      }
      for (const d of errors) {
        const kind = lineOf.get(d.pos.line);
        if (!kind)
          throw new Error(`doctor's representative policy ${file} is invalid: ${d.message} [${d.code}]`);
        refused.set(`${kind}/${action}`, `${d.message} [${d.code}]`);
      }
      kinds = kinds.filter((k) => !refused.has(`${k}/${action}`));
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
  const cell = (kind: RuleKind, action: MatrixAction): MatrixCell => {
    const why = refused.get(`${kind}/${action}`);
    if (why !== undefined) {
      return { achieved: 'not-allowed', mechanism: null, hooks: [], downgraded: false, reason: why };
    }
    const r = plan.rules.find((x) => x.policy === `doctor-${action}` && x.rule === kind);
    if (!r) throw new Error(`the compiled plan has no rule doctor-${action}/${kind}`);
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
    rows: RULE_KINDS.map((kind) => ({
      kind,
      match: REPRESENTATIVE_MATCH[kind],
      block: cell(kind, 'block'),
      kill: cell(kind, 'kill'),
      audit: cell(kind, 'audit'),
    })),
  };
}
