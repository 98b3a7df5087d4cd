// The policy compiler: PolicySet + FeatureSet -> Plan. Pure and deterministic:
// no file, kernel, network, clock or randomness; the same input gives the
// same JSON, byte for byte.

import { GENERATION_CAPACITY } from '../abi/capacity.ts';
import { emptyGenConfig, encodeGenConfig, type GenConfig } from '../abi/encode/config.ts';
import { encodeExeContent } from '../abi/encode/ident.ts';
import { anySlotPathKey } from '../abi/encode/path.ts';
import {
  encodeEuidException,
  encodeExeException,
  encodeExeId,
  encodeIdScope,
  encodeUidException,
} from '../abi/encode/scope.ts';
import type { FeatureSet } from '../abi/features.ts';
import {
  Action as ActionValue,
  contentExeKey,
  EXE_ID_UNRESOLVED,
  EXE_ID_VERIFIED,
  MapName,
  VAL_F_DRYRUN,
  VAL_F_EXC_EUID,
} from '../abi/layout.ts';
import type {
  Enforcement,
  MapEntry,
  MapFill,
  Plan,
  PlannedDefault,
  PlannedPolicy,
  PlannedRule,
  ProgramSpec,
} from '../abi/plan.ts';
import {
  CGROUP_TRACKING_PROGRAMS,
  CONTENT_PROGRAMS,
  PROGRAMS,
  type ProgramInfo,
  type ProgramName,
  TRACKING_PROGRAMS,
} from '../abi/programs.ts';
import { kindOf, kindsAccepting, RULE_KINDS, type RuleKind } from '../kinds/index.ts';
import type { MapKey } from '../kinds/kind.ts';
import type { Policy, PolicySet, Rule } from '../policy/model.ts';
import { MapCapacityError, UnencodableError } from './errors.ts';
import { type Decision, decide, postureUnits, unitsOf } from './ladder.ts';
import { assignExeIds, assignSlots, byString, executablesNamed, pinnedDigests } from './slots.ts';
import { RuleTable, sortEntries } from './table.ts';

export interface CompileOptions {
  /** the generation the entries are written under (the inactive one) */
  gen: 0 | 1;
  /** the daemon's --audit: every policy in audit mode */
  audit?: boolean;
  /** exe ids of the running plan, kept stable across a swap (bg_exe_ids has no generation) */
  exeIds?: Record<string, number>;
  /** interface names to indexes in the daemon's network namespace (ingress and egress rules) */
  interfaces?: (name: string) => number | undefined;
}

/** The kinds a policy with defaultAction: block can turn into allowlists. */
const POSTURE_KINDS = kindsAccepting('allow');

const ACHIEVED_VALUE: Readonly<Record<Exclude<Enforcement, 'unavailable'>, number>> = {
  allow: ActionValue.allow,
  audit: ActionValue.audit,
  block: ActionValue.block,
  kill: ActionValue.kill,
  // the same kill in the kernel: the program that serves the rule decides when it lands
  'kill-after': ActionValue.kill,
};

/** What an unresolved path, executable or cgroup is decided as: the rules that enforce. */
const FAIL_CLOSED: readonly Enforcement[] = ['block', 'kill', 'kill-after'];

function usesExecutables(p: Policy): boolean {
  return (
    p.scope.executables.length > 0 ||
    p.rules.some((r) => r.unless.executables.length + r.unless.contents.length > 0)
  );
}

function bit(slot: number): bigint {
  return 1n << BigInt(slot);
}

/**
 * bg_path_any: every bg_path_rules key with its slot and op bytes 0, once. A
 * path that matches no prefix there matches none in any slot for any op: the
 * file decisions skip their slot loops (bpf/lib/match.h, bg_path_any_hit).
 * The value is unused.
 */
function pathAnyFill(rules: MapFill): MapFill {
  const keys = new Map<string, string>();
  for (const e of rules.entries) {
    const key = anySlotPathKey(e.key);
    if (!keys.has(key)) keys.set(key, e.value);
  }
  return { map: MapName.pathAny, entries: sortEntries([...keys].map(([key, value]) => ({ key, value }))) };
}

