// The audit report as plain text, for a terminal or a ticket.
import { OUTCOMES, type Ranked, type Report, type RuleSummary } from './summary.ts';

const n = (x: number): string => x.toLocaleString('en-US');

function outcomes(o: Record<string, number>): string {
  return OUTCOMES.filter((k) => o[k]! > 0)
    .map((k) => `${k} ${n(o[k]!)}`)
    .join(', ');
}

function top(label: string, list: Ranked[]): string {
  return `      ${label}: ${list.map((r) => `${r.name} (${n(r.count)})`).join(', ')}`;
}

function rule(r: RuleSummary): string[] {
  return [
    `    ${r.rule} — ${r.kind}, asks ${r.action}, ${r.severity}: ${n(r.total)} (${outcomes(r.outcomes)})`,
    `      first ${r.firstSeen}, last ${r.lastSeen}`,
    top('executables', r.executables),
    top('cgroups', r.cgroups),
    ...(r.hosts.length > 1 ? [top('hosts', r.hosts)] : []),
  ];
}

/** What a team reads before switching a policy to enforce. */
export function renderText(r: Report): string {
  const out: string[] = [];
  out.push(`bpfgate report, ${r.since ?? 'the beginning'} to ${r.until ?? 'now'}`);
  if (r.violations === 0) out.push('no violations in this range');
  else {
    out.push(
      `${n(r.violations)} violation(s) on ${r.hosts.length} host(s), first ${r.firstSeen}, last ${r.lastSeen}`,
    );
    out.push(`  ${outcomes(r.outcomes)}`);
  }
  const lost = Object.entries(r.losses);
  if (lost.length > 0) {
    out.push(
      `LOSSES: ${lost.map(([s, c]) => `${n(c)} event(s) lost (${s})`).join(', ')}; the counts below are a lower bound`,
    );
  }
  if (r.policyErrors > 0) out.push(`${n(r.policyErrors)} policy reload(s) rejected (policy_error events)`);
  if (r.unreadable > 0)
    out.push(`${n(r.unreadable)} input record(s) were not native bpfgate events and were skipped`);
  for (const p of r.policies) {
    out.push('');
    out.push(`policy ${p.name}: ${n(p.total)} (${outcomes(p.outcomes)})`);
    out.push(`  first ${p.firstSeen}, last ${p.lastSeen}`);
    for (const x of p.rules) out.push(...rule(x));
  }
  return `${out.join('\n')}\n`;
}
