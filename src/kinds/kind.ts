// The contract every rule kind implements: one module per kind
// (src/kinds/<kind>.ts) owns all that is particular to it, from the policy
// language to the OCSF class of its events. The rest of bpfgate iterates the
// registry (index.ts) and never switches on a kind's name. How to add a kind:
// docs/adding-a-rule-kind.md. Pure.
import type { MapBudgetName } from '../abi/capacity.ts';
import type { Numbered } from '../abi/numbers.ts';
import { type AttachSpec, type BinaryInode, PROGRAMS, type ProgramName, twinOf } from '../abi/programs.ts';
import type { DiagnosticCode } from '../policy/codes.ts';
import type { Action } from '../policy/vocabulary.ts';
import type { OcsfClass } from './ocsf.ts';
import type { Json } from './schema.ts';

export type { Json } from './schema.ts';
/** A match as the schema left it: the keys of `match:` that passed it. */
export type Raw = Record<string, unknown>;

/** What a kind's normaliser may ask of the policy reader (src/policy/normalize.ts). */
export interface MatchReader {
  /** A problem at `path` (a JSON pointer's segments), reported at its key or its value. */
  report(code: DiagnosticCode, message: string, path: string[], at?: 'key' | 'value'): void;
  /** The items of a list that passed the schema, with their index. */
  items<T>(values: unknown, path: string[]): [number, T][];
  /** Absolute paths, checked and normalised (a directory gets its trailing /), duplicates merged. */
  paths(values: unknown, role: 'path' | 'directory', path: string[]): string[];
  /** A qualifier list: omitted means every value of `all`; written empty it matches nothing (EMPTY_MATCH). */
  qualifier<T extends string>(m: Raw, key: string, all: readonly T[], path: string[]): T[];
  /** A list whose omission means "any" (an empty list in the model); written empty it is EMPTY_MATCH. */
  optional<T>(m: Raw, key: string, path: string[]): T[];
  /** EMPTY_MATCH when a rule names no target (`count` targets written). */
  needTargets(count: number, what: string, path: string[]): void;
}

/** A JSON Schema definition a kind adds to the policy schema's $defs, and how its errors read. */
export interface SchemaDef {
  schema: Json;
  /** the diagnostic code of a value this definition refuses (default INVALID_VALUE) */
  code?: DiagnosticCode;
  /** an enum of names: what one name is ("capability"), and the name a user probably meant */
  unknown?: { what: string; suggest(value: string): string | null };
  /** what a value that fails the definition's pattern is not: 'is not a port or a "low-high" range' */
  patternMessage?: string;
}

/** One key of a rule map: the map, and the key's bytes as hex. */
export interface MapKey {
  map: string;
  key: string;
}

/** Where a rule's keys are written. */
export interface KeyContext {
  gen: number;
  slot: number;
  ruleId: number;
  /** an interface's index in the daemon's network namespace (0 or undefined: none); packet kinds */
  ifindex?: (name: string) => number | undefined;
  /** packet kinds: the rule is decided by a cgroup_skb program (its policy scopes it to cgroups) */
  cgroupSkb?: boolean;
}

/** One thing a rule needs a hook for (an operation, an address family...), and the programs that can serve it. */
export interface Unit {
  label: string;
  candidates: ProgramName[];
  /** not needed by an allow rule: its programs never let anything happen that would not (exec's executable mappings) */
  notForAllow?: true;
}

/**
 * A program that serves a kind, and which of the kind's operations it decides
 * (all when omitted). A BPF-LSM program brings its fmod_ret twin (the same
 * decision on the same security_* function, for kernels where BPF-LSM is not
 * active): kinds list only the BPF-LSM one.
 */
export interface Hook {
  program: ProgramName;
  ops?: readonly string[];
}

/** The kind-specific fields of a ring-buffer record (struct bg_event, bpf/lib/abi.h). */
export interface RecordFields {
  op: number;
  args: readonly [bigint, bigint, bigint, bigint];
  path: string;
  aux: Uint8Array;
}

/** What the record alone cannot say, from the plan of the generation that decided. */
export interface DecodeContext {
  ruleId: number;
  /** the attach point of a rule attached on its own (a kprobe rule's function, a uprobe rule's binary and symbol) */
  attachment?: (ruleId: number) => AttachSpec | undefined;
  /** the inode a uprobe rule's links are bound to (the loader read it from the file it attached through) */
  inode?: (ruleId: number) => BinaryInode | undefined;
}

/** What an OCSF mapping reads of a violation. */
export interface OcsfInput<T> {
  target: T;
  host: string;
  process: { tgid: number; comm: string };
}

/** A violation's OCSF class, activity and class-specific fields. */
export interface OcsfMapping {
  cls: OcsfClass;
  activity: [number, string];
  fields: Json;
}

/** A rule of the kind that `doctor` compiles for its enforcement matrix. */
export interface Representative {
  /** the row's name (default: the kind's name) */
  rule?: string;
  /** the rule's `match:`, as YAML */
  match: string;
}

/**
 * A rule kind. K is its name, M its match in the policy model, T the target
 * of its events.
 */
export interface RuleKindDef<K extends string, M extends { kind: K }, T> {
  /** the name in policies, events and NATS subjects */
  readonly name: K;
  /** BG_KIND_<NAME> in its BPF header (bpf/kinds/): the kind byte of keys, records and bg_gen_config */
  readonly abi: number;
  /** its operations: the op byte of its keys and records (BG_OP_<NAME>_* in its BPF header) */
  readonly ops?: Numbered<string>;

