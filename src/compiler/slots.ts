// Deterministic numbering: policy slots and executable ids. Pure.

import { contentExeKey, MAX_SLOTS } from '../abi/layout.ts';
import { kindOf } from '../kinds/index.ts';
import type { Policy, PolicySet } from '../policy/model.ts';
import { MapCapacityError } from './errors.ts';

/** Plain code-unit order: the same on every machine and locale. */
export function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The policies in slot order: slot i is the i-th policy by name. */
export function assignSlots(set: PolicySet): Policy[] {
  if (set.policies.length > MAX_SLOTS)
    throw new MapCapacityError('policy slots', set.policies.length, MAX_SLOTS);
  return [...set.policies].sort((a, b) => byString(a.name, b.name));
}

/**
 * Every executable that needs an id: scopes, exceptions and what rules name
 * (exec allow rules; abi.h, bg_exe_ids); a digest excepted alone is one too,
 * named `sha256:<hex>` (no path starts so).
 */
export function executablesNamed(policies: Policy[]): string[] {
  const paths = new Set<string>();
  for (const p of policies) {
    const named = [p.scope.executables];
    for (const r of p.rules) {
      named.push(r.unless.executables, r.unless.contents.map(contentExeKey));
      named.push(kindOf(r.kind).executables?.(r.match, r.action) ?? []);
    }
    for (const e of named.flat()) paths.add(e);
  }
  return [...paths].sort(byString);
}

/**
 * The digests exceptions pin executables to, path → digests. Every exception
 * of the set that pins one path names the same digests (semantic.ts,
 * EXE_DIGESTS_DIFFER): a process carries one bit that says its file has them.
 */
export function pinnedDigests(policies: Policy[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const p of policies) for (const r of p.rules) Object.assign(out, r.unless.digests);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => byString(a, b)));
}

/**
 * Exe ids from 1, in path order. Ids in `previous` (every id the kernel has
 * been given: the running plan's and those of paths no plan names any more)
 * are kept, because bg_exe_ids and bg_task_exe carry no generation: a running
 * process keeps the id it got at exec across a policy swap. The id of a path
 * no longer named is never given to another path: a process that still
 * carries it, or a later exec of that path, would take the new path's scope
 * and exceptions.
 */
export function assignExeIds(paths: string[], previous: Record<string, number> = {}): Record<string, number> {
  const named = new Set(paths);
  const used = new Set<number>(
    Object.entries(previous)
      .filter(([p]) => !named.has(p))
      .map(([, id]) => id),
  );
  const ids = new Map<string, number>();
  for (const p of paths) {
    const id = previous[p];
    if (id !== undefined && id >= 1 && !used.has(id)) {
      ids.set(p, id);
      used.add(id);
    }
  }
  let next = 1;
  for (const p of paths) {
    if (ids.has(p)) continue;
    while (used.has(next)) next++;
    ids.set(p, next);
    used.add(next);
  }
  return Object.fromEntries([...ids].sort(([a], [b]) => byString(a, b)));
}
