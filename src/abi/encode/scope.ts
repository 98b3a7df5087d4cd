// Scope and exception maps. Little-endian throughout.
//
//   bg_exceptions (HASH), 16-byte key -> u8 1:
//     exception_key := rule_id:u32 gen:u8 type:u8 pad:u16 value:u64
//       type  1 exe (value = exe id), 2 uid (value = uid),
//             3 cgroup (exactly this cgroup id), 4 cgroup subtree (it or any descendant)
//
//   bg_scope_cgroup (HASH), 16-byte key -> 16-byte value:
//     cgroup_key := cgroup_id:u64 gen:u8 pad:u8[7]
//     cgroup_val := self:u64 (slots selecting exactly this cgroup)
//                   subtree:u64 (slots selecting it and every descendant)
//
//   bg_scope_uid, bg_scope_exe (HASH), 8-byte key -> u64 slot mask:
//     id_key := id:u32 (uid, or exe id) gen:u8 pad:u8[3]
//
//   bg_exe_ids (HASH), no generation: key char[256] (absolute path, NUL-padded)
//     -> exe_id:u32 (>= 1)
//
//   bg_cgroup_watch (HASH), cgroup_key -> states:u16[16] (0 ends the list)
//   bg_cgroup_glob (HASH), id_key (id = state >= 1) -> 152 bytes:
//     self:u64 subtree:u64 next:u16 star:u8 prefix_len:u8 suffix_len:u8 pad:u8[3]
//     prefix:char[64] suffix:char[64] (NUL-padded)

import { EXE_MAX, ExceptionType, GLOB_PART_MAX, Size, WATCH_STATES } from '../layout.ts';
import type { MapEntry } from '../plan.ts';
import { ByteWriter } from './bytes.ts';

const ONE = '01';

function exceptionKey(ruleId: number, gen: number, type: number, value: bigint): string {
  return new ByteWriter(Size.exceptionKey).u32(ruleId).u8(gen).u8(type).u16(0).u64(value).hex();
}

export function encodeUidException(ruleId: number, uid: number, gen: number): MapEntry {
  return { key: exceptionKey(ruleId, gen, ExceptionType.uid, BigInt(uid)), value: ONE };
}

export function encodeEuidException(ruleId: number, euid: number, gen: number): MapEntry {
  return { key: exceptionKey(ruleId, gen, ExceptionType.euid, BigInt(euid)), value: ONE };
}

export function encodeExeException(ruleId: number, exeId: number, gen: number): MapEntry {
  return { key: exceptionKey(ruleId, gen, ExceptionType.exe, BigInt(exeId)), value: ONE };
}

/** For the loader: an `unless.cgroups` selector resolved to a cgroup id. */
export function encodeCgroupException(
  ruleId: number,
  cgroupId: bigint,
  subtree: boolean,
  gen: number,
): MapEntry {
  const type = subtree ? ExceptionType.cgroupSubtree : ExceptionType.cgroup;
  return { key: exceptionKey(ruleId, gen, type, cgroupId), value: ONE };
}

/** bg_cgroup_key: a cgroup under a generation (bg_scope_cgroup, bg_cgroup_watch). */
function cgroupKey(cgroupId: bigint, gen: number): string {
  return new ByteWriter(Size.cgroupKey).u64(cgroupId).u8(gen).pad(7).hex();
}

/** For the loader: the slots whose scope selects a cgroup (self) or its subtree. */
export function encodeCgroupScope(cgroupId: bigint, self: bigint, subtree: bigint, gen: number): MapEntry {
  return {
    key: cgroupKey(cgroupId, gen),
    value: new ByteWriter(Size.cgroupVal).u64(self).u64(subtree).hex(),
  };
}

/** bg_scope_uid and bg_scope_exe entries: an id and the slots it selects. */
export function encodeIdScope(id: number, mask: bigint, gen: number): MapEntry {
  return {
    key: new ByteWriter(Size.idKey).u32(id).u8(gen).pad(3).hex(),
    value: new ByteWriter(8).u64(mask).hex(),
  };
}

export function encodeExeId(path: string, exeId: number): MapEntry {
  const bytes = Buffer.from(path, 'utf8');
  if (bytes.length + 1 > EXE_MAX) throw new RangeError(`executable path of ${bytes.length} bytes`);
  return {
    key: new ByteWriter(EXE_MAX).bytes(bytes, EXE_MAX).hex(),
    value: new ByteWriter(4).u32(exeId).hex(),
  };
}

/** For the loader: the selector states a cgroup's future children are matched against. */
export function encodeCgroupWatch(cgroupId: bigint, states: readonly number[], gen: number): MapEntry {
  if (states.length > WATCH_STATES) throw new RangeError(`at most ${WATCH_STATES} states per cgroup`);
  const w = new ByteWriter(Size.cgroupWatch);
  for (let i = 0; i < WATCH_STATES; i++) w.u16(states[i] ?? 0);
  return { key: cgroupKey(cgroupId, gen), value: w.hex() };
}

/** One component of a selector: `prefix`, or `prefix*suffix` when `star`. */
export interface GlobState {
  state: number;
  self: bigint;
  subtree: bigint;
  next: number;
  star: boolean;
  prefix: string;
  suffix: string;
}

/** For the loader: a selector state (bg_cgroup_glob). */
export function encodeCgroupGlob(g: GlobState, gen: number): MapEntry {
  const part = (text: string) => {
    const b = Buffer.from(text, 'utf8');
    if (b.length >= GLOB_PART_MAX)
      throw new RangeError(`'${text}' is longer than ${GLOB_PART_MAX - 1} bytes`);
    return b;
  };
  const prefix = part(g.prefix);
  const suffix = part(g.suffix);
  const value = new ByteWriter(Size.cgroupGlob)
    .u64(g.self)
    .u64(g.subtree)
    .u16(g.next)
    .u8(g.star ? 1 : 0)
    .u8(prefix.length)
    .u8(suffix.length)
    .pad(3)
    .bytes(prefix, GLOB_PART_MAX)
    .bytes(suffix, GLOB_PART_MAX);
  return { key: new ByteWriter(Size.idKey).u32(g.state).u8(gen).pad(3).hex(), value: value.hex() };
}
