// Checks that need more than one rule or more than one policy: conflicting
// targets inside a policy, duplicate policy names, and whether the whole set
// fits in the kernel maps (limits.ts).
import type { Diagnostic } from '../errors.ts';
import { kindOf } from '../kinds/index.ts';
import { MAP_BUDGET, MAX_POLICIES, type MapBudgetName } from './limits.ts';
import type { Match, Policy, Rule } from './model.ts';

/** The distinct things a rule matches, one string per kernel map key it needs (before port expansion). */
export function ruleTargets(m: Match): string[] {
  return kindOf(m.kind).targets(m);
}

/** How many entries a rule puts in each kernel map. */
export function ruleEntries(rule: Rule): Partial<Record<MapBudgetName, number>> {
  const kind = kindOf(rule.match.kind);
  // an executable exception is two entries (its id with and without EXE_ID_VERIFIED), a pinned one one
  const pinned = Object.keys(rule.unless.digests).length;
  const exceptions =
    2 * rule.unless.executables.length - pinned + rule.unless.uids.length + rule.unless.cgroups.length;
  return { exceptions, [kind.budget]: kind.entries(rule.match) };
}

function error(code: string, message: string, pos: Diagnostic['pos']): Diagnostic {
  return { code, message, severity: 'error', pos };
}

/** The same target given two actions in one policy (the kernel map holds one value per key). */
export function checkConflicts(policy: Policy): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Map<string, Rule>();
  for (const rule of policy.rules) {
    const reported = new Set<string>();
    for (const target of ruleTargets(rule.match)) {
      const key = `${rule.kind} ${target}`;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, rule);
        continue;
      }
      if (first === rule || reported.has(first.id)) continue;
      reported.add(first.id);
      if (first.action !== rule.action) {
        out.push(
          error(
            'CONFLICTING_RULES',
            `rule '${rule.id}' would ${rule.action} ${rule.kind} ${target}, which rule '${first.id}' (line ${first.pos.line}) would ${first.action}`,
            rule.pos,
          ),
        );
      } else {
        out.push({
          ...error(
            'DUPLICATE_TARGET',
            `rule '${rule.id}' repeats ${rule.kind} ${target} of rule '${first.id}'`,
            rule.pos,
          ),
          severity: 'warning',
        });
      }
    }
  }
  return out;
}

/** Set-wide checks: unique names, policy slots, map budgets. */
export function checkSet(policies: Policy[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const byName = new Map<string, Policy>();
  for (const p of policies) {
    const first = byName.get(p.name);
    if (first) {
      out.push(
        error(
          'DUPLICATE_POLICY_NAME',
          `policy name '${p.name}' is already used at ${first.pos.file}:${first.pos.line}`,
          p.pos,
        ),
      );
    } else byName.set(p.name, p);
  }
  if (policies.length > MAX_POLICIES) {
    const extra = policies[MAX_POLICIES]!;
    out.push(
      error(
        'TOO_MANY_ENTRIES',
        `${policies.length} policies, but the kernel holds at most ${MAX_POLICIES}; this is the first that does not fit`,
        extra.pos,
      ),
    );
  }
  out.push(...checkPins(policies));
  const used: Record<MapBudgetName, number> = { pathRules: 0, netRules: 0, rules: 0, exceptions: 0 };
  const names = Object.keys(used) as MapBudgetName[];
  const overflowed = new Set<MapBudgetName>();
  for (const p of policies) {
    for (const rule of p.rules) {
      const entries = ruleEntries(rule);
      for (const map of names) {
        used[map] += entries[map] ?? 0;
        if (used[map] > MAP_BUDGET[map] && !overflowed.has(map)) {
          overflowed.add(map);
          out.push(
            error(
              'TOO_MANY_ENTRIES',
              `rule '${rule.id}' brings the set to ${used[map]} ${map} entries, more than the ${MAP_BUDGET[map]} the kernel map holds`,
              rule.pos,
            ),
          );
        }
      }
    }
  }
  return out;
}

/**
 * Every exception of the set that pins an executable's content names the same
 * digests: a process carries one bit that says its file has them.
 */
function checkPins(policies: Policy[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const first = new Map<string, { digests: string; rule: Rule; policy: Policy }>();
  for (const policy of policies) {
    for (const rule of policy.rules) {
      for (const [path, digests] of Object.entries(rule.unless.digests)) {
        const seen = first.get(path);
        const d = digests.join(',');
        if (!seen) first.set(path, { digests: d, rule, policy });
        else if (seen.digests !== d) {
          out.push(
            error(
              'EXE_DIGESTS_DIFFER',
              `rule '${rule.id}' pins ${path} to other digests than rule '${seen.rule.id}' of policy '${seen.policy.name}' (${seen.rule.pos.file}:${seen.rule.pos.line}); every exception that pins one executable must name the same digests`,
              rule.pos,
            ),
          );
        }
      }
    }
  }
  return out;
}
