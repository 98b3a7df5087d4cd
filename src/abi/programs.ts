// The programs in bpf/build/bpfgate.bpf.o: their function names, how each is
// attached, what it can do, and which rule kinds it serves. The contract
// between the compiler (which plans them), the loader (which attaches them),
// the probe (which loads them) and bpf/*.bpf.c (which defines them). Pure.

import type { RuleKind } from '../policy/model.ts';
import type { CgroupHook, Feature, FeatureSet } from './features.ts';

/** How a program is attached (libbpf's attach type names for cgroup hooks). */
export type AttachSpec =
  | { type: 'lsm'; hook: string }
  | { type: 'cgroup'; attachType: string /* e.g. "cgroup_inet_sock_create" as libbpf names it */ }
  | { type: 'tp_btf'; event: string }
  | { type: 'raw_tracepoint'; event: string }
  | { type: 'kprobe'; function: string; cookie: number };

export type Family = 'lsm' | 'cgroup' | 'tracepoint' | 'kprobe';

export interface ProgramInfo {
  family: Family;
  attach: AttachSpec;
  kinds: RuleKind[];
  /** for file/mount/...: which operations of the kind it decides (by name) */
  ops?: string[];
  /** can it deny (return an error to the caller) */
  canDeny: boolean;
  /** can it kill the caller (bpf_send_signal) */
  canKill: boolean;
  /** cgroup programs: the hook, as the feature set names it */
  hook?: CgroupHook;
}

const lsm = (hook: string, kinds: RuleKind[], ops?: string[]): ProgramInfo => ({
  family: 'lsm',
  attach: { type: 'lsm', hook },
  kinds,
  ...(ops ? { ops } : {}),
  canDeny: true,
  canKill: true,
});
const cg = (hook: CgroupHook, attachType: string, kinds: RuleKind[]): ProgramInfo => ({
  family: 'cgroup',
  attach: { type: 'cgroup', attachType },
  kinds,
  canDeny: true,
  canKill: false,
  hook,
});

