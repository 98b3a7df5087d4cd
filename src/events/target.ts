// A record's kind-specific fields (op, arg[], path, aux) as the event's
// `target`, and its short human form: each kind's own (src/kinds/). Pure.
import { isRuleKind, kindOf, type RuleKind } from '../kinds/index.ts';
import type { DecodeContext, RecordFields } from '../kinds/kind.ts';
import type { Target } from './types.ts';

export function decodeTarget(kind: RuleKind, r: RecordFields, ctx: DecodeContext): Target {
  return kindOf(kind).decode(r, ctx);
}

/** A short human form of a target, for messages and `tail` (events of kinds this version does not know: JSON). */
export function describeTarget(kind: string, t: Target): string {
  return isRuleKind(kind) ? kindOf(kind).describe(t) : JSON.stringify(t);
}
