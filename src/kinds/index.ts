// The registry of rule kinds: the ordered list every other part iterates or
// looks up (the schema, the validator, the compiler, the event decoder, OCSF,
// doctor). The order is the language's: policies, schemas, the matrix and
// explain list kinds in it. Adding a kind: docs/adding-a-rule-kind.md.
import type { Action } from '../policy/vocabulary.ts';
import { bind } from './bind.ts';
import { bpf } from './bpf.ts';
import { capability } from './capability.ts';
import { connect } from './connect.ts';
import { device } from './device.ts';
import { egress } from './egress.ts';
import { exec } from './exec.ts';
import { file } from './file.ts';
import { ingress } from './ingress.ts';
import type { RuleKindDef } from './kind.ts';
import { kprobe } from './kprobe.ts';
import { module } from './module.ts';
import { mount } from './mount.ts';
import { ptrace } from './ptrace.ts';
import { setuid } from './setuid.ts';
import { socket } from './socket.ts';
import { sysctl } from './sysctl.ts';
import { uprobe } from './uprobe.ts';

export const KINDS = [
  exec,
  file,
  capability,
  module,
  bpf,
  ptrace,
  mount,
  setuid,
  socket,
  connect,
  bind,
  device,
  sysctl,
  kprobe,
  ingress,
  egress,
  uprobe,
] as const;

type Each = (typeof KINDS)[number];
export type RuleKind = Each['name'];
/** A rule's match, of whichever kind. */
export type Match = Each extends RuleKindDef<string, infer M extends { kind: string }, infer _T> ? M : never;
/** An event's target, of whichever kind. */
export type Target = Each extends RuleKindDef<string, infer _M extends { kind: string }, infer T> ? T : never;
/** A kind, as the code that does not know which sees it. */
export type KindDef = RuleKindDef<RuleKind, Match, Target>;

export const RULE_KINDS: readonly RuleKind[] = KINDS.map((k) => k.name);

const BY_NAME = new Map<string, KindDef>(KINDS.map((k) => [k.name, k as KindDef]));
const BY_ABI = new Map<number, KindDef>(KINDS.map((k) => [k.abi, k as KindDef]));

/** The kind of this name; throws for a name the registry does not hold. */
export function kindOf(name: string): KindDef {
  const k = BY_NAME.get(name);
  if (!k) throw new Error(`unknown rule kind ${name}`);
  return k;
}

/** The kind of a record's kind byte (enum bg_kind), or undefined. */
export function kindByAbi(value: number): KindDef | undefined {
  return BY_ABI.get(value);
}

export function isRuleKind(name: string): name is RuleKind {
  return BY_NAME.has(name);
}

/** enum bg_kind: each kind's number in map keys, bg_gen_config and records (bpf/lib/abi.h). */
export const Kind = Object.fromEntries(KINDS.map((k) => [k.name, k.abi])) as Readonly<
  Record<RuleKind, number>
>;

/** The kinds that accept `action`. */
export function kindsAccepting(action: Action): RuleKind[] {
  return KINDS.filter((k) => (k.actions as readonly Action[]).includes(action)).map((k) => k.name);
}
