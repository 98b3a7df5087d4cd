// Decodes one ring-buffer record (struct bg_event in bpf/lib/abi.h) into a
// DecodedRecord, by the layout in src/abi/layout.ts (EVENT_LAYOUT, checked
// against the BTF of the built object by test/unit/abi-layout.test.ts), and
// the entries of bg_repeats (decodeRepeatCount). Pure: no I/O. A record that
// fails to decode throws RecordDecodeError; the reader counts it and skips it.

import {
  Action,
  type ActionName,
  EV_F_EXE_PATH,
  EVENT_LAYOUT,
  EVENT_SIZE,
  type EventField,
  Mechanism,
  type MechanismName,
  Outcome,
  type OutcomeName,
  Size,
} from '../abi/layout.ts';
import { BpfgateError } from '../errors.ts';
import type { RepeatCount, RepeatKey } from '../events/kernel-repeats.ts';
import { Kind, kindByAbi } from '../kinds/index.ts';
import type { DecodedRecord } from './record.ts';

export type RecordDecodeReason = 'short' | 'kind' | 'action' | 'mechanism' | 'outcome' | 'gen';

/** A ring-buffer record that is too short or holds values outside the ABI's enums. */
export class RecordDecodeError extends BpfgateError {
  readonly reason: RecordDecodeReason;
  /** the record's length in bytes */
  readonly length: number;
  /** the offending value (enum byte), or the length for 'short' */
  readonly value: number;
  constructor(reason: RecordDecodeReason, length: number, value: number) {
    super(
      'RECORD_DECODE',
      reason === 'short'
        ? `ring-buffer record of ${length} bytes, expected at least ${EVENT_SIZE}`
        : `ring-buffer record with unknown ${reason} ${value}`,
    );
    this.reason = reason;
    this.length = length;
    this.value = value;
  }
}

function invert<K extends string>(o: Record<K, number>): Map<number, K> {
  const m = new Map<number, K>();
  for (const [k, v] of Object.entries(o) as [K, number][]) m.set(v, k);
  return m;
}

const ACTION_BY_VALUE = invert<ActionName>(Action);
const MECHANISM_BY_VALUE = invert<MechanismName>(Mechanism);
const OUTCOME_BY_VALUE = invert<OutcomeName>(Outcome);

const utf8 = new TextDecoder('utf-8');

/** The NUL-terminated string in buf[offset, offset + size). */
function cString(buf: Uint8Array, offset: number, size: number): string {
  const field = buf.subarray(offset, offset + size);
  const nul = field.indexOf(0);
  return utf8.decode(nul < 0 ? field : field.subarray(0, nul));
}

function enumByte<K extends string>(
  map: Map<number, K>,
  buf: Uint8Array,
  field: 'action' | 'mechanism' | 'outcome',
): K {
  const v = buf[EVENT_LAYOUT[field].offset]!;
  const name = map.get(v);
  if (name === undefined) throw new RecordDecodeError(field, buf.length, v);
  return name;
}

/**
 * Decode one record. The result shares no memory with `buf` (aux is copied),
 * so the ring buffer's space may be reused at once.
 */
