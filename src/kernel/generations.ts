// Where the generation byte sits in each generation-keyed map's key
// (bpf/lib/abi.h), so the loader can delete a retired generation's entries.
import { MapName } from '../abi/layout.ts';

export const GEN_OFFSET: Readonly<Record<string, number>> = {
  [MapName.pathRules]: 4, // after prefixlen
  [MapName.pathAny]: 4, // after prefixlen
  [MapName.rules]: 0,
  [MapName.netRules]: 4, // after prefixlen
  [MapName.exceptions]: 4, // after rule_id
  [MapName.scopeCgroup]: 8, // after cgroup_id
  [MapName.scopeUid]: 4, // after id
  [MapName.scopeEuid]: 4, // after id
  [MapName.scopeExe]: 4,
  [MapName.fileIds]: 0,
  [MapName.cgroupWatch]: 8, // after cgroup_id
  [MapName.cgroupGlob]: 4, // after the state
};

export const GEN_KEYED_MAPS = Object.keys(GEN_OFFSET).sort();

export function otherGen(gen: 0 | 1): 0 | 1 {
  return gen === 0 ? 1 : 0;
}
