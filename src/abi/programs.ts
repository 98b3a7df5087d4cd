// The programs in bpf/build/bpfgate.bpf.o: their function names, how each is
// attached and what it can do. The contract
// between the compiler (which plans them), the loader (which attaches them),
// the probe (which loads them) and bpf/*.bpf.c (which defines them). Pure.

import type { CgroupHook, Feature, FeatureSet } from './features.ts';

/** How a program is attached (libbpf's attach type names for cgroup hooks). */
export type AttachSpec =
  | { type: 'lsm'; hook: string }
  | { type: 'fmod_ret'; function: string /* a security_* function */ }
  | { type: 'cgroup'; attachType: string /* e.g. "cgroup_inet_sock_create" as libbpf names it */ }
  | { type: 'tp_btf'; event: string }
  | { type: 'raw_tracepoint'; event: string }
  | { type: 'kprobe'; function: string; cookie: number }
  /** a tcx link on an interface (Linux 6.6) */
  | { type: 'tcx'; ifname: string; direction: 'ingress' | 'egress' }
  /** an XDP link on an interface: auto = the driver's mode when it has one, else generic */
  | { type: 'xdp'; ifname: string; mode: 'auto' | 'native' | 'generic' }
  | UprobeAttach;

/** The ladder's rungs, strongest first (src/compiler/ladder.ts); tc and xdp serve only packet rules. */
export const FAMILIES = ['lsm', 'fmod_ret', 'cgroup', 'xdp', 'tc', 'tracepoint', 'kprobe', 'uprobe'] as const;
export type Family = (typeof FAMILIES)[number];

/**
 * A uprobe on a function of a binary or library, attached to the file's inode
 * (every path and hard link of it; a copy is another inode). The loader
 * resolves the symbol's file offset from the ELF (the compiler never reads the
 * file) and refuses to attach when `sha256` is given and the file differs.
 */
export interface UprobeAttach {
  type: 'uprobe';
  binary: string;
  symbol: string;
  /** a uretprobe: the function's return */
  retprobe: boolean;
  /** what the program reads (src/kinds/uprobe.ts CAPTURE) */
  capture: number;
  /** the rule id */
  cookie: number;
  sha256?: string;
}

/**
 * The file a uprobe is bound to, as the kernel names it: the device
 * (major:minor, as /proc/self/mountinfo prints it) and the inode number
 * (decimal). The loader reads it from the file it attached through.
 */
export interface BinaryInode {
  device: string;
  inode: string;
}

/** The 64-bit attach cookie of a uprobe: rule id | capture << 32 | return << 40 (bpf/kinds/uprobe.h). */
export function uprobeCookie(a: UprobeAttach): bigint {
  return BigInt(a.cookie >>> 0) | (BigInt(a.capture & 0xff) << 32n) | (a.retprobe ? 1n << 40n : 0n);
}

export interface ProgramInfo {
  family: Family;
  attach: AttachSpec;
  /** can it deny (return an error to the caller) */
  canDeny: boolean;
  /** can it kill the caller (bpf_send_signal) */
  canKill: boolean;
  /**
   * when a kill takes effect: 'new-image', before the new program's first
   * instruction (an exec); 'after-call', on return from the system call, which
   * has completed; 'after-entry', once the user-space function was entered (or
   * had returned, for a return probe)
   */
  kills?: 'new-image' | 'after-call' | 'after-entry';
  /** relative cost per run (default 1): what an audit rule weighs when it may choose its hook */
  cost?: number;
  /** cgroup programs: the hook, as the feature set names it */
  hook?: CgroupHook;
  /**
   * attached once per rule, where the rule's kind says (RuleKindDef.attachments),
   * with the rule id as the attach cookie; `attach` is only the template
   */
  perRule?: true;
  /**
   * LSM programs that decide on paths (exec and file): loaded only where
   * bpf_d_path works in LSM hooks (file_open and bprm_check_security call it;
   * the path_* programs, which walk the dentries, go with them)
   */
  paths?: true;
  /** fmod_ret programs: the BPF-LSM program on the same hook, which serves it wherever it runs */
  twin?: string;
  /** cgroup_skb programs: packets of the sockets in the attach cgroup's subtree (feature cgroupSkb) */
  skb?: true;
  /** a sleepable LSM program that hashes files with bpf_ima_file_hash (feature exeContent) */
  content?: true;
}

