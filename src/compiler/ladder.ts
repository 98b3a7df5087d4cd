// The enforcement ladder: for one rule and one kernel's FeatureSet, which
// programs serve it and what they achieve. BPF-LSM deny → fmod_ret deny (the
// same security_* functions, where BPF-LSM is built but not active) → cgroup
// hook deny → tracepoint kill (bpf_send_signal: before the new program's
// first instruction, or after the system call completed) → audit only →
// unavailable. Pure.

import type { FeatureSet } from '../abi/features.ts';
import type { MechanismName } from '../abi/layout.ts';
import type { Enforcement } from '../abi/plan.ts';
import {
  attachText,
  availability,
  FAMILIES,
  type Family,
  PROGRAMS,
  type ProgramInfo,
  type ProgramName,
} from '../abi/programs.ts';
import { kindOf, type Match, type RuleKind } from '../kinds/index.ts';
import type { Unit } from '../kinds/kind.ts';
import type { Action } from '../policy/vocabulary.ts';

export type { Unit } from '../kinds/kind.ts';

function cost(name: ProgramName): number {
  return info(name).cost ?? 1;
}

function info(name: ProgramName): ProgramInfo {
  return PROGRAMS[name];
}

/** The units a match needs hooks for (its kind's). */
export function unitsOf(match: Match): Unit[] {
  return kindOf(match.kind).units(match);
}

/** The units of an allowlist posture (defaultAction: block) on a kind. */
export function postureUnits(kind: RuleKind): Unit[] {
  const k = kindOf(kind);
  if (!k.posture) throw new Error(`${kind} rules cannot be an allowlist`);
  return k.posture();
}

export interface Decision {
  achieved: Enforcement;
  mechanism: MechanismName | null;
  programs: ProgramName[];
  downgraded: boolean;
  reason: string;
}

/** kill-after (the call completed, then the process died) is weaker than kill (nothing happened, or the new program never ran). */
const STRENGTH: Readonly<Record<Enforcement, number>> = {
  unavailable: 0,
  audit: 1,
  allow: 1,
  'kill-after': 2,
  kill: 3,
  block: 4,
};

function hookName(name: ProgramName): string {
  return attachText(info(name).attach);
}

interface Rung {
  family: Family;
  programs: ProgramName[];
  covered: Unit[];
  missing: Unit[];
}

function rungs(units: Unit[], f: FeatureSet): Rung[] {
  return FAMILIES.map((family) => {
    const programs = new Set<ProgramName>();
    const covered: Unit[] = [];
    const missing: Unit[] = [];
    for (const u of units) {
      const ok = u.candidates.filter((n) => info(n).family === family && availability(n, f).available);
      for (const n of ok) programs.add(n);
      (ok.length > 0 ? covered : missing).push(u);
    }
    return { family, programs: [...programs].sort(), covered, missing };
  });
}

/** Why the rungs above the chosen one could not serve the units (the probe's words), hooks grouped by reason. */
function whyNot(units: Unit[], f: FeatureSet, above: readonly Family[]): string[] {
  const byReason = new Map<string, Set<string>>();
  for (const u of units) {
    for (const n of u.candidates) {
      if (!above.includes(info(n).family)) continue;
      const a = availability(n, f);
      if (a.available) continue;
      const hooks = byReason.get(a.reason) ?? new Set<string>();
      hooks.add(hookName(n));
      byReason.set(a.reason, hooks);
    }
  }
  return [...byReason].map(([reason, hooks]) => `${[...hooks].join(', ')}: ${reason}`);
}

/**
 * The rung a rule starts from. Audit: the cheapest rung that serves every
 * unit. Otherwise the strongest rung that serves any unit; complete() gives
 * the units it misses to the rungs below (a security_* function missing on
 * this kernel leaves only its own operation to a weaker rung).
 */
