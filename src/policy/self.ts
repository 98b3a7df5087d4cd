// bpfgate must not bite itself: run from a clone or an install under a
// directory an exec rule covers (a checkout in /tmp and the starter policy
// no-exec-from-tmp), its own Node.js would be reported, or killed, every time
// a bpfgate command starts. The daemon gives each such policy one exception,
// an allow rule for exactly bpfgate's runtime file, which the kernel decides
// before the directory (the most specific path wins). Pure.
import type { Policy, PolicySet, Rule } from './model.ts';

export const SELF_RULE_ID = 'bpfgate-runtime';

function names(rule: Rule, path: string): boolean {
  return rule.match.kind === 'exec' && rule.match.paths.includes(path);
}

function covers(rule: Rule, path: string): boolean {
  return (
    names(rule, path) ||
    (rule.match.kind === 'exec' && rule.match.directories.some((d) => path.startsWith(d)))
  );
}

/** Does this policy stop or report the exec of `path` (a directory rule covers it, or its exec allowlist misses it)? */
function bites(p: Policy, path: string): boolean {
  const exec = p.rules.filter((r) => r.kind === 'exec');
  // a rule naming the file itself is the user's explicit choice; a directory that happens to hold it is not
  if (exec.some((r) => r.action !== 'allow' && names(r, path))) return false;
  if (exec.some((r) => r.action === 'allow' && covers(r, path))) return false;
  if (p.defaultAction === 'block' && exec.some((r) => r.action === 'allow')) return true;
  return exec.some((r) => r.action !== 'allow' && covers(r, path));
}

/**
 * The set with an allow rule for bpfgate's runtime files (`paths`) added to
 * every policy whose exec rules would stop or report them; and which
 * policies got one.
 */
export function exemptSelf(set: PolicySet, paths: readonly string[]): { set: PolicySet; exempted: string[] } {
  const exempted: string[] = [];
  const policies = set.policies.map((p) => {
    const files = paths.filter((f) => bites(p, f));
    if (files.length === 0 || p.rules.some((r) => r.id === SELF_RULE_ID)) return p;
    exempted.push(p.name);
    const rule: Rule = {
      id: SELF_RULE_ID,
      kind: 'exec',
      action: 'allow',
      severity: p.severity,
      message: "bpfgate's own runtime",
      description: 'Added by the daemon: bpfgate may always start its own Node.js',
      tags: [],
      unresolved: 'deny',
      match: { kind: 'exec', paths: [...new Set(files)], directories: [] },
      unless: { executables: [], digests: {}, contents: [], uids: [], euids: [], cgroups: [] },
      pos: p.pos,
    };
    return { ...p, rules: [...p.rules, rule] };
  });
  return { set: { policies }, exempted };
}
