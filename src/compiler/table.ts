// Collects the entries of one rule map. Two rules of one policy may produce the
// same key; the kernel keeps one value per key, so the stronger achieved
// action wins (kill > block > audit > allow), then the lower rule id, and the
// loser is named in a warning.

import { encodeRuleVal } from '../abi/encode/value.ts';
import type { MapEntry, MapFill } from '../abi/plan.ts';
import { byString } from './slots.ts';

interface Held {
  ruleId: number;
  action: number;
  value: string;
}

export class RuleTable {
  readonly map: string;
  private readonly held = new Map<string, Held>();

  constructor(map: string) {
    this.map = map;
  }

  get size(): number {
    return this.held.size;
  }

  /** Returns the rule id that lost the key to another rule, if any. */
  add(key: string, ruleId: number, action: number, flags: number): { winner: number; loser: number } | null {
    const mine: Held = { ruleId, action, value: encodeRuleVal(ruleId, action, flags) };
    const old = this.held.get(key);
    if (!old) {
      this.held.set(key, mine);
      return null;
    }
    if (old.ruleId === ruleId) return null;
    const mineWins = action > old.action || (action === old.action && ruleId < old.ruleId);
    if (mineWins) this.held.set(key, mine);
    return mineWins ? { winner: ruleId, loser: old.ruleId } : { winner: old.ruleId, loser: ruleId };
  }

  fill(): MapFill {
    return {
      map: this.map,
      entries: sortEntries([...this.held].map(([key, h]) => ({ key, value: h.value }))),
    };
  }
}

export function sortEntries(entries: MapEntry[]): MapEntry[] {
  return entries.sort((a, b) => byString(a.key, b.key));
}