function pick(rs: Rung[], action: Action): Rung | null {
  const full = rs.filter((r) => r.covered.length > 0 && r.missing.length === 0);
  if (action === 'audit' && full.length > 0) {
    const c = (r: Rung) => Math.max(...r.programs.map(cost));
    return full.reduce((best, r) => (c(r) < c(best) ? r : best));
  }
  return rs.find((r) => r.covered.length > 0) ?? null;
}

function describe(r: Rung, achieved: Enforcement, action: Action): string {
  const hooks = r.programs.map(hookName).join(', ');
  const s = r.programs.length > 1 ? '' : 's';
  if (achieved === 'audit') {
    if (r.family === 'kprobe') {
      const note = action === 'block' || action === 'kill' ? '; kprobes here can neither deny nor kill' : '';
      return `kprobe reports each call of the function; nothing is denied${note}`;
    }
    if (r.family === 'uprobe') {
      const note = action === 'block' ? '; block was asked, but a uprobe cannot refuse a function call' : '';
      return `uprobe reports each call of the function (or its return) in every process that runs the binary's inode; nothing is denied${note}`;
    }
    return `${hooks} report${s} the action; nothing is denied`;
  }
  if (achieved === 'allow') return `${hooks} let${s} it happen (an exception to the allowlist)`;
  if (r.family === 'lsm' || r.family === 'fmod_ret') {
    const kill = achieved === 'kill' ? ` and kill${s} the process with SIGKILL` : '';
    const how =
      r.family === 'fmod_ret' ? ' (fmod_ret on the security_* function: BPF-LSM is not active)' : '';
    return `${hooks} den${s ? 'ies' : 'y'} with EPERM before the action happens${kill}${how}`;
  }
  if (r.family === 'tc' || r.family === 'xdp') {
    return `${hooks} drop${s} the matching packets on the rule's interfaces`;
  }
  if (r.family === 'cgroup') {
    const note =
      action === 'kill' ? '; kill was asked, but cgroup programs cannot send signals: denied instead' : '';
    return `${hooks} den${s ? 'ies' : 'y'} with EPERM for processes below the attach cgroup${note}`;
  }
  if (r.family === 'uprobe') {
    return `${hooks} kills the process with SIGKILL after the function was entered (return probes: after it returned: kill-after, what it did stays); nothing is blocked`;
  }
  if (r.programs.every((n) => info(n).kills === 'new-image')) {
    return `${hooks} kills the new program with SIGKILL before its first instruction; the exec itself succeeds`;
  }
  return `${hooks} kills the process with SIGKILL on return from the system call, which has completed (kill-after: its effects stay)`;
}

/**
 * The units `r` misses, each served by the first other rung (ladder order)
 * that covers it: a rule split over mechanisms, e.g. inet sockets by the
 * cgroup hook and packet sockets by raw sys_enter on a kernel without BPF-LSM.
 */
function complete(r: Rung, rs: Rung[], f: FeatureSet): { parts: Rung[]; missing: Unit[] } {
  const extra = new Map<Family, Rung>();
  const missing: Unit[] = [];
  for (const u of r.missing) {
    const other = rs.find((x) => x !== r && x.covered.includes(u));
    if (!other) {
      missing.push(u);
      continue;
    }
    const part = extra.get(other.family) ?? { family: other.family, programs: [], covered: [], missing: [] };
    for (const n of u.candidates) {
      if (info(n).family === other.family && availability(n, f).available && !part.programs.includes(n)) {
        part.programs.push(n);
      }
    }
    part.covered.push(u);
    extra.set(other.family, part);
  }
  const parts = [{ ...r, missing: [] }, ...extra.values()]
    .map((p) => ({ ...p, programs: [...p.programs].sort() }))
    .sort((a, b) => FAMILIES.indexOf(a.family) - FAMILIES.indexOf(b.family));
  return { parts, missing };
}

