// Map capacities. MUST MATCH the max_entries of the maps in bpf/lib/maps.h.
// Both generations live in a map during a swap (abi.h, "Generations"), so one
// generation may use at most half of a generation-keyed map.
import { MAX_SLOTS, MapName } from '../kernel/abi.ts';
import { MapCapacityError } from './errors.ts';

export const MAP_MAX_ENTRIES: Readonly<Record<string, number>> = {
  [MapName.pathRules]: 131072,
  [MapName.rules]: 131072,
  [MapName.netRules]: 262144,
  [MapName.exceptions]: 65536,
  [MapName.scopeCgroup]: 8192,
  [MapName.scopeUid]: 8192,
  [MapName.scopeExe]: 8192,
  [MapName.exeIds]: 8192,
  [MapName.genConfig]: 2,
};

/** Maps without a generation in their key: the whole map is available. */
const UNGENERATIONED = new Set<string>([MapName.exeIds, MapName.genConfig]);

/** How many entries one generation of a map may hold. */
export function generationCapacity(map: string): number {
  const max = MAP_MAX_ENTRIES[map];
  if (max === undefined) throw new Error(`no capacity known for map ${map}`);
  return UNGENERATIONED.has(map) ? max : Math.floor(max / 2);
}

export function checkCapacity(map: string, needed: number): void {
  const cap = generationCapacity(map);
  if (needed > cap) throw new MapCapacityError(map, needed, cap);
}

export function checkSlots(policies: number): void {
  if (policies > MAX_SLOTS) throw new MapCapacityError('policy slots', policies, MAX_SLOTS);
}
