// User-space mirror of bpf/lib/abi.h. Every value here MUST MATCH the header;
// test/unit/abi-layout.test.ts checks sizes and offsets against the BTF of the
// built object. A kind's number and its operations are the kind's own
// (src/kinds/<kind>.ts, bpf/kinds/<kind>.h). Pure constants: no I/O.
import { Numbered } from './numbers.ts';

export const MAX_SLOTS = 64;
/** rule kinds (enum bg_kind) are 1 .. KIND_MAX - 1: the size of bg_gen_config's per-kind arrays */
export const KIND_MAX = 32;
export const PATH_MAX = 252; // bytes of path in an LPM key, NUL included
export const EXE_MAX = 256;
export const AUX_MAX = 128;
export const COMM_LEN = 16;
export const ANY = 0xffffffff;
export const CGROUP_DEPTH_MAX = 16;
export const RULE_DEFAULT = 0x80000000;

export const Action = { none: 0, allow: 1, audit: 2, block: 3, kill: 4 } as const;
export type ActionName = keyof typeof Action;
export const Mechanism = {
  lsm: 1,
  cgroup: 2,
  tracepoint: 3,
  kprobe: 4,
  fmod_ret: 5,
  uprobe: 6,
  tc: 7,
  xdp: 8,
} as const;
export type MechanismName = keyof typeof Mechanism;
/**
 * killed: before anything happened (BPF-LSM and fmod_ret: denied and killed) or
 * before the new program's first instruction (sched_process_exec);
 * killed-after: on return from a system call that completed (sys_enter)
 */
export const Outcome = {
  denied: 1,
  killed: 2,
  allowed: 3,
  'would-block': 4,
  'would-kill': 5,
  'killed-after': 6,
  'would-kill-after': 7,
} as const;
export type OutcomeName = keyof typeof Outcome;
/** The outcomes of audit mode: nothing was denied or killed. */
export const WOULD_OUTCOMES: readonly OutcomeName[] = ['would-block', 'would-kill', 'would-kill-after'];
export const ExceptionType = { exe: 1, uid: 2, cgroup: 3, cgroupSubtree: 4, euid: 5 } as const;

export const VAL_F_DRYRUN = 0x01;
/** the rule excepts effective uids: the programs read the credential for it (BG_VAL_F_EXC_EUID) */
export const VAL_F_EXC_EUID = 0x02;
export const EV_F_PATH_TRUNCATED = 0x0001;
export const EV_F_EXE_UNKNOWN = 0x0002;
/** the record's path is the acting executable (the decoder moves it to DecodedRecord.exe; not an event flag) */
export const EV_F_EXE_PATH = 0x0004;
/** the path could not be built (longer than the buffer, deeper than the walk, refused by
 * bpf_d_path) and was decided fail-closed (the event's `unresolved: true`; not in `flags`) */
export const EV_F_UNRESOLVED = 0x0008;
/** bg_path_rules: the target of a path the programs could not build (BG_PATH_UNRESOLVED_KEY) */
export const PATH_UNRESOLVED_TARGET = '\x01';
/** bg_path_rules: the target of a file with no name in any file system (BG_PATH_FILELESS_KEY) */
export const PATH_FILELESS_TARGET = '\x02';
/** bg_path_rules: a file an inode hook is given on a file system other than the root's (BG_PATH_FOREIGN_KEY): rules on "/" decide it */
export const PATH_FOREIGN_TARGET = '\x03';
/** bg_task_exe: the exe id of a process whose executable's path could not be built, or that runs another file than the one its path names (BG_EXE_ID_UNRESOLVED) */
export const EXE_ID_UNRESOLVED = 0xffffffff;
/** bg_exe_ids value bit: the path names a file this host has (BG_EXE_ID_BOUND); the id is the rest (EXE_ID_MASK) */
export const EXE_ID_BOUND = 0x80000000;
export const EXE_ID_MASK = 0x7fffffff;
/**
 * bg_task_exe value bit: the process runs the file with the content an exception pins
 * (BG_EXE_ID_VERIFIED); bg_scope_exe and the exceptions of unpinned executables hold the id
 * with and without it
 */