/**
 * What one rung achieves for `action`, and whether it could kill. A kill by a
 * program that cannot deny lands after the system call completed
 * (kill-after) unless every program of the rung kills a new image before its
 * first instruction; a program that denies and kills stops the action first.
 */
function achievedBy(r: Rung, action: Action, f: FeatureSet): { achieved: Enforcement; canKill: boolean } {
  const ps = r.programs.map(info);
  const canDeny = ps.every((p) => p.canDeny);
  const canKill = ps.every((p) => p.canKill) && f.sendSignal.available;
  const kill: Enforcement = canDeny || ps.every((p) => p.kills === 'new-image') ? 'kill' : 'kill-after';
  let achieved: Enforcement;
  if (action === 'allow') achieved = 'allow';
  else if (action === 'audit') achieved = 'audit';
  else if (action === 'block') achieved = canDeny ? 'block' : canKill ? kill : 'audit';
  else achieved = canKill ? kill : canDeny ? 'block' : 'audit';
  return { achieved, canKill };
}

/**
 * Decide how a rule asking `action` on `units` is enforced on `f`.
 * Block: deny where a program can deny, else kill, else audit. Kill: kill, or
 * deny (cgroup) which is stronger. Audit: the cheapest hook. Allow: any hook
 * of the kind. Units the chosen rung misses are served by other rungs where
 * they can be; the rule then achieves the weakest of its parts (one action
 * value is written for the rule).
 */
export function decide(kind: RuleKind, action: Action, all: Unit[], f: FeatureSet): Decision {
  const units = action === 'allow' ? all.filter((u) => !u.notForAllow) : all;
  const rs = rungs(units, f);
  const first = pick(rs, action);
  if (!first) {
    const why = whyNot(units, f, FAMILIES);
    const note = kindOf(kind).coverageNote;
    if (note) why.push(note);
    const detail = why.length > 0 ? why.join('; ') : 'no program of bpfgate serves it';
    return {
      achieved: 'unavailable',
      mechanism: null,
      programs: [],
      downgraded: true,
      reason: `no hook for ${kind} on this kernel (${detail})`,
    };
  }
  const { parts, missing } = complete(first, rs, f);
  const results = parts.map((r) => ({ r, ...achievedBy(r, action, f) }));
  // the weakest part decides what the rule achieves; among equals, the rung that serves most of it
  // (bind on BPF-LSM: the cgroup hooks, with lsm/socket_listen for listen() without bind())
  const main = results.find((x) => x.r.family === first.family) ?? results[0]!;
  const weakest = results.reduce((w, x) => (STRENGTH[x.achieved] < STRENGTH[w.achieved] ? x : w), main);
  const { r, achieved, canKill } = weakest;

  const text =
    results.length === 1
      ? [describe(r, achieved, action)]
      : results.map(
          (x) => `${x.r.covered.map((u) => u.label).join(', ')}: ${describe(x.r, x.achieved, action)}`,
        );
  const asked = action === 'allow' || action === 'audit' ? STRENGTH.audit : STRENGTH[action];
  const weaker = STRENGTH[achieved] < asked;
  if (weaker || missing.length > 0) {
    const above = FAMILIES.slice(0, FAMILIES.indexOf(r.family));
    const why = whyNot(units, f, above);
    if (weaker && !canKill && !r.programs.every((n) => info(n).canDeny) && !f.sendSignal.available) {
      why.push(`bpf_send_signal: ${f.sendSignal.reason}`);
    }
    if (why.length > 0) text.push(`stronger hooks unavailable (${why.join('; ')})`);
  }
  if (missing.length > 0) {
    text.push(`not covered on this kernel: ${missing.map((u) => u.label).join(', ')}`);
    const note = kindOf(kind).coverageNote;
    if (note) text.push(note);
  }
  return {
    achieved,
    mechanism: r.family,
    programs: [...new Set(parts.flatMap((p) => p.programs))].sort(),
    downgraded: weaker || missing.length > 0,
    reason: text.join('; '),
  };
}