const lsm = (hook: string, paths?: true): ProgramInfo => ({
  family: 'lsm',
  attach: { type: 'lsm', hook },
  canDeny: true,
  canKill: true,
  ...(paths ? { paths } : {}),
});

/**
 * A security_* hook (bpf/security.bpf.c BG_SECURITY_HOOK): the BPF-LSM
 * program bg_lsm_<name> on lsm/<hook>, and its twin bg_fmr_<name>, fmod_ret on
 * the function <fn> itself, for kernels where BPF-LSM is built but not active.
 * Both deny before the action (and kill when asked); kinds list the BPF-LSM
 * program, and its twin serves wherever it does not run.
 */
function security<N extends string>(
  name: N,
  hook: string,
  fn: string,
  paths?: true,
): Record<`bg_lsm_${N}` | `bg_fmr_${N}`, ProgramInfo> {
  const twin: ProgramInfo = {
    family: 'fmod_ret',
    attach: { type: 'fmod_ret', function: fn },
    canDeny: true,
    canKill: true,
    twin: `bg_lsm_${name}`,
  };
  return { [`bg_lsm_${name}`]: lsm(hook, paths), [`bg_fmr_${name}`]: twin } as Record<
    `bg_lsm_${N}` | `bg_fmr_${N}`,
    ProgramInfo
  >;
}
/** A raw sys_enter program: it kills on return from the call, which has completed. */
const sysEnter = (): ProgramInfo => ({
  family: 'tracepoint',
  attach: { type: 'raw_tracepoint', event: 'sys_enter' },
  canDeny: false,
  canKill: true,
  kills: 'after-call',
  // it runs on every system call of every process
  cost: 3,
});
const cg = (hook: CgroupHook, attachType: string): ProgramInfo => ({
  family: 'cgroup',
  attach: { type: 'cgroup', attachType },
  canDeny: true,
  canKill: false,
  hook,
});
const cgskb = (attachType: string): ProgramInfo => ({
  family: 'cgroup',
  attach: { type: 'cgroup', attachType },
  canDeny: true,
  canKill: false,
  skb: true,
});

/**
 * Every program, by its function name. Which rule kinds each serves is the
 * kinds' business (src/kinds/: each kind lists its hooks); the kinds' BPF
 * decision functions are in bpf/kinds/.
 */
