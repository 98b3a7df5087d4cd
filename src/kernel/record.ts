// A ring-buffer record (struct bg_event) decoded into JavaScript values.
// Produced by src/kernel/decoder.ts, consumed by src/events/. Pure types.
import type { ActionName, MechanismName, OutcomeName } from '../abi/layout.ts';
import type { RuleKind } from '../kinds/index.ts';

export interface DecodedRecord {
  /** bpf_ktime_get_boot_ns() of the decision, as a bigint (nanoseconds since boot) */
  bootNs: bigint;
  cgroupId: bigint;
  ruleId: number;
  pid: number;
  tgid: number;
  ppid: number;
  uid: number;
  gid: number;
  euid: number;
  /** what the kernel returned to the caller, e.g. -1 (EPERM) */
  ret: number;
  kind: RuleKind;
  action: ActionName;
  mechanism: MechanismName;
  op: number;
  outcome: OutcomeName;
  slot: number;
  flags: number;
  exeId: number;
  /** the generation of the rule set that decided: ruleId and slot index that generation's plan */
  gen: 0 | 1;
  /** the attempts the kernel counted without a record for this process, rule, op, outcome and target, when this one was written (bg_repeats; never decreases) */
  repeats: bigint;
  /** the target's digest in bg_repeats' key: another file, address or id has another (0: any target) */
  target: bigint;
  args: [bigint, bigint, bigint, bigint];
  comm: string;
  path: string;
  /** the acting executable, read by the kernel at the decision (kinds whose record has no path of its own) */
  exe?: string;
  /** raw bytes: an address for connect/bind, else a NUL-terminated string */
  aux: Uint8Array;
}

/** A loss the pipeline must report as an event of its own. */
/**
 * Where events can be lost, each counted and reported as a loss event:
 * ringbuf: the kernel could not write the record (the ring was full, also
 * while no daemon read it); reader: records taken from the ring but lost
 * before decoding (memory); decode: records that did not decode; emit: an
 * event lost to an error while it was built or handed to an output; stdout:
 * violations stdout did not take (closed, or its reader too slow); queue and
 * spool: the NATS sink's memory queue and on-disk spool (full, or corrupt).
 */
export const LOSS_SOURCES = ['ringbuf', 'reader', 'decode', 'emit', 'stdout', 'queue', 'spool'] as const;
export type LossSource = (typeof LOSS_SOURCES)[number];

export interface LossReport {
  source: LossSource;
  count: number;
}