  // ---- the policy language
  /** the actions a rule of this kind may ask for */
  readonly actions: readonly Action[];
  /** the `<kind>Match` definition of the policy schema */
  readonly match: Json;
  /** `match:` may be omitted (a kind with nothing to select) */
  readonly matchOptional?: true;
  /** definitions the match schema refers to ($defs/<name>) */
  readonly schemaDefs?: Readonly<Record<string, SchemaDef>>;
  /** hints for patterns in the match schema: pattern -> "a kernel function name such as commit_creds" */
  readonly patternHints?: Readonly<Record<string, string>>;
  /** the typed match, from what passed the schema; problems go to the reader */
  normalize(r: MatchReader, m: Raw, path: string[]): M;
  /** the distinct things a rule matches, one per kernel key before port expansion (conflicts, duplicates) */
  targets(m: M): string[];
  /** the map budget the kind's keys count against, and how many entries a rule needs there */
  readonly budget: MapBudgetName;
  entries(m: M): number;
  /** executables a rule names that need an exe id (bg_exe_ids) */
  executables?(m: M, action: Action): string[];

  // ---- the compiler
  /** every program that serves the kind, with the operations each decides */
  readonly hooks: readonly Hook[];
  /** the keys of a rule's entries; RangeError for what the layout cannot express */
  keys(m: M, ctx: KeyContext): MapKey[];
  /**
   * kinds decided on paths: the keys under which the programs look up a path
   * they could not build (one per operation), where a block or kill rule
   * that does not opt out (`unresolved: allow`) decides it: fail closed
   */
  unresolvedKeys?(m: M, ctx: KeyContext): MapKey[];
  /** the units a rule needs hooks for */
  units(m: M): Unit[];
  /** packet kinds: the units of a rule whose policy scopes it to cgroups (cgroup_skb programs) */
  cgroupUnits?(m: M): Unit[];
  /** the units of an allowlist posture (defaultAction: block) on the kind; kinds that accept allow */
  posture?(): Unit[];
  /** attach points of programs attached once per rule (a kprobe per function) */
  attachments?(m: M, ruleId: number): AttachSpec[];
  /** said when part of a rule has no hook (which hooks see what) */
  readonly coverageNote?: string;

  // ---- events
  /** the JSON Schema of the events' `target` */
  readonly target: Json;
  /** definitions the target schema refers to ($defs/<name>) */
  readonly targetDefs?: Readonly<Record<string, Json>>;
  /** a record's kind-specific fields as the event's target */
  decode(r: RecordFields, ctx: DecodeContext): T;
  /** a short human form of a target, for messages and `tail` */
  describe(t: T): string;
  /** the OCSF class, activity and fields of a violation */
  ocsf(e: OcsfInput<T>): OcsfMapping;
  /** the record's process has just replaced its image (its executable is the record's path); by the record's op where it depends on it */
  readonly newImage?: boolean | ((op: number) => boolean);

  // ---- doctor
  /** the rules of the enforcement matrix's rows for this kind */
  readonly representatives: readonly Representative[];
}

/** What most kinds accept: every action but allow (which makes allowlists). */
export const ENFORCING: readonly Action[] = ['block', 'kill', 'audit'];
/** What the allowlist kinds accept. */
export const ALL_ACTIONS: readonly Action[] = [...ENFORCING, 'allow'];

/** Everything a kind declares but its name and number. */
export type KindBody<K extends string, M extends { kind: K }, T> = Omit<RuleKindDef<K, M, T>, 'name' | 'abi'>;

/** Declare a kind: its name (its match's `kind`), its number (BG_KIND_*) and the rest. */
export function defineKind<M extends { kind: string }, T>(
  name: M['kind'],
  abi: number,
  body: KindBody<M['kind'], M, T>,
): RuleKindDef<M['kind'], M, T> {
  return { name, abi, ...body };
}

/** Has a record of `kind` with `op` just replaced its process's image (RuleKindDef.newImage)? */
export function isNewImage(kind: { newImage?: boolean | ((op: number) => boolean) }, op: number): boolean {
  const n = kind.newImage;
  return typeof n === 'function' ? n(op) : n === true;
}

const PROGRAM_ORDER = Object.keys(PROGRAMS);

/**
 * The programs of `hooks` that decide `op` (every hook when op is undefined),
 * with the fmod_ret twins of BPF-LSM programs, in program-table order.
 */
export function candidates(hooks: readonly Hook[], op?: string): ProgramName[] {
  return hooks
    .filter((h) => op === undefined || h.ops === undefined || h.ops.includes(op))
    .flatMap((h) => {
      const twin = twinOf(h.program);
      return twin ? [h.program, twin] : [h.program];
    })
    .sort((a, b) => PROGRAM_ORDER.indexOf(a) - PROGRAM_ORDER.indexOf(b));
}

/** One unit per operation, each served by the hooks that decide it. */
export function opUnits(hooks: readonly Hook[], ops: readonly string[]): Unit[] {
  return ops.map((op) => ({ label: op, candidates: candidates(hooks, op) }));
}

/** One unit for the whole rule, served by every hook of the kind. */
export function wholeUnit(label: string, hooks: readonly Hook[]): Unit[] {
  return [{ label, candidates: candidates(hooks) }];
}

/** Repeated entries merged, first occurrence kept. */
export function dedupe<T>(items: T[], key: (t: T) => string = String): T[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Every combination "x y" of two lists. */
export function cross(a: readonly string[], b: readonly string[]): string[] {
  return a.flatMap((x) => b.map((y) => `${x} ${y}`));
}