export const EXE_ID_VERIFIED = 0x40000000;
/** The exe-id name of a digest an exception names alone (bg_exe_ids keys; never a path). */
export const contentExeKey = (sha256: string): string => `sha256:${sha256}`;
/** Whether an exe-id name is a digest's, not a path. */
export const isContentExe = (name: string): boolean => name.startsWith('sha256:');
/** The exe id a bg_task_exe value (or a record's exe id) names, without BG_EXE_ID_VERIFIED. */
export const plainExeId = (id: number): number =>
  id === EXE_ID_UNRESOLVED ? id : (id & ~EXE_ID_VERIFIED) >>> 0;
/** the last cgroup of the chain when the cgroup is deeper than the walk */
export const CGROUP_ID_UNRESOLVED = 0xffffffffffffffffn;
/** bg_event.flags by the names events give them. */
export const EVENT_FLAG = new Numbered('event flag', {
  'path-truncated': EV_F_PATH_TRUNCATED,
  'exe-unknown': EV_F_EXE_UNKNOWN,
});

export const Stat = {
  events: 0,
  ringbufDrops: 1,
  denied: 2,
  killed: 3,
  dropsReported: 4,
  /** dry runs: would-block/would-kill execs after one already reported up the same process chain (bpf/kinds/exec.h) */
  auditFollowups: 5,
  /** cgroups made after the set was applied that a selector matched, left out: a scope map was full (bpf/lib/cgwatch.h) */
  cgroupScopeFull: 6,
  /** violations counted without a record: one process repeating one violation past the records a second (bpf/lib/event.h) */
  repeats: 7,
  max: 8,
} as const;

/** Map names in the BPF object (bpf/lib/maps.h). */
export const MapName = {
  pathRules: 'bg_path_rules',
  /** every bg_path_rules key with its slot and op bytes 0: does any slot have a rule for a prefix of this path? */
  pathAny: 'bg_path_any',
  rules: 'bg_rules',
  netRules: 'bg_net_rules',
  exceptions: 'bg_exceptions',
  scopeCgroup: 'bg_scope_cgroup',
  scopeUid: 'bg_scope_uid',
  /** effective uid, gen -> slots (scope.euids) */
  scopeEuid: 'bg_scope_euid',
  scopeExe: 'bg_scope_exe',
  exeIds: 'bg_exe_ids',
  /** (device, inode) -> exe id: the named executables by what they are (no generation) */
  exeIdents: 'bg_exe_idents',
  /** (device, inode) -> change time and size when its pinned digest was measured (no generation) */
  exeVerified: 'bg_exe_verified',
  /** SHA-256 → exe id: the digests exceptions name alone (no generation, like the ids) */
  exeContents: 'bg_exe_contents',
  /** (device, inode) → change time, size, SHA-256: bg_lsm_exe_content's, by identity */
  contentCache: 'bg_content_cache',
  /** tgid → the exe id of its content, from bg_lsm_exe_content to bg_tp_exec */
  taskContent: 'bg_task_content',
  taskExe: 'bg_task_exe',
  genConfig: 'bg_gen_config',
  state: 'bg_state',
  stats: 'bg_stats',
  /** (tgid, rule, gen, kind, op, outcome) -> repeats counted without a record (bpf/lib/event.h) */
  repeats: 'bg_repeats',
  /** the same keys -> the count the daemon reported (written by the daemon only, read when pins are adopted) */
  repeatsReported: 'bg_repeats_reported',
  /** per rule (index: rule id), per CPU: packets, bytes, events, suppressed (ingress and egress rules) */
  packetCounts: 'bg_pkt_counts',
  events: 'bg_events',
  /** (device, inode) -> the path a file rule names for it (lib/ident.h) */
  fileIds: 'bg_file_ids',
  /** (cgroup id, gen) -> the selector states its children are matched against when made (lib/cgwatch.h) */
  cgroupWatch: 'bg_cgroup_watch',
  /** (state, gen) -> one component of a selector: its pattern, its slots, the next state */
  cgroupGlob: 'bg_cgroup_glob',
  /** cgroup id -> the cgroup part of the scope, as the programs computed it (no generation key: its value holds it) */
  scopeCache: 'bg_scope_cache',
  /** [0] the daemon's, [1] the kernel's count of bg_scope_cgroup writes: a cached scope of another count is stale */
  scopeEpoch: 'bg_scope_epoch',
} as const;

