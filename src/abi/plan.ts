// The compiler's output: everything the loader needs to make a policy set act
// on a kernel, and everything `compile --explain` shows. Pure data: it can be
// serialised as JSON (byte strings are lowercase hex) and compared byte for byte.

import type { Action, RuleKind, Severity } from '../policy/model.ts';
import type { MechanismName } from './layout.ts';
import type { AttachSpec } from './programs.ts';

/**
 * The enforcement a rule achieves on a feature set. kill: denied and killed
 * (BPF-LSM, fmod_ret), or killed before the new program's first instruction
 * (exec); kill-after: killed on return from a system call that completed.
 */
export type Enforcement = 'block' | 'kill' | 'kill-after' | 'audit' | 'allow' | 'unavailable';

export type { AttachSpec } from './programs.ts';

export interface ProgramSpec {
  /** function name of the program in bpf/build/bpfgate.bpf.o */
  program: string;
  attach: AttachSpec;
  /** which rule kinds need it (for explain / status) */
  kinds: RuleKind[];
}

export interface MapEntry {
  key: string; // hex
  value: string; // hex
}

export interface MapFill {
  map: string; // bg_* map name
  entries: MapEntry[];
}

/** One row of the rule table; a rule's index here is its rule id in the kernel. */
export interface PlannedRule {
  ruleId: number;
  policy: string;
  rule: string;
  kind: RuleKind;
  /** what the policy asked for */
  action: Action;
  /** what this kernel achieves (after mode: audit-mode rules achieve 'audit' with dryRun) */
  achieved: Enforcement;
  mechanism: MechanismName | null;
  /** programs (ProgramSpec.program) that enforce or report it */
  programs: string[];
  /** the policy (or the daemon's --audit) is in audit mode: nothing is denied, outcomes are would-* */
  dryRun: boolean;
  downgraded: boolean;
  /** human explanation of the achieved enforcement, including why a downgrade happened */
  reason: string;
  severity: Severity;
  tags: string[];
  message: string;
  /** file:line:column of the rule */
  source: string;
}

/** An allowlist posture (policy defaultAction: block) on one kind: what a miss achieves. */
export interface PlannedDefault {
  kind: RuleKind;
  achieved: Enforcement;
  mechanism: MechanismName | null;
  programs: string[];
  downgraded: boolean;
  reason: string;
}

export interface PlannedPolicy {
  slot: number;
  name: string;
  mode: 'enforce' | 'audit';
  /** for the loader: cgroup selectors are resolved to ids at load time (they are host state, not policy) */
  cgroups: string[];
  exceptionsCgroups: { ruleId: number; cgroups: string[] }[];
  /** allowlist postures, one per kind with an `allow` rule when defaultAction is block (kernel rule id RULE_DEFAULT | slot) */
  defaults?: PlannedDefault[];
}

export interface Plan {
  formatVersion: 1;
  features: string; // FeatureSet.name
  policies: PlannedPolicy[];
  rules: PlannedRule[];
  programs: ProgramSpec[];
  /** map entries that do not depend on host state, for generation `gen` */
  maps: MapFill[];
  /** executables that received an exe id (bg_exe_ids): path -> id */
  exeIds: Record<string, number>;
  /**
   * executables exceptions pin by content: path → SHA-256 digests (hex); the
   * loader measures these files and verifies them in bg_exe_verified
   */
  exeDigests?: Record<string, string[]>;
  warnings: string[];
}