export function decodeRecord(buf: Uint8Array): DecodedRecord {
  if (buf.length < EVENT_SIZE) throw new RecordDecodeError('short', buf.length, buf.length);
  const dv = new DataView(buf.buffer, buf.byteOffset, EVENT_SIZE);
  const u32 = (f: EventField) => dv.getUint32(EVENT_LAYOUT[f].offset, true);
  const argAt = (i: number) => dv.getBigUint64(EVENT_LAYOUT.arg.offset + 8 * i, true);
  const kindByte = buf[EVENT_LAYOUT.kind.offset]!;
  const kind = kindByAbi(kindByte)?.name;
  if (kind === undefined) throw new RecordDecodeError('kind', buf.length, kindByte);
  const action = enumByte(ACTION_BY_VALUE, buf, 'action');
  const mechanism = enumByte(MECHANISM_BY_VALUE, buf, 'mechanism');
  const outcome = enumByte(OUTCOME_BY_VALUE, buf, 'outcome');
  const genByte = buf[EVENT_LAYOUT.gen.offset]!;
  if (genByte > 1) throw new RecordDecodeError('gen', buf.length, genByte);
  const gen: 0 | 1 = genByte === 1 ? 1 : 0;
  const flags = dv.getUint16(EVENT_LAYOUT.flags.offset, true);
  const path = cString(buf, EVENT_LAYOUT.path.offset, EVENT_LAYOUT.path.size);
  // the acting executable is the process's, not the target's
  const exe = flags & EV_F_EXE_PATH ? path : undefined;
  return {
    bootNs: dv.getBigUint64(EVENT_LAYOUT.ts_ns.offset, true),
    cgroupId: dv.getBigUint64(EVENT_LAYOUT.cgroup_id.offset, true),
    ruleId: u32('rule_id'),
    pid: u32('pid'),
    tgid: u32('tgid'),
    ppid: u32('ppid'),
    uid: u32('uid'),
    gid: u32('gid'),
    euid: u32('euid'),
    ret: dv.getInt32(EVENT_LAYOUT.ret.offset, true),
    kind,
    action,
    mechanism,
    op: buf[EVENT_LAYOUT.op.offset]!,
    outcome,
    slot: buf[EVENT_LAYOUT.slot.offset]!,
    flags: flags & ~EV_F_EXE_PATH,
    exeId: u32('exe_id'),
    gen,
    repeats: dv.getBigUint64(EVENT_LAYOUT.repeats.offset, true),
    target: dv.getBigUint64(EVENT_LAYOUT.target.offset, true),
    args: [argAt(0), argAt(1), argAt(2), argAt(3)],
    comm: cString(buf, EVENT_LAYOUT.comm.offset, EVENT_LAYOUT.comm.size),
    path: exe === undefined ? path : '',
    ...(exe !== undefined ? { exe } : {}),
    aux: buf.slice(EVENT_LAYOUT.aux.offset, EVENT_LAYOUT.aux.offset + EVENT_LAYOUT.aux.size),
  };
}

/** A bg_repeats key (struct bg_repeat_key), decoded; null when it names no known kind or outcome. */
export function decodeRepeatKey(key: Uint8Array): RepeatKey | null {
  if (key.length < Size.repeatKey) return null;
  const dv = new DataView(key.buffer, key.byteOffset, Size.repeatKey);
  const kind = kindByAbi(key[9]!)?.name;
  const outcome = OUTCOME_BY_VALUE.get(key[11]!);
  const gen = key[8]!;
  if (kind === undefined || outcome === undefined || gen > 1) return null;
  return {
    tgid: dv.getUint32(0, true),
    ruleId: dv.getUint32(4, true),
    gen: gen === 1 ? 1 : 0,
    kind,
    op: key[10]!,
    outcome,
    target: dv.getBigUint64(16, true),
  };
}

/** A bg_repeats key as the kernel writes it (struct bg_repeat_key). */
export function encodeRepeatKey(k: RepeatKey): Buffer {
  const b = Buffer.alloc(Size.repeatKey);
  b.writeUInt32LE(k.tgid, 0);
  b.writeUInt32LE(k.ruleId, 4);
  b[8] = k.gen;
  b[9] = Kind[k.kind];
  b[10] = k.op;
  b[11] = Outcome[k.outcome];
  b.writeBigUInt64LE(k.target, 16);
  return b;
}

/** One bg_repeats entry (struct bg_repeat_key, struct bg_repeat); null when its key does not decode. */
export function decodeRepeatCount(key: Uint8Array, value: Uint8Array): RepeatCount | null {
  const k = decodeRepeatKey(key);
  if (!k || value.length < Size.repeatVal) return null;
  const dv = new DataView(value.buffer, value.byteOffset, Size.repeatVal);
  return { key: k, sec: dv.getBigUint64(0, true), counted: dv.getBigUint64(8, true) };
}
