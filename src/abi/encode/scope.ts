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

import { EXE_MAX, ExceptionType, Size } from '../layout.ts';
import type { MapEntry } from '../plan.ts';
import { ByteWriter } from './bytes.ts';

const ONE = '01';

function exceptionKey(ruleId: number, gen: number, type: number, value: bigint): string {
  return new ByteWriter(Size.exceptionKey).u32(ruleId).u8(gen).u8(type).u16(0).u64(value).hex();
}

export function encodeUidException(ruleId: number, uid: number, gen: number): MapEntry {
  return { key: exceptionKey(ruleId, gen, ExceptionType.uid, BigInt(uid)), value: ONE };
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

/** For the loader: the slots whose scope selects a cgroup (self) or its subtree. */
export function encodeCgroupScope(cgroupId: bigint, self: bigint, subtree: bigint, gen: number): MapEntry {
  return {
    key: new ByteWriter(Size.cgroupKey).u64(cgroupId).u8(gen).pad(7).hex(),
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