export const PROGRAMS = {
  // BPF-LSM: deny with -EPERM before the action happens (and kill when asked)
  bg_lsm_bprm_check: lsm('bprm_check_security', ['exec']),
  bg_lsm_file_open: lsm('file_open', ['file'], ['read', 'write']),
  bg_lsm_path_mknod: lsm('path_mknod', ['file'], ['create']),
  bg_lsm_path_unlink: lsm('path_unlink', ['file'], ['unlink']),
  bg_lsm_path_rename: lsm('path_rename', ['file'], ['rename']),
  bg_lsm_path_chmod: lsm('path_chmod', ['file'], ['chmod']),
  bg_lsm_path_chown: lsm('path_chown', ['file'], ['chown']),
  bg_lsm_path_link: lsm('path_link', ['file'], ['link']),
  bg_lsm_path_truncate: lsm('path_truncate', ['file'], ['truncate']),
  bg_lsm_capable: lsm('capable', ['capability']),
  bg_lsm_kernel_read_file: lsm('kernel_read_file', ['module'], ['file']),
  bg_lsm_kernel_load_data: lsm('kernel_load_data', ['module'], ['data']),
  bg_lsm_bpf: lsm('bpf', ['bpf']),
  bg_lsm_ptrace: lsm('ptrace_access_check', ['ptrace']),
  bg_lsm_sb_mount: lsm('sb_mount', ['mount'], ['mount']),
  bg_lsm_sb_umount: lsm('sb_umount', ['mount'], ['umount']),
  bg_lsm_sb_pivotroot: lsm('sb_pivotroot', ['mount'], ['pivot_root']),
  bg_lsm_task_fix_setuid: lsm('task_fix_setuid', ['setuid']),
  /** sockets of every family (kernel-internal sockets are ignored) */
  bg_lsm_socket_create: lsm('socket_create', ['socket']),
  // cgroup hooks: deny (EPERM) for processes in the attach cgroup's subtree
  /** inet and inet6 sockets only (the hook runs in inet_create/inet6_create) */
  bg_cg_sock_create: cg('sock_create', 'cgroup_inet_sock_create', ['socket']),
  bg_cg_connect4: cg('connect4', 'cgroup_inet4_connect', ['connect']),
  bg_cg_connect6: cg('connect6', 'cgroup_inet6_connect', ['connect']),
  bg_cg_bind4: cg('bind4', 'cgroup_inet4_bind', ['bind']),
  bg_cg_bind6: cg('bind6', 'cgroup_inet6_bind', ['bind']),
  bg_cg_dev: cg('dev', 'cgroup_device', ['device']),
  bg_cg_sysctl: cg('sysctl', 'cgroup_sysctl', ['sysctl']),
  // tracepoints: kill (SIGKILL before the process runs another instruction of
  // its own) or audit, where BPF-LSM is missing; plus executable tracking
  bg_tp_exec: {
    family: 'tracepoint',
    attach: { type: 'tp_btf', event: 'sched_process_exec' },
    kinds: ['exec'],
    canDeny: false,
    canKill: true,
  },
  bg_tp_fork: {
    family: 'tracepoint',
    attach: { type: 'tp_btf', event: 'sched_process_fork' },
    kinds: [],
    canDeny: false,
    canKill: false,
  },
  bg_tp_exit: {
    family: 'tracepoint',
    attach: { type: 'tp_btf', event: 'sched_process_exit' },
    kinds: [],
    canDeny: false,
    canKill: false,
  },
  /**
   * system-call entry: file, module, bpf, ptrace, mount, setuid and socket
   * without BPF-LSM. The call itself still runs. Sockets: families other than
   * inet and inet6 only (those are bg_cg_sock_create's), and only while
   * bg_lsm_socket_create has not run.
   */
  bg_tp_sys_enter: {
    family: 'tracepoint',
    attach: { type: 'raw_tracepoint', event: 'sys_enter' },
    kinds: ['file', 'module', 'bpf', 'ptrace', 'mount', 'setuid', 'socket'],
    canDeny: false,
    canKill: true,
  },
  // kprobes: audit calls of a kernel function (the attach cookie is the rule id)
  bg_kprobe: {
    family: 'kprobe',
    attach: { type: 'kprobe', function: '', cookie: 0 },
    kinds: ['kprobe'],
    canDeny: false,
    canKill: false,
  },
} as const satisfies Record<string, ProgramInfo>;

export type ProgramName = keyof typeof PROGRAMS;

/** Always loaded where tracepoints work: they keep bg_task_exe (acting executable ids) current. */
export const TRACKING_PROGRAMS: ProgramName[] = ['bg_tp_exec', 'bg_tp_fork', 'bg_tp_exit'];

/** Whether a program loads and attaches on this kernel, and what the probe saw. */
export function availability(name: ProgramName, f: FeatureSet): Feature {
  const p: ProgramInfo = PROGRAMS[name];
  switch (p.family) {
    case 'lsm': {
      if (!f.lsm.available) return f.lsm;
      const needsDPath = p.kinds.some((k) => k === 'exec' || k === 'file');
      return needsDPath && !f.lsmDPath.available ? f.lsmDPath : f.lsm;
    }
    case 'cgroup':
      return p.hook ? f.cgroupHooks[p.hook] : { available: false, reason: 'unknown cgroup hook' };
    case 'tracepoint':
      return f.tracepoints;
    case 'kprobe':
      return f.kprobes;
  }
}

/** The cgroup program on a hook. */
export function cgroupProgram(hook: CgroupHook): ProgramName {
  const name = (Object.keys(PROGRAMS) as ProgramName[]).find(
    (n) => (PROGRAMS[n] as ProgramInfo).hook === hook,
  );
  if (!name) throw new Error(`no program on cgroup hook ${hook}`);
  return name;
}

/** An attach point as users know it: "lsm/file_open", "cgroup_device", "kprobe/commit_creds". */
export function attachText(a: AttachSpec): string {
  switch (a.type) {
    case 'lsm':
      return `lsm/${a.hook}`;
    case 'cgroup':
      return a.attachType;
    case 'tp_btf':
      return `tp_btf/${a.event}`;
    case 'raw_tracepoint':
      return `raw_tp/${a.event}`;
    case 'kprobe':
      return a.function ? `kprobe/${a.function}` : 'kprobe';
  }
}