/** Mutable state of one compile() call. */
class Build {
  readonly gen: 0 | 1;
  readonly features: FeatureSet;
  readonly rules: PlannedRule[] = [];
  readonly warnings: string[] = [];
  readonly config: GenConfig = emptyGenConfig();
  readonly tables = new Map<string, RuleTable>(
    [MapName.pathRules, MapName.rules, MapName.netRules].map((m) => [m, new RuleTable(m)]),
  );
  readonly exceptions = new Map<string, MapEntry>();
  readonly uidScope = new Map<number, bigint>();
  readonly euidScope = new Map<number, bigint>();
  readonly exeScope = new Map<number, bigint>();
  /** digests exceptions name alone → their exe id (bg_exe_contents) */
  readonly contents = new Map<string, number>();
  /** program -> kinds that need it */
  readonly programs = new Map<ProgramName, Set<RuleKind>>();
  /** attachments of programs attached once per rule (a kprobe per function) */
  readonly perRule: ProgramSpec[] = [];
  /** interface indexes (CompileOptions.interfaces) */
  ifindex: ((name: string) => number | undefined) | undefined;

  constructor(gen: 0 | 1, features: FeatureSet) {
    this.gen = gen;
    this.features = features;
  }

  usePrograms(names: readonly ProgramName[], kind: RuleKind): void {
    for (const n of names) {
      const kinds = this.programs.get(n) ?? new Set<RuleKind>();
      kinds.add(kind);
      this.programs.set(n, kinds);
    }
  }
}

function trackingUnavailable(f: FeatureSet): Decision {
  return {
    achieved: 'unavailable',
    mechanism: null,
    programs: [],
    downgraded: true,
    reason: `the policy's executable scope needs the exec/fork/exit tracepoints to know the acting executable (tracepoints: ${f.tracepoints.reason})`,
  };
}

/** Families whose programs see packets, not processes. */
const PACKET_FAMILIES: readonly string[] = ['tc', 'xdp'];

/**
 * Packet rules: an interface the host does not have, or a scope or exception
 * by process (a packet has no reliable acting process: softirq, retransmits),
 * leaves the rule planned unavailable with the reason, never applied more
 * widely or to fewer interfaces. A rule scoped to cgroups, or excepting some,
 * is decided by the kind's cgroup_skb program on the socket's cgroup. Null:
 * not a packet rule, or one for tc/XDP (no scope at all).
 */
function packetDecision(b: Build, p: Policy, rule: Rule): Decision | null {
  const kind = kindOf(rule.kind);
  if (!kind.hooks.some((h) => PACKET_FAMILIES.includes((PROGRAMS[h.program] as ProgramInfo).family)))
    return null;
  const unavailable = (reason: string): Decision => ({
    achieved: 'unavailable',
    mechanism: null,
    programs: [],
    downgraded: true,
    reason,
  });
  // an interface the host does not have: the whole rule is left out, never attached to fewer interfaces
  const resolve = b.ifindex;
  const missing = resolve
    ? (kind.attachments?.(rule.match, 0) ?? []).flatMap((a) =>
        'ifname' in a && !resolve(a.ifname) ? [a.ifname] : [],
      )
    : [];
  if (missing.length > 0)
    return unavailable(
      `interface ${[...new Set(missing)].join(', ')} does not exist in the daemon's network namespace: the rule is not attached anywhere`,
    );
  const s = p.scope;
  const u = rule.unless;
  const byProcess = s.uids.length + s.euids.length + s.executables.length > 0 || s.processes !== 'all';
  if (byProcess || u.uids.length + u.euids.length + u.executables.length + u.contents.length > 0)
    return unavailable(
      `a packet has no reliable acting process (it may be sent from softirq, or retransmitted): ${rule.kind} rules can be scoped and excepted by cgroups only (the socket's cgroup), never by uids, euids, executables or host/containers`,
    );
  if (s.cgroups.length + u.cgroups.length === 0) return null;
  const units = kind.cgroupUnits?.(rule.match);
  if (!units) return unavailable(`${rule.kind} rules cannot be scoped to cgroups`);
  if ((rule.match as { xdp?: string }).xdp)
    return unavailable(
      'XDP decides before the network stack, where no socket and so no cgroup is known: a rule scoped to cgroups (or excepting some) cannot ask for xdp',
    );
  return decide(rule.kind, rule.action, units, b.features);
}

