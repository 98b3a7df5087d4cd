// `compile --explain`: the plan as a table a security team can read. One row
// per rule (and per allowlist posture), downgrades marked and explained below.
// Deterministic: the plan's order, no terminal width, no colours.

import type { Plan } from '../abi/plan.ts';
import { attachText, PROGRAMS, type ProgramInfo, type ProgramName } from '../abi/programs.ts';

const HEADER = ['policy', 'rule', 'kind', 'hook', 'mechanism', 'action', 'enforcement'];

/** A program's attach point, as the loader will attach it ("lsm/file_open"). */
export function hookOf(plan: Plan, program: string, ruleId?: number): string {
  const info: ProgramInfo | undefined = PROGRAMS[program as ProgramName];
  if (!info) return program;
  if (info.perRule) {
    // attached once per rule, with the rule id as the cookie
    const spec = plan.programs.find(
      (s) => s.program === program && 'cookie' in s.attach && s.attach.cookie === ruleId,
    );
    if (spec) return attachText(spec.attach);
  }
  return attachText(info.attach);
}

function table(rows: string[][]): string {
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function explainTable(plan: Plan): string {
  const rows: string[][] = [HEADER, HEADER.map((h) => '-'.repeat(h.length))];
  const notes: string[] = [];
  const enforcement = (
    who: string,
    achieved: string,
    downgraded: boolean,
    dryRun: boolean,
    reason: string,
  ) => {
    let text = achieved;
    if (dryRun) text += ' (dry run)';
    if (downgraded) {
      notes.push(`${who}: ${reason}`);
      text += ` ! [${notes.length}]`;
    }
    return text;
  };
  for (const p of plan.policies) {
    for (const r of plan.rules.filter((x) => x.policy === p.name)) {
      rows.push([
        r.policy,
        r.rule,
        r.kind,
        r.programs.map((n) => hookOf(plan, n, r.ruleId)).join(', ') || '-',
        r.mechanism ?? '-',
        r.action,
        enforcement(`${r.policy}/${r.rule}`, r.achieved, r.downgraded, r.dryRun, r.reason),
      ]);
    }
    for (const d of p.defaults ?? []) {
      rows.push([
        p.name,
        '(default)',
        d.kind,
        d.programs.map((n) => hookOf(plan, n)).join(', ') || '-',
        d.mechanism ?? '-',
        'block',
        enforcement(`${p.name}/(default ${d.kind})`, d.achieved, d.downgraded, p.mode === 'audit', d.reason),
      ]);
    }
  }
  const out = [`features: ${plan.features}`, '', table(rows)];
  if (notes.length > 0) {
    out.push('', 'downgraded (enforced more weakly than asked):');
    out.push(...notes.map((n, i) => `  [${i + 1}] ${n}`));
  }
  const dry = plan.policies.filter((p) => p.mode === 'audit').map((p) => p.name);
  if (dry.length > 0) out.push('', `dry run (audit mode, nothing denied or killed): ${dry.join(', ')}`);
  return `${out.join('\n')}\n`;
}
