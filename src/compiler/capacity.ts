// Map capacities: the compiler's safety net behind validation. The rule maps
// use the policy language's per-generation budgets (src/policy/limits.ts, the
// numbers validation checks). Both generations live in a map during a swap
// (abi.h, "Generations"), so bpf/lib/maps.h must create each generation-keyed
// map with twice its per-generation capacity.
import { MAX_SLOTS, MapName } from '../kernel/abi.ts';
import { MAP_BUDGET } from '../policy/limits.ts';
import { MapCapacityError } from './errors.ts';

/** Entries one generation may write in each map the compiler fills. */
export const GENERATION_CAPACITY: Readonly<Record<string, number>> = {
  [MapName.pathRules]: MAP_BUDGET.pathRules,
  [MapName.rules]: MAP_BUDGET.rules,
  [MapName.netRules]: MAP_BUDGET.netRules,
  [MapName.exceptions]: MAP_BUDGET.exceptions,
  [MapName.scopeCgroup]: 4096,
  [MapName.scopeUid]: 4096,
  [MapName.scopeExe]: 4096,
  /** no generation in the key: ids are shared by both generations */
  [MapName.exeIds]: 8192,
  /** ARRAY, one entry per generation */
  [MapName.genConfig]: 1,
};

export function checkCapacity(map: string, needed: number): void {
  const cap = GENERATION_CAPACITY[map];
  if (cap === undefined) throw new Error(`no capacity known for map ${map}`);
  if (needed > cap) throw new MapCapacityError(map, needed, cap);
}

export function checkSlots(policies: number): void {
  if (policies > MAX_SLOTS) throw new MapCapacityError('policy slots', policies, MAX_SLOTS);
}