function compileRule(
  b: Build,
  p: Policy,
  slot: number,
  rule: Rule,
  exeIds: Record<string, number>,
  dryRun: boolean,
) {
  const ruleId = b.rules.length;
  const d =
    packetDecision(b, p, rule) ??
    (p.scope.executables.length > 0 && !b.features.tracepoints.available
      ? trackingUnavailable(b.features)
      : decide(rule.kind, rule.action, unitsOf(rule.match), b.features));
  b.rules.push({
    ruleId,
    policy: p.name,
    rule: rule.id,
    kind: rule.kind,
    action: rule.action,
    achieved: d.achieved,
    mechanism: d.mechanism,
    programs: d.programs,
    dryRun,
    downgraded: d.downgraded,
    reason: d.reason,
    severity: rule.severity,
    tags: rule.tags,
    message: rule.message,
    source: `${rule.pos.file}:${rule.pos.line}:${rule.pos.column}`,
  });
  if (d.downgraded) {
    b.warnings.push(
      `policy ${p.name}, rule ${rule.id}: asked ${rule.action}, achieves ${d.achieved}: ${d.reason}`,
    );
  }
  if (d.achieved === 'unavailable') return;

  const ctx = {
    gen: b.gen,
    slot,
    ruleId,
    ...(b.ifindex ? { ifindex: b.ifindex } : {}),
    ...(d.programs.some((n) => (PROGRAMS[n] as ProgramInfo).skb) ? { cgroupSkb: true } : {}),
  };
  const kind = kindOf(rule.kind);
  let targets: MapKey[];
  try {
    targets = kind.keys(rule.match, ctx);
  } catch (err) {
    if (err instanceof RangeError) throw new UnencodableError(p.name, rule.id, err.message);
    throw err;
  }
  const action = ACHIEVED_VALUE[d.achieved];
  // a rule that excepts effective uids makes the programs read the credential for it, and only it
  const flags = (dryRun ? VAL_F_DRYRUN : 0) | (rule.unless.euids.length > 0 ? VAL_F_EXC_EUID : 0);
  for (const t of targets) {
    const lost = b.tables.get(t.map)!.add(t.key, ruleId, action, flags);
    if (lost) {
      const name = (id: number) => b.rules[id]?.rule ?? String(id);
      b.warnings.push(
        `policy ${p.name}: rule ${name(lost.loser)} shares a ${t.map} key with rule ${name(lost.winner)}, whose action applies`,
      );
    }
  }
  // a path the programs cannot build: a block or kill rule decides it (fail closed), the
  // strongest of the slot for the operation, then the first; never a warning
  if (kind.unresolvedKeys && rule.unresolved === 'deny' && FAIL_CLOSED.includes(d.achieved)) {
    for (const t of kind.unresolvedKeys(rule.match, ctx))
      b.tables.get(t.map)!.add(t.key, ruleId, action, flags);
  }
  b.config.kindSlots[kind.abi]! |= bit(slot);
  b.usePrograms(d.programs, rule.kind);
  for (const program of d.programs.filter((n) => (PROGRAMS[n] as ProgramInfo).perRule)) {
    for (const attach of kind.attachments?.(rule.match, ruleId) ?? []) {
      b.perRule.push({ program, attach, kinds: [rule.kind] });
    }
  }

  for (const uid of rule.unless.uids) {
    const e = encodeUidException(ruleId, uid, b.gen);
    b.exceptions.set(e.key, e);
  }
  for (const euid of rule.unless.euids) {
    const e = encodeEuidException(ruleId, euid, b.gen);
    b.exceptions.set(e.key, e);
  }
  // a process carries its exe id with EXE_ID_VERIFIED while it runs the content a pin names
  // (bg_exe_verified): an exception that pins a digest names only that id, any other both
  for (const exe of rule.unless.executables) {
    const id = exeIds[exe]!;
    const ids = rule.unless.digests[exe] ? [withVerified(id)] : [id, withVerified(id)];
    for (const x of ids) {
      const e = encodeExeException(ruleId, x, b.gen);
      b.exceptions.set(e.key, e);
    }
  }
  // by content alone: each digest is an executable of its own, whose id bg_lsm_exe_content finds
  if (rule.unless.contents.length === 0) return;
  const hashing = b.features.exeContent;
  if (!hashing?.available) {
    b.warnings.push(
      `policy ${p.name}, rule ${rule.id}: exceptions by content alone (sha256 without a path) need BPF-LSM hashing files with bpf_ima_file_hash (${hashing?.reason ?? 'not probed'}): here they except nothing (the rule applies)`,
    );
    return;
  }
  b.usePrograms(CONTENT_PROGRAMS, rule.kind);
  for (const d of rule.unless.contents) {
    const id = exeIds[contentExeKey(d)]!;
    b.contents.set(d, id);
    const e = encodeExeException(ruleId, id, b.gen);
    b.exceptions.set(e.key, e);
  }
}