export const PROGRAMS = {
  // security_* hooks: BPF-LSM, or fmod_ret on the same function; deny with
  // -EPERM before the action happens (and kill when asked)
  ...security('bprm_check', 'bprm_check_security', 'security_bprm_check', true),
  ...security('file_open', 'file_open', 'security_file_open', true),
  ...security('path_mknod', 'path_mknod', 'security_path_mknod', true),
  ...security('path_unlink', 'path_unlink', 'security_path_unlink', true),
  ...security('path_rename', 'path_rename', 'security_path_rename', true),
  ...security('path_chmod', 'path_chmod', 'security_path_chmod', true),
  ...security('path_chown', 'path_chown', 'security_path_chown', true),
  ...security('path_link', 'path_link', 'security_path_link', true),
  ...security('path_truncate', 'path_truncate', 'security_path_truncate', true),
  ...security('inode_setxattr', 'inode_setxattr', 'security_inode_setxattr', true),
  ...security('inode_removexattr', 'inode_removexattr', 'security_inode_removexattr', true),
  ...security('path_mkdir', 'path_mkdir', 'security_path_mkdir', true),
  ...security('path_symlink', 'path_symlink', 'security_path_symlink', true),
  ...security('capable', 'capable', 'security_capable'),
  ...security('kernel_read_file', 'kernel_read_file', 'security_kernel_read_file'),
  ...security('kernel_load_data', 'kernel_load_data', 'security_kernel_load_data'),
  ...security('bpf', 'bpf', 'security_bpf'),
  ...security('ptrace', 'ptrace_access_check', 'security_ptrace_access_check'),
  ...security('sb_mount', 'sb_mount', 'security_sb_mount'),
  /** move_mount(2): the new mount API's attach (fsmount, open_tree clones) and moves */
  ...security('move_mount', 'move_mount', 'security_move_mount'),
  ...security('sb_umount', 'sb_umount', 'security_sb_umount'),
  ...security('sb_pivotroot', 'sb_pivotroot', 'security_sb_pivotroot'),
  ...security('task_fix_setuid', 'task_fix_setuid', 'security_task_fix_setuid'),
  ...security('task_fix_setgid', 'task_fix_setgid', 'security_task_fix_setgid'),
  ...security('task_fix_setgroups', 'task_fix_setgroups', 'security_task_fix_setgroups'),
  ...security('capset', 'capset', 'security_capset'),
  /** unshare and clone with CLONE_NEWUSER (the function is security_create_user_ns) */
  ...security('userns_create', 'userns_create', 'security_create_user_ns'),
  /** sockets of every family (kernel-internal sockets are ignored) */
  ...security('socket_create', 'socket_create', 'security_socket_create'),
  /** listen() on a socket never bound: a bind to a port the kernel picks, which no bind hook sees */
  ...security('socket_listen', 'socket_listen', 'security_socket_listen'),
  /** exec rules on a file mapped executable (mmap PROT_EXEC; mprotect adding it): the dynamic loader, a loader of one's own */
  ...security('mmap_file', 'mmap_file', 'security_mmap_file', true),
  ...security('file_mprotect', 'file_mprotect', 'security_file_mprotect', true),
  /**
   * exceptions by content alone: the SHA-256 of the file each exec runs (sleepable, with
   * bpf_ima_file_hash; feature exeContent), after the point of no return; never denies
   */
  bg_lsm_exe_content: {
    family: 'lsm',
    attach: { type: 'lsm', hook: 'bprm_committed_creds' },
    canDeny: false,
    canKill: false,
    content: true,
  },
  // cgroup hooks: deny (EPERM) for processes in the attach cgroup's subtree
  /** inet and inet6 sockets only (the hook runs in inet_create/inet6_create) */
  bg_cg_sock_create: cg('sock_create', 'cgroup_inet_sock_create'),
  /** connect(), and TCP fast open (sendto with MSG_FASTOPEN connects inside sendmsg) */
  bg_cg_connect4: cg('connect4', 'cgroup_inet4_connect'),
  bg_cg_connect6: cg('connect6', 'cgroup_inet6_connect'),
  /** UDP datagrams sent with a destination address (no connect): sendto, sendmsg, sendmmsg */
  bg_cg_sendmsg4: cg('sendmsg4', 'cgroup_udp4_sendmsg'),
  bg_cg_sendmsg6: cg('sendmsg6', 'cgroup_udp6_sendmsg'),
  bg_cg_bind4: cg('bind4', 'cgroup_inet4_bind'),
  bg_cg_bind6: cg('bind6', 'cgroup_inet6_bind'),
  bg_cg_dev: cg('dev', 'cgroup_device'),
  bg_cg_sysctl: cg('sysctl', 'cgroup_sysctl'),
  // tracepoints: kill or audit where BPF-LSM is missing; plus executable tracking
  /** exec rules: kills the new program before its first instruction; tracks exe ids */
  bg_tp_exec: {
    family: 'tracepoint',
    attach: { type: 'tp_btf', event: 'sched_process_exec' },
    canDeny: false,
    canKill: true,
    kills: 'new-image',
  },
  bg_tp_fork: {
    family: 'tracepoint',
    attach: { type: 'tp_btf', event: 'sched_process_fork' },
    canDeny: false,
    canKill: false,
  },
  bg_tp_exit: {
    family: 'tracepoint',
    attach: { type: 'tp_btf', event: 'sched_process_exit' },
    canDeny: false,
    canKill: false,
  },
  /** a cgroup made after the set was applied: in scope of the selectors without ** that match it (bpf/lib/cgwatch.h) */
  bg_tp_cgroup_mkdir: {
    family: 'tracepoint',
    attach: { type: 'tp_btf', event: 'cgroup_mkdir' },
    canDeny: false,
    canKill: false,
  },
  /** a cgroup removed: what the programs and the loader wrote for it goes */
  bg_tp_cgroup_rmdir: {
    family: 'tracepoint',
    attach: { type: 'tp_btf', event: 'cgroup_rmdir' },
    canDeny: false,
    canKill: false,
  },
  /**
   * system-call entry: file, module, bpf, ptrace, mount, setuid and socket
   * without BPF-LSM, from the call's arguments. The call itself still runs.
   */
  bg_tp_sys_enter: sysEnter(),
  /**
   * system-call entry too, for listen() on a socket never bound without
   * BPF-LSM: a program of its own, attached only for bind rules (inlined in
   * bg_tp_sys_enter, it made that program too large for Debian 6.1's verifier)
   */
  bg_tp_sys_listen: sysEnter(),
  // kprobes: audit calls of a kernel function, attached once per rule (the attach cookie is the rule id)
  bg_kprobe: {
    family: 'kprobe',
    attach: { type: 'kprobe', function: '', cookie: 0 },
    canDeny: false,
    canKill: false,
    perRule: true,
  },
  // packets on named interfaces (ingress and egress rules), attached once per interface and direction
  /** tcx ingress: drops before the packet reaches sockets */
  bg_tc_ingress: {
    family: 'tc',
    attach: { type: 'tcx', ifname: '', direction: 'ingress' },
    canDeny: true,
    canKill: false,
    perRule: true,
  },
  /** tcx egress: drops before the packet leaves the interface */
  bg_tc_egress: {
    family: 'tc',
    attach: { type: 'tcx', ifname: '', direction: 'egress' },
    canDeny: true,
    canKill: false,
    perRule: true,
  },
  /** XDP: drops before the network stack (native or generic mode) */
  /** cgroup_skb ingress: drops before the packet reaches a socket of a scoped cgroup */
  bg_cgskb_ingress: cgskb('cgroup_inet_ingress'),
  /** cgroup_skb egress: drops a scoped socket's packet before it leaves (the sender: EPERM) */
  bg_cgskb_egress: cgskb('cgroup_inet_egress'),
  bg_xdp_ingress: {
    family: 'xdp',
    attach: { type: 'xdp', ifname: '', mode: 'auto' },
    canDeny: true,
    canKill: false,
    perRule: true,
  },
  // uprobes: entries of (and returns from) a user-space function, attached once per rule on the binary's inode
  bg_uprobe: {
    family: 'uprobe',
    attach: { type: 'uprobe', binary: '', symbol: '', retprobe: false, capture: 0, cookie: 0 },
    canDeny: false,
    canKill: true,
    kills: 'after-entry',
    perRule: true,
  },
} as const satisfies Record<string, ProgramInfo>;

