// A plan's enforcement in a few lines, for the daemon's start-up report and a
// person at a terminal: rules counted by what they achieve, and the rules
// (allowlist defaults included) enforced more weakly than asked, grouped by
// the kernel feature that is missing, whose probe reason (the fix, where the
// probe knows one) is said once per group instead of once per rule. Pure.
import type { CgroupHook, Feature, FeatureSet } from '../abi/features.ts';
import type { Plan } from '../abi/plan.ts';

export interface DowngradeGroup {
  /** what is missing and why, in the probe's words ("BPF-LSM: ..."); one line per feature */
  causes: string[];
  /** "policy/rule (kind, block → kill)", allowlist defaults as "policy/default (exec allowlist, ...)" */
  rules: string[];
}

export interface EnforcementSummary {
  policies: number;
  rules: number;
  /** "block via cgroup" -> count (dry-run rules as "would block via cgroup") */
  achieved: Record<string, number>;
  /** rules that deny or kill for real */
  enforcing: number;
  /** downgraded rules and allowlist defaults, in all */
  downgraded: number;
  groups: DowngradeGroup[];
}

/** The features whose absence can weaken a rule, by the names a person knows them by. */
const NAMES = {
  lsm: 'BPF-LSM',
  lsmDPath: 'bpf_d_path',
  kprobes: 'kprobes',
  fentry: 'fentry',
  tracepoints: 'tracepoints',
  sendSignal: 'bpf_send_signal',
} as const satisfies Partial<Record<keyof FeatureSet, string>>;

function features(f: FeatureSet): [string, Feature][] {
  const hooks = Object.entries(f.cgroupHooks) as [CgroupHook, Feature][];
  const named = Object.entries(NAMES).map(
    ([k, name]) => [name, f[k as keyof typeof NAMES]] as [string, Feature],
  );
  return [...named, ...hooks.map(([h, feat]) => [`cgroup/${h}`, feat] as [string, Feature])];
}

/** The missing features a downgrade's reason quotes (the ladder quotes the probe's reasons verbatim). */
function causesOf(reason: string, f: FeatureSet): string[] {
  const found = features(f)
    .filter(([, feat]) => !feat.available && feat.reason !== '' && reason.includes(feat.reason))
    .map(([name, feat]) => `${name}: ${feat.reason}`);
  return found.length > 0 ? [...new Set(found)] : [reason];
}

export function summarize(plan: Plan, f: FeatureSet): EnforcementSummary {
  const achieved: Record<string, number> = {};
  let enforcing = 0;
  const groups = new Map<string, DowngradeGroup>();
  const add = (reason: string, label: string) => {
    const causes = causesOf(reason, f);
    const key = causes.join('\n');
    const g = groups.get(key) ?? { causes, rules: [] };
    g.rules.push(label);
    groups.set(key, g);
  };
  for (const r of plan.rules) {
    const how = `${r.dryRun && (r.achieved === 'block' || r.achieved === 'kill') ? 'would ' : ''}${r.achieved}${r.mechanism ? ` via ${r.mechanism}` : ''}`;
    achieved[how] = (achieved[how] ?? 0) + 1;
    if (!r.dryRun && (r.achieved === 'block' || r.achieved === 'kill')) enforcing++;
    if (r.downgraded) add(r.reason, `${r.policy}/${r.rule} (${r.kind}, ${r.action} → ${r.achieved})`);
  }
  let downgraded = plan.rules.filter((r) => r.downgraded).length;
  for (const p of plan.policies) {
    for (const d of p.defaults ?? []) {
      if (p.mode === 'enforce' && (d.achieved === 'block' || d.achieved === 'kill')) enforcing++;
      if (!d.downgraded) continue;
      downgraded++;
      add(d.reason, `${p.name}/default (${d.kind} allowlist, block → ${d.achieved})`);
    }
  }
  return {
    policies: plan.policies.length,
    rules: plan.rules.length,
    achieved,
    enforcing,
    downgraded,
    groups: [...groups.values()].sort((a, b) => b.rules.length - a.rules.length),
  };
}

/** "3 block via cgroup, 9 kill via tracepoint, 2 unavailable" */
export function achievedText(s: EnforcementSummary): string {
  return Object.entries(s.achieved)
    .sort((a, b) => b[1] - a[1])
    .map(([how, n]) => `${n} ${how}`)
    .join(', ');
}

/** One line per group: how many, which (the first few), and why, once. */
export function groupText(g: DowngradeGroup, maxRules = 4): string {
  const shown = g.rules.slice(0, maxRules).join(', ');
  const more = g.rules.length > maxRules ? `, and ${g.rules.length - maxRules} more` : '';
  return `${g.rules.length} enforced more weakly than asked (${shown}${more}) because ${g.causes.join('; ')}`;
}