function compilePosture(b: Build, p: Policy, slot: number): PlannedDefault[] {
  if (p.defaultAction !== 'block') return [];
  const out: PlannedDefault[] = [];
  for (const kind of POSTURE_KINDS) {
    if (!p.rules.some((r) => r.kind === kind && r.action === 'allow')) continue;
    const d =
      p.scope.executables.length > 0 && !b.features.tracepoints.available
        ? trackingUnavailable(b.features)
        : decide(kind, 'block', postureUnits(kind), b.features);
    out.push({ kind, ...d });
    if (d.downgraded) {
      b.warnings.push(
        `policy ${p.name}, default for ${kind}: asked block, achieves ${d.achieved}: ${d.reason}`,
      );
    }
    if (d.achieved === 'unavailable') continue;
    b.config.defaultBlock[kindOf(kind).abi]! |= bit(slot);
    // a posture a tracepoint serves (in part) can only kill: its miss is a kill, or that program ignores it
    if (d.achieved === 'kill' || d.achieved === 'kill-after')
      b.config.defaultKill[kindOf(kind).abi]! |= bit(slot);
    b.config.kindSlots[kindOf(kind).abi]! |= bit(slot);
    b.config.defaultAction[slot] = ActionValue.block;
    b.usePrograms(d.programs, kind);
  }
  return out;
}

const withVerified = (id: number): number => (id | EXE_ID_VERIFIED) >>> 0;

function scopeSlot(b: Build, p: Policy, slot: number, exeIds: Record<string, number>, dryRun: boolean): void {
  const c = b.config;
  c.activeSlots |= bit(slot);
  if (p.scope.cgroups.length === 0) c.anyCgroup |= bit(slot);
  if (p.scope.uids.length === 0) c.anyUid |= bit(slot);
  if (p.scope.euids.length === 0) c.anyEuid |= bit(slot);
  if (p.scope.executables.length === 0) c.anyExe |= bit(slot);
  if (p.scope.processes === 'host') c.hostOnly |= bit(slot);
  if (p.scope.processes === 'containers') c.containersOnly |= bit(slot);
  if (dryRun) c.dryrun |= bit(slot);
  for (const uid of p.scope.uids) b.uidScope.set(uid, (b.uidScope.get(uid) ?? 0n) | bit(slot));
  for (const euid of p.scope.euids) b.euidScope.set(euid, (b.euidScope.get(euid) ?? 0n) | bit(slot));
  for (const exe of p.scope.executables) {
    for (const id of [exeIds[exe]!, withVerified(exeIds[exe]!)])
      b.exeScope.set(id, (b.exeScope.get(id) ?? 0n) | bit(slot));
  }
  // a process whose executable's path could not be built may be any of them: in scope
  if (p.scope.executables.length > 0) {
    b.exeScope.set(EXE_ID_UNRESOLVED, (b.exeScope.get(EXE_ID_UNRESOLVED) ?? 0n) | bit(slot));
  }
}

function programSpecs(b: Build): ProgramSpec[] {
  const kindOrder = (k: RuleKind) => RULE_KINDS.indexOf(k);
  const specs: ProgramSpec[] = [...b.programs]
    .filter(([n]) => !(PROGRAMS[n] as ProgramInfo).perRule)
    .map(([n, kinds]) => ({
      program: n,
      attach: PROGRAMS[n].attach,
      kinds: [...kinds].sort((x, y) => kindOrder(x) - kindOrder(y)),
    }));
  const attachKey = (s: ProgramSpec) => JSON.stringify(s.attach);
  return [...specs, ...b.perRule].sort(
    (x, y) => byString(x.program, y.program) || byString(attachKey(x), attachKey(y)),
  );
}