export type ProgramName = keyof typeof PROGRAMS;

/** Always loaded where tracepoints work: they keep bg_task_exe (acting executable ids) current. */
export const TRACKING_PROGRAMS: ProgramName[] = ['bg_tp_exec', 'bg_tp_fork', 'bg_tp_exit'];

/** Loaded where a rule excepts programs by content alone (and BPF-LSM hashes files): their SHA-256 at each exec. */
export const CONTENT_PROGRAMS: ProgramName[] = ['bg_lsm_exe_content'];

/** Loaded where tracepoints work for policies scoped to cgroups: cgroups made later are matched as they are made. */
export const CGROUP_TRACKING_PROGRAMS: ProgramName[] = ['bg_tp_cgroup_mkdir', 'bg_tp_cgroup_rmdir'];

const NOT_PROBED_CONTENT: Feature = {
  available: false,
  reason: 'not probed (a feature set from before exceptions by content)',
};

const NOT_PROBED: Feature = {
  available: false,
  reason: 'not probed (a feature set without tcx, xdp and cgroup_skb)',
};

/** Whether a program loads and attaches on this kernel, and what the probe saw. */
export function availability(name: ProgramName, f: FeatureSet): Feature {
  const p: ProgramInfo = PROGRAMS[name];
  switch (p.family) {
    case 'lsm': {
      if (!f.lsm.available) return f.lsm;
      if (p.content) return f.exeContent ?? NOT_PROBED_CONTENT;
      return p.paths && !f.lsmDPath.available ? f.lsmDPath : f.lsm;
    }
    case 'fmod_ret': {
      // the rung for kernels where BPF-LSM is built but not active: never beside its BPF-LSM twin
      const twin = p.twin as ProgramName | undefined;
      if (twin && availability(twin, f).available) {
        return {
          available: false,
          reason: `BPF-LSM serves this hook (${attachText(PROGRAMS[twin].attach)})`,
        };
      }
      if (!f.fmodRet.available) return f.fmodRet;
      const fn = p.attach.type === 'fmod_ret' ? p.attach.function : '';
      return (
        f.fmodRetHooks[fn] ?? {
          available: false,
          reason: `${fn} was not probed (a feature set from before the fmod_ret rung)`,
        }
      );
    }
    case 'cgroup':
      if (p.skb) return f.cgroupSkb ?? NOT_PROBED;
      return p.hook ? f.cgroupHooks[p.hook] : { available: false, reason: 'unknown cgroup hook' };
    case 'tracepoint':
      return f.tracepoints;
    case 'kprobe':
      return f.kprobes;
    case 'tc':
      return f.tcx ?? NOT_PROBED;
    case 'xdp':
      return f.xdp ?? NOT_PROBED;
    case 'uprobe':
      return f.uprobes;
  }
}

