// Building the keys of a rule's map entries: the kind byte, the operation
// and the target, in the byte layouts of src/abi/encode/. Pure.
import { encodePathKey } from '../abi/encode/path.ts';
import { encodeRuleKey } from '../abi/encode/rules.ts';
import { MapName } from '../abi/layout.ts';
import type { KeyContext, MapKey } from './kind.ts';

/** bg_path_rules keys: exact paths (the NUL must match too) and prefixes (directories, sysctl prefixes). */
export function pathKeys(
  ctx: KeyContext,
  kind: number,
  op: number,
  exact: readonly string[],
  prefixes: readonly string[],
): MapKey[] {
  const base = { gen: ctx.gen, slot: ctx.slot, kind, op };
  return [
    ...exact.map((path) => encodePathKey({ ...base, path, prefix: false })),
    ...prefixes.map((path) => encodePathKey({ ...base, path, prefix: true })),
  ].map((key) => ({ map: MapName.pathRules, key }));
}

/** A bg_rules key: a numeric target (a, b, c), BG_ANY where any value matches. */
export function ruleKey(ctx: KeyContext, kind: number, op: number, a = 0, b = 0, c = 0): MapKey {
  return { map: MapName.rules, key: encodeRuleKey({ gen: ctx.gen, slot: ctx.slot, kind, op, a, b, c }) };
}
