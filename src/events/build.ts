// record -> native event. Pure: the host name, the boot-to-wall-clock offset,
// the enrichment and the id source are inputs.

import {
  EV_F_UNRESOLVED,
  EVENT_FLAG,
  EXE_ID_UNRESOLVED,
  isContentExe,
  plainExeId,
  RULE_DEFAULT,
  WOULD_OUTCOMES,
} from '../abi/layout.ts';
import type { AttachSpec, PlannedRule } from '../abi/plan.ts';
import type { BinaryInode } from '../abi/programs.ts';
import type { Diagnostic } from '../errors.ts';
import type { DecodedRecord, LossReport } from '../kernel/record.ts';
import { kindOf } from '../kinds/index.ts';
import { isNewImage } from '../kinds/kind.ts';
import type { Severity } from '../policy/model.ts';
import type { IdSource } from './id.ts';
import { decodeTarget, describeTarget } from './target.ts';
import {
  type EventAction,
  type EventMode,
  type LossEvent,
  type PolicyErrorEvent,
  SCHEMA_VERSION,
  type TamperEvent,
  type ViolationEvent,
} from './types.ts';

/** What user space learned about the acting process (src/events/enrich.ts). Every field optional. */
export interface Enrichment {
  executable?: string;
  args?: string[];
  argsTruncated?: boolean;
  parentExecutable?: string;
  user?: string;
  cgroupPath?: string;
  containerId?: string;
  containerRuntime?: string;
}

/** wall-clock ns = boot ns + offsetNs (CLOCK_REALTIME - CLOCK_BOOTTIME, see clock.ts) */
export interface BootClock {
  offsetNs: bigint;
}

/** What a record's rule id names when it is an allowlist's default action (RULE_DEFAULT | slot). */
export interface SlotPolicy {
  name: string;
  severity: Severity;
  tags: string[];
}

export interface BuildContext {
  host: string;
  /** the daemon's mode: audit when started with --audit */
  mode: EventMode;
  enrichment: Enrichment;
  clock: BootClock;
  ids: IdSource;
  /** resolves RULE_DEFAULT | slot records to their policy */
  policyForSlot?: (slot: number) => SlotPolicy | undefined;
  /**
   * the attach point of a rule attached on its own: the function a kprobe
   * rule watches (the kernel's kprobe record leaves its path empty), a uprobe
   * rule's binary and symbol
   */
  attachment?: (ruleId: number) => AttachSpec | undefined;
  /** the inode a uprobe rule's links are bound to, in the record's generation */
  inode?: (ruleId: number) => BinaryInode | undefined;
  /** the executable an exe id names (bg_exe_ids of the record's generation): the kernel set the id at exec */
  executableOf?: (exeId: number) => string | undefined;
}

/**
 * The acting executable as the kernel knows it, if it does: read at the
 * decision (record.exe), the image an exec is starting, or the executable
 * whose id the kernel attached to the process at its exec.
 */
function kernelExecutable(record: DecodedRecord, ctx: BuildContext): string | undefined {
  if (record.exe) return record.exe;
  if (isNewImage(kindOf(record.kind), record.op) && record.path) return record.path;
  // the id without EXE_ID_VERIFIED (the bit says the file had a pinned content)
  const name = record.exeId > 0 ? ctx.executableOf?.(plainExeId(record.exeId)) : undefined;
  // a digest excepted alone is no path: the enrichment reads the executable
  return name && !isContentExe(name) ? name : undefined;
}

const NS_PER_S = 1_000_000_000n;

/** RFC 3339, UTC, with nanoseconds. */
export function formatTimeNs(ns: bigint): string {
  return formatTimeText(ns.toString());
}

/** the whole seconds of the last time formatted, and their RFC 3339 text (events come many a second) */
let lastSeconds = '';
let lastIso = '';

/** formatTimeNs of ns given as its decimal text (what an event's timeNs holds). */
function formatTimeText(text: string): string {
  if (text.length <= 9 || text.startsWith('-')) {
    // before 1970-01-01T00:00:01Z: the general way
    const ns = BigInt(text);
    const s = ns / NS_PER_S;
    const frac = ns % NS_PER_S;
    const iso = new Date(Number(s) * 1000).toISOString(); // ...T..:..:...000Z
    return `${iso.slice(0, 19)}.${frac.toString().padStart(9, '0')}Z`;
  }
  const seconds = text.slice(0, -9);
  if (seconds !== lastSeconds) {
    lastIso = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
    lastSeconds = seconds;
  }
  return `${lastIso}.${text.slice(-9)}Z`;
}

export function wallNs(bootNs: bigint, clock: BootClock): bigint {
  return bootNs + clock.offsetNs;
}

function actionOf(record: DecodedRecord, rule: PlannedRule | undefined, isDefault: boolean): EventAction {
  // an allowlist's miss: the policy asked block (defaultAction: block), whatever the kernel achieved
  const asked = isDefault ? 'block' : rule?.action;
  if (asked === 'block' || asked === 'kill' || asked === 'audit') return asked;
  if (record.outcome === 'would-kill' || record.outcome === 'would-kill-after' || record.action === 'kill')
    return 'kill';
  if (record.outcome === 'would-block' || record.action === 'block' || asked === 'allow') return 'block';
  return 'audit';
}

function flagNames(flags: number): string[] | undefined {
  const out = EVENT_FLAG.bits(flags);
  return out.length ? out : undefined;
}