/** The fmod_ret twin of a BPF-LSM program, if it has one. */
export function twinOf(name: ProgramName): ProgramName | undefined {
  return (Object.keys(PROGRAMS) as ProgramName[]).find((n) => (PROGRAMS[n] as ProgramInfo).twin === name);
}

/** The cgroup program on a hook. */
export function cgroupProgram(hook: CgroupHook): ProgramName {
  const name = (Object.keys(PROGRAMS) as ProgramName[]).find(
    (n) => (PROGRAMS[n] as ProgramInfo).hook === hook,
  );
  if (!name) throw new Error(`no program on cgroup hook ${hook}`);
  return name;
}

/** An attach point as users know it: "lsm/file_open", "fmod_ret/security_file_open", "cgroup_device", "kprobe/commit_creds". */
export function attachText(a: AttachSpec): string {
  switch (a.type) {
    case 'lsm':
      return `lsm/${a.hook}`;
    case 'fmod_ret':
      return `fmod_ret/${a.function}`;
    case 'cgroup':
      return a.attachType;
    case 'tp_btf':
      return `tp_btf/${a.event}`;
    case 'raw_tracepoint':
      return `raw_tp/${a.event}`;
    case 'kprobe':
      return a.function ? `kprobe/${a.function}` : 'kprobe';
    case 'tcx':
      return a.ifname ? `tcx/${a.direction}/${a.ifname}` : `tcx/${a.direction}`;
    case 'xdp':
      return a.ifname ? `xdp/${a.ifname} (${a.mode})` : 'xdp';
    case 'uprobe':
      return a.binary ? `${a.retprobe ? 'uretprobe' : 'uprobe'}/${a.binary}:${a.symbol}` : 'uprobe';
  }
}