/** Indexes of bg_scope_epoch (BG_EPOCH_DAEMON, BG_EPOCH_KERNEL). */
export const ScopeEpoch = { daemon: 0, kernel: 1 } as const;

/** States one cgroup's children are matched against (BG_WATCH_STATES). */
export const WATCH_STATES = 16;
/** Bytes of a component's text before or after its '*' (BG_GLOB_PART_MAX, NUL included). */
export const GLOB_PART_MAX = 64;

/** Byte sizes of the keys and values (little-endian, natural alignment). */
export const Size = {
  pathKey: 4 + 4 + PATH_MAX, // 260
  ruleKey: 16,
  netKey: 4 + 4 + 4 + 16, // 28
  ruleVal: 8,
  exceptionKey: 16,
  cgroupKey: 16,
  cgroupVal: 16,
  idKey: 8,
  genConfig: 8 * 7 + 8 * KIND_MAX * 3 + MAX_SLOTS + 8, // 896
  state: 16,
  fileIdKey: 16,
  /** struct bg_exe_verified_val */
  exeVerifiedVal: 24,
  fileIdVal: 4 + PATH_MAX, // 256
  cgroupWatch: 2 * WATCH_STATES, // 32
  cgroupGlob: 8 + 8 + 2 + 1 + 1 + 1 + 3 + 2 * GLOB_PART_MAX, // 152
  /** tgid:u32 rule_id:u32 gen:u8 kind:u8 op:u8 outcome:u8 pad:u32 target:u64 */
  repeatKey: 24,
  /** sec:u64 counted:u64 in_sec:u32 pad:u32 */
  repeatVal: 24,
} as const;

/** bg_repeats' capacity (BG_REPEATS_MAX in bpf/lib/maps.h): keys past it are not aggregated */
export const REPEAT_KEYS_MAX = 16384;

/** Byte offset and size of each member of struct bg_event (little-endian, natural alignment). */
export const EVENT_LAYOUT = {
  ts_ns: { offset: 0, size: 8 },
  cgroup_id: { offset: 8, size: 8 },
  rule_id: { offset: 16, size: 4 },
  pid: { offset: 20, size: 4 },
  tgid: { offset: 24, size: 4 },
  ppid: { offset: 28, size: 4 },
  uid: { offset: 32, size: 4 },
  gid: { offset: 36, size: 4 },
  euid: { offset: 40, size: 4 },
  ret: { offset: 44, size: 4 },
  kind: { offset: 48, size: 1 },
  action: { offset: 49, size: 1 },
  mechanism: { offset: 50, size: 1 },
  op: { offset: 51, size: 1 },
  outcome: { offset: 52, size: 1 },
  slot: { offset: 53, size: 1 },
  flags: { offset: 54, size: 2 },
  exe_id: { offset: 56, size: 4 },
  gen: { offset: 60, size: 1 },
  pad: { offset: 61, size: 3 },
  repeats: { offset: 64, size: 8 },
  target: { offset: 72, size: 8 },
  arg: { offset: 80, size: 8 * 4 },
  comm: { offset: 112, size: COMM_LEN },
  path: { offset: 128, size: EXE_MAX },
  aux: { offset: 384, size: AUX_MAX },
} as const;

export type EventField = keyof typeof EVENT_LAYOUT;

/** sizeof(struct bg_event) */
export const EVENT_SIZE = 512;

/** FNV-1a, 32 bit, over the bytes of a string (mount filesystem types). Mirrors bg_fnv1a32() in bpf/lib. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
