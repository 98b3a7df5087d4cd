// The programs in bpf/build/bpfgate.bpf.o: their function names, how each is
// attached, and which rule kinds it serves. The contract between the compiler
// (which plans them), the loader (which attaches them) and bpf/*.bpf.c (which
// defines them). Pure data.

import type { AttachSpec } from '../compiler/plan.ts';
import type { RuleKind } from '../policy/model.ts';

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
}

const lsm = (hook: string, kinds: RuleKind[], ops?: string[]): ProgramInfo => ({
  family: 'lsm',
  attach: { type: 'lsm', hook },
  kinds,
  ...(ops ? { ops } : {}),
  canDeny: true,
  canKill: true,
});
const cg = (attachType: string, kinds: RuleKind[]): ProgramInfo => ({
  family: 'cgroup',
  attach: { type: 'cgroup', attachType },
  kinds,
  canDeny: true,
  canKill: false,
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
  bg_cg_sock_create: cg('cgroup_inet_sock_create', ['socket']),
  bg_cg_connect4: cg('cgroup_inet4_connect', ['connect']),
  bg_cg_connect6: cg('cgroup_inet6_connect', ['connect']),
  bg_cg_bind4: cg('cgroup_inet4_bind', ['bind']),
  bg_cg_bind6: cg('cgroup_inet6_bind', ['bind']),
  bg_cg_dev: cg('cgroup_device', ['device']),
  bg_cg_sysctl: cg('cgroup_sysctl', ['sysctl']),
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