export function buildEvent(
  record: DecodedRecord,
  rule: PlannedRule | undefined,
  ctx: BuildContext,
): ViolationEvent {
  const nsText = wallNs(record.bootNs, ctx.clock).toString();
  const e = ctx.enrichment;
  const ruleId = record.ruleId >>> 0;
  const isDefault = rule === undefined && ruleId >= RULE_DEFAULT;
  const slotPolicy = isDefault ? ctx.policyForSlot?.(ruleId - RULE_DEFAULT) : undefined;
  const target = decodeTarget(record.kind, record, { ruleId, attachment: ctx.attachment, inode: ctx.inode });
  const dryRun = rule?.dryRun === true || WOULD_OUTCOMES.includes(record.outcome);
  const policy = rule
    ? { name: rule.policy, rule: rule.rule, severity: rule.severity, tags: [...rule.tags] }
    : {
        name: slotPolicy?.name ?? 'unknown',
        rule: isDefault ? 'default' : `rule-${ruleId}`,
        severity: slotPolicy?.severity ?? 'medium',
        tags: [...(slotPolicy?.tags ?? [])],
      };
  // what the kernel recorded wins: /proc is read later, when the process may have exec'd or exited
  const known = kernelExecutable(record, ctx);
  const executable = known ?? e.executable;
  const fromProc: ('executable' | 'args')[] = [];
  if (known === undefined && e.executable !== undefined) fromProc.push('executable');
  if (e.args !== undefined) fromProc.push('args');
  // fields added one by one, in the contract's order (no object spreads: this runs per event)
  const process: ViolationEvent['process'] = {
    pid: record.pid,
    tgid: record.tgid,
    ppid: record.ppid,
    uid: record.uid,
    gid: record.gid,
    euid: record.euid,
  } as ViolationEvent['process'];
  if (e.user !== undefined) process.user = e.user;
  process.comm = record.comm;
  if (executable !== undefined) process.executable = executable;
  if (e.args !== undefined) process.args = e.args;
  if (e.argsTruncated) process.argsTruncated = true;
  if (fromProc.length > 0) process.fromProc = fromProc;
  const cgroup: ViolationEvent['process']['cgroup'] = { id: record.cgroupId.toString() };
  if (e.cgroupPath !== undefined) cgroup.path = e.cgroupPath;
  process.cgroup = cgroup;
  if (e.containerId !== undefined) {
    const container: NonNullable<ViolationEvent['process']['container']> = { id: e.containerId };
    if (e.containerRuntime !== undefined) container.runtime = e.containerRuntime;
    process.container = container;
  }
  const flags = flagNames(record.flags);
  // decided fail-closed: the path, or the acting executable's, could not be built
  const unresolved = (record.flags & EV_F_UNRESOLVED) !== 0 || record.exeId === EXE_ID_UNRESOLVED;
  const message =
    rule?.message ||
    (isDefault
      ? `not on the allowlist of policy ${policy.name}: ${describeTarget(record.kind, target)}`
      : `${record.kind} ${describeTarget(record.kind, target)}`);
  const parent: ViolationEvent['parent'] = { pid: record.ppid };
  if (e.parentExecutable !== undefined) {
    parent.executable = e.parentExecutable;
    parent.fromProc = ['executable'];
  }
  const event: ViolationEvent = {
    schemaVersion: SCHEMA_VERSION,
    type: 'violation',
    id: ctx.ids.next(),
    timeNs: nsText,
    time: formatTimeText(nsText),
    host: ctx.host,
    policy,
    action: actionOf(record, rule, isDefault),
    outcome: record.outcome,
    mode: dryRun ? 'audit' : ctx.mode,
    kind: record.kind,
    mechanism: record.mechanism,
    process,
    parent,
    target,
    message,
    ret: record.ret,
  };
  if (flags) event.flags = flags;
  if (unresolved) event.unresolved = true;
  return event;
}

export interface EventStamp {
  host: string;
  ids: IdSource;
  /** wall clock, ns since the epoch */
  nowNs?: () => bigint;
}

const defaultNow = (): bigint => BigInt(Date.now()) * 1_000_000n;

export function buildLossEvent(report: LossReport, s: EventStamp): LossEvent {
  const ns = (s.nowNs ?? defaultNow)();
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'loss',
    id: s.ids.next(),
    timeNs: ns.toString(),
    time: formatTimeNs(ns),
    host: s.host,
    loss: { source: report.source, count: report.count },
    message: `${report.count} event(s) lost (${report.source})`,
  };
}

export function buildPolicyErrorEvent(diagnostics: Diagnostic[], s: EventStamp): PolicyErrorEvent {
  const ns = (s.nowNs ?? defaultNow)();
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'policy_error',
    id: s.ids.next(),
    timeNs: ns.toString(),
    time: formatTimeNs(ns),
    host: s.host,
    diagnostics: diagnostics.map((d) => ({
      code: d.code,
      message: d.message,
      severity: d.severity,
      file: d.pos.file,
      line: d.pos.line,
      column: d.pos.column,
    })),
    message: `policy reload rejected: ${errors} error(s); the previous policy set stays in force`,
  };
}

/** Refusals by kind (counts > 0), as self-protection counted them since the last report. */
export function buildTamperEvent(refused: Record<string, number>, s: EventStamp): TamperEvent {
  const ns = (s.nowNs ?? defaultNow)();
  const what = Object.entries(refused)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'tamper',
    id: s.ids.next(),
    timeNs: ns.toString(),
    time: formatTimeNs(ns),
    host: s.host,
    tamper: { refused: { ...refused } },
    message: `self-protection refused another process an attempt to stop or tamper with bpfgate: ${what}`,
  };
}
