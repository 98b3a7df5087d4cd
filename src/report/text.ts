// The audit report as plain text, for a terminal or a ticket. Names from the
// events (executables, cgroups, hosts, policies) are printable(): an event
// cannot write terminal escapes into the reader's terminal.
import { printable as p } from '../events/printable.ts';
import { OUTCOMES, type Ranked, type Report, type RuleSummary } from './summary.ts';

const n = (x: number): string => x.toLocaleString('en-US');

function outcomes(o: Record<string, number>): string {
  return OUTCOMES.filter((k) => o[k]! > 0)
    .map((k) => `${k} ${n(o[k]!)}`)
    .join(', ');
}

function top(label: string, list: Ranked[]): string {
  return `      ${label}: ${list.map((r) => `${p(r.name)} (${n(r.count)})`).join(', ')}`;
}

function rule(r: RuleSummary): string[] {
  return [
    `    ${p(r.rule)} — ${p(r.kind)}, asks ${p(r.action)}, ${p(r.severity)}: ${n(r.total)} (${outcomes(r.outcomes)})`,
    `      first ${p(r.firstSeen)}, last ${p(r.lastSeen)}`,
    top('executables', r.executables),
    top('cgroups', r.cgroups),
    ...(r.hosts.length > 1 ? [top('hosts', r.hosts)] : []),
  ];
}

/** What a team reads before switching a policy to enforce. */
export function renderText(r: Report): string {
  const out: string[] = [];
  out.push(`bpfgate report, ${p(r.since ?? 'the beginning')} to ${p(r.until ?? 'now')}`);
  if (r.violations === 0) out.push('no violations in this range');
  else {
    out.push(
      `${n(r.violations)} violation(s) on ${r.hosts.length} host(s), first ${p(r.firstSeen ?? '')}, last ${p(r.lastSeen ?? '')}`,
    );
    out.push(`  ${outcomes(r.outcomes)}`);
  }
  const lost = Object.entries(r.losses);
  if (lost.length > 0) {
    out.push(
      `LOSSES: ${lost.map(([s, c]) => `${n(c)} event(s) lost (${p(s)})`).join(', ')}; the counts below are a lower bound`,
    );
  }
  if (r.policyErrors > 0) out.push(`${n(r.policyErrors)} policy reload(s) rejected (policy_error events)`);
  if (r.tamperRefusals > 0)
    out.push(`${n(r.tamperRefusals)} attempt(s) to stop or tamper with bpfgate refused (tamper events)`);
  if (r.unreadable > 0)
    out.push(`${n(r.unreadable)} input record(s) were not native bpfgate events and were skipped`);
  for (const x of r.policies) {
    out.push('');
    out.push(`policy ${p(x.name)}: ${n(x.total)} (${outcomes(x.outcomes)})`);
    out.push(`  first ${p(x.firstSeen)}, last ${p(x.lastSeen)}`);
    for (const y of x.rules) out.push(...rule(y));
  }
  return `${out.join('\n')}\n`;
}
