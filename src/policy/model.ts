// The typed policy model: what `policy/` produces from YAML and `compiler/`
// consumes. Pure data, no I/O. Every node that can be the subject of an error
// carries the source position it came from. A rule's match is its kind's
// (src/kinds/<kind>.ts).
import type { SourcePos } from '../errors.ts';
import type { Match, RuleKind } from '../kinds/index.ts';
import type { Action, Mode, Severity } from './vocabulary.ts';

export type { SourcePos } from '../errors.ts';
export { type Match, RULE_KINDS, type RuleKind } from '../kinds/index.ts';
export type { Cidr, PortRange } from '../kinds/net.ts';
export { ACTIONS, type Action, MODES, type Mode, SEVERITIES, type Severity } from './vocabulary.ts';

/** Which processes a policy (or an exception) covers. Empty lists mean "no restriction". */
export interface Scope {
  /** cgroup v2 paths relative to the cgroup2 root, e.g. "/system.slice/*.service", "/kubepods/**". */
  cgroups: string[];
  /** Absolute paths of acting executables (exact). */
  executables: string[];
  /** real user ids (the uid the process runs as; a set-uid program keeps its caller's) */
  uids: number[];
  /** effective user ids (a set-uid program's owner while it runs) */
  euids: number[];
  /** host: processes in the host's pid namespace; containers: any other; all: both. */
  processes: 'all' | 'host' | 'containers';
}

export interface Exceptions {
  /** every exempt executable's path, pinned or not */
  executables: string[];
  /**
   * the executables of `executables` exempt only while their file has one of
   * these contents: path → SHA-256 digests (lowercase hex, sorted)
   */
  digests: Record<string, string[]>;
  /**
   * SHA-256 digests (lowercase hex, sorted) of programs exempt by their content
   * alone, wherever their file is (`{ sha256 }` without a path)
   */
  contents: string[];
  /** real user ids */
  uids: number[];
  /** effective user ids */
  euids: number[];
  cgroups: string[];
}

export interface Rule {
  /** unique within its policy */
  id: string;
  kind: RuleKind;
  action: Action;
  severity: Severity;
  message: string;
  description: string;
  tags: string[];
  match: Match;
  unless: Exceptions;
  /**
   * exec and file: what a path the programs cannot build (longer than their
   * buffer, deeper than their walk) gets. deny (the default): a block or kill
   * rule decides it as a match; allow: this rule never does.
   */
  unresolved: 'deny' | 'allow';
  pos: SourcePos;
}

export interface Policy {
  name: string;
  description: string;
  severity: Severity;
  /** MITRE ATT&CK technique ids and free-form labels */
  tags: string[];
  labels: Record<string, string>;
  mode: Mode;
  /** `block` turns exec, file, connect and bind into allowlists: only what an `allow` rule names may happen in scope. */
  defaultAction: 'allow' | 'block';
  scope: Scope;
  rules: Rule[];
  pos: SourcePos;
}

/** A validated, complete set of policies: the only input the compiler accepts. */
export interface PolicySet {
  policies: Policy[];
}