function idScopeFill(map: string, ids: Map<number, bigint>, gen: number): MapFill {
  return { map, entries: sortEntries([...ids].map(([id, mask]) => encodeIdScope(id, mask, gen))) };
}

function exeIdEntry(path: string, id: number): MapEntry {
  try {
    return encodeExeId(path, id);
  } catch (err) {
    if (err instanceof RangeError) throw new UnencodableError('(executables)', path, err.message);
    throw err;
  }
}

/** The compiler's safety net behind validation: no map gets more entries than one generation may hold. */
function checkCapacity(map: string, needed: number): void {
  const cap = GENERATION_CAPACITY[map];
  if (cap === undefined) throw new Error(`no capacity known for map ${map}`);
  if (needed > cap) throw new MapCapacityError(map, needed, cap);
}

export function compile(set: PolicySet, features: FeatureSet, options: CompileOptions): Plan {
  const gen = options.gen;
  const policies = assignSlots(set);
  const exeIds = assignExeIds(executablesNamed(policies), options.exeIds);
  const exeDigests = pinnedDigests(policies);
  const b = new Build(gen, features);
  b.ifindex = options.interfaces;
  const planned: PlannedPolicy[] = [];

  policies.forEach((p, slot) => {
    const dryRun = options.audit === true || p.mode === 'audit';
    scopeSlot(b, p, slot, exeIds, dryRun);
    const firstRule = b.rules.length;
    for (const rule of p.rules) compileRule(b, p, slot, rule, exeIds, dryRun);
    planned.push({
      slot,
      name: p.name,
      mode: dryRun ? 'audit' : 'enforce',
      cgroups: [...p.scope.cgroups],
      exceptionsCgroups: p.rules
        .map((r, i) => ({ ruleId: firstRule + i, cgroups: [...r.unless.cgroups] }))
        .filter((e) => e.cgroups.length > 0 && b.rules[e.ruleId]!.achieved !== 'unavailable'),
      defaults: compilePosture(b, p, slot),
    });
  });

  if (policies.some((p) => p.scope.cgroups.length > 0)) {
    if (features.tracepoints.available) {
      for (const n of CGROUP_TRACKING_PROGRAMS) if (!b.programs.has(n)) b.programs.set(n, new Set());
    } else {
      b.warnings.push(
        `cgroups made after the set is applied are in scope of selectors without ** only after the next reload: the cgroup_mkdir tracepoint is unavailable (${features.tracepoints.reason})`,
      );
    }
  }

  if (policies.some(usesExecutables)) {
    if (features.tracepoints.available) {
      for (const n of TRACKING_PROGRAMS) if (!b.programs.has(n)) b.programs.set(n, new Set());
    } else {
      b.warnings.push(
        `executable scopes and exceptions cannot be evaluated: the exec/fork/exit tracepoints are unavailable (${features.tracepoints.reason}); executable exceptions never apply`,
      );
    }
  }

  const tables = [...b.tables.values()].map((t) => t.fill());
  const maps: MapFill[] = [
    ...tables,
    pathAnyFill(tables.find((t) => t.map === MapName.pathRules)!),
    { map: MapName.exceptions, entries: sortEntries([...b.exceptions.values()]) },
    idScopeFill(MapName.scopeUid, b.uidScope, gen),
    idScopeFill(MapName.scopeEuid, b.euidScope, gen),
    idScopeFill(MapName.scopeExe, b.exeScope, gen),
    { map: MapName.exeIds, entries: sortEntries(Object.entries(exeIds).map(([p, id]) => exeIdEntry(p, id))) },
    ...(b.contents.size > 0
      ? [
          {
            map: MapName.exeContents,
            entries: sortEntries([...b.contents].map(([d, id]) => encodeExeContent(d, id))),
          },
        ]
      : []),
    { map: MapName.genConfig, entries: [encodeGenConfig(gen, b.config)] },
  ].sort((x, y) => byString(x.map, y.map));
  for (const m of maps) checkCapacity(m.map, m.entries.length);

  return {
    formatVersion: 1,
    features: features.name,
    policies: planned,
    rules: b.rules,
    programs: programSpecs(b),
    maps,
    exeIds,
    ...(Object.keys(exeDigests).length > 0 ? { exeDigests } : {}),
    warnings: b.warnings,
  };
}
