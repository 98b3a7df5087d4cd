// bg_gen_config and bg_state (ARRAY maps: the key is the u32 index).
// Little-endian throughout.
//
//   bg_gen_config[gen], 896 bytes:
//     gen_config := active_slots:u64      slots in use
//                   any_cgroup:u64        slots without a cgroup selector
//                   any_uid:u64           slots without a uid selector
//                   any_exe:u64           slots without an executable selector
//                   host_only:u64         slots limited to the host's pid namespace
//                   containers_only:u64   slots limited to other pid namespaces
//                   dryrun:u64            slots in audit mode
//                   kind_slots:u64[32]    index = bg_kind: slots with entries for the
//                                         kind, or an allowlist posture on it
//                   default_block:u64[32] index = bg_kind: slots where a miss blocks
//                                         (allowlist posture: exec, file, connect, bind)
//                   default_kill:u64[32]  index = bg_kind: of those, slots where the
//                                         posture achieves kill (a tracepoint serves
//                                         part of it): a miss is a kill
//                   default_action:u8[64] index = slot: bg_action for a miss in a
//                                         default-block slot (3 block); each program
//                                         applies it with its own mechanism (LSM and
//                                         cgroup deny, tracepoints kill or report)
//                   any_euid:u64          slots without an effective-uid selector
//
//   bg_state[0], 16 bytes:
//     state := active_gen:u32 host_pidns_inum:u32 daemon_tgid:u32 daemon_start:u32
import { KIND_MAX, MAX_SLOTS, Size } from '../layout.ts';
import type { MapEntry } from '../plan.ts';
import { ByteWriter } from './bytes.ts';

export interface GenConfig {
  activeSlots: bigint;
  anyCgroup: bigint;
  anyUid: bigint;
  anyEuid: bigint;
  anyExe: bigint;
  hostOnly: bigint;
  containersOnly: bigint;
  dryrun: bigint;
  /** length KIND_MAX, index = bg_kind */
  kindSlots: bigint[];
  /** length KIND_MAX, index = bg_kind */
  defaultBlock: bigint[];
  /** length KIND_MAX, index = bg_kind: the slots of defaultBlock whose posture achieves kill */
  defaultKill: bigint[];
  /** length MAX_SLOTS, index = slot */
  defaultAction: number[];
}

export function emptyGenConfig(): GenConfig {
  return {
    activeSlots: 0n,
    anyCgroup: 0n,
    anyUid: 0n,
    anyEuid: 0n,
    anyExe: 0n,
    hostOnly: 0n,
    containersOnly: 0n,
    dryrun: 0n,
    kindSlots: new Array<bigint>(KIND_MAX).fill(0n),
    defaultBlock: new Array<bigint>(KIND_MAX).fill(0n),
    defaultKill: new Array<bigint>(KIND_MAX).fill(0n),
    defaultAction: new Array<number>(MAX_SLOTS).fill(0),
  };
}

function arrayIndex(i: number): string {
  return new ByteWriter(4).u32(i).hex();
}

export function encodeGenConfig(gen: number, c: GenConfig): MapEntry {
  if ([c.kindSlots, c.defaultBlock, c.defaultKill].some((a) => a.length !== KIND_MAX)) {
    throw new RangeError(`kind arrays must have ${KIND_MAX} elements`);
  }
  if (c.defaultAction.length !== MAX_SLOTS) throw new RangeError(`defaultAction must have ${MAX_SLOTS}`);
  const w = new ByteWriter(Size.genConfig)
    .u64(c.activeSlots)
    .u64(c.anyCgroup)
    .u64(c.anyUid)
    .u64(c.anyExe)
    .u64(c.hostOnly)
    .u64(c.containersOnly)
    .u64(c.dryrun);
  for (const m of c.kindSlots) w.u64(m);
  for (const m of c.defaultBlock) w.u64(m);
  for (const m of c.defaultKill) w.u64(m);
  for (const a of c.defaultAction) w.u8(a);
  w.u64(c.anyEuid);
  return { key: arrayIndex(gen), value: w.hex() };
}

export interface State {
  activeGen: 0 | 1;
  hostPidnsInum: number;
  daemonTgid: number;
  /**
   * the daemon's start time, clock ticks since boot (/proc/<tgid>/stat field
   * 22) modulo 2^32: the exemption holds only for the process that started then
   */
  daemonStart: number;
}

/** For the loader: the single bg_state entry (the generation flip writes it). */
export function encodeState(s: State): MapEntry {
  return {
    key: arrayIndex(0),
    value: new ByteWriter(Size.state)
      .u32(s.activeGen)
      .u32(s.hostPidnsInum)
      .u32(s.daemonTgid)
      .u32(s.daemonStart >>> 0)
      .hex(),
  };
}
