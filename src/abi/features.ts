// What a kernel can do, as probed by `bpfgate doctor` (src/kernel/probe.ts) or
// read from a feature file (--features FILE). The compiler's only view of the
// kernel. Pure types.

export const CGROUP_HOOKS = [
  'sock_create',
  'connect4',
  'connect6',
  'sendmsg4',
  'sendmsg6',
  'bind4',
  'bind6',
  'dev',
  'sysctl',
] as const;
export type CgroupHook = (typeof CGROUP_HOOKS)[number];

export interface Feature {
  available: boolean;
  /** why (not): what the probe saw, e.g. "lsm/file_open load: EPERM" */
  reason: string;
  /** what an operator can do to make it available, e.g. the kernel command line's lsm= with bpf added */
  fix?: string;
  /** a failed load: the verifier's own lines that say why (bounded) */
  verifier?: string[];
  /** false: not tried, because nothing on this kernel needs it (e.g. the fmod_ret rung where BPF-LSM runs) */
  probed?: false;
}

export interface FeatureSet {
  /** e.g. "host 6.18.44-fc", "BPF-LSM kernel (reference)" */
  name: string;
  kernelRelease: string;
  btf: Feature;
  bpffs: Feature;
  cgroup2: Feature & { mount?: string };
  /** BPF-LSM active (in /sys/kernel/security/lsm) and an lsm/ program loads */
  lsm: Feature;
  /** bpf_d_path usable from LSM file hooks */
  lsmDPath: Feature;
  /**
   * a sleepable LSM program hashes the file an exec runs (bpf_ima_file_hash,
   * Linux 5.18 with IMA): exceptions by content alone; absent in older feature
   * files: unavailable
   */
  exeContent?: Feature;
  /**
   * fmod_ret programs on security_* functions deny (the probe's own program
   * denied a child of its own): the rung for kernels where BPF-LSM is built
   * but not active
   */
  fmodRet: Feature;
  /** each security_* function the fmod_ret programs attach to: a function in the kernel's BTF, or not (inlined, missing) */
  fmodRetHooks: Record<string, Feature>;
  /**
   * each security_* function self-protection's fmod_ret programs attach to
   * (src/abi/protect.ts): in the kernel's BTF, or not; probed with fmodRetHooks,
   * absent from feature files
   */
  protectHooks?: Record<string, Feature>;
  kprobes: Feature;
  /** uprobe programs load and attach to a binary's inode (CONFIG_UPROBES) */
  uprobes: Feature;
  fentry: Feature;
  /** tp_btf/sched_process_exec and raw_tracepoint/sys_enter load and attach */
  tracepoints: Feature;
  /** bpf_send_signal(SIGKILL) from a tracepoint */
  sendSignal: Feature;
  cgroupHooks: Record<CgroupHook, Feature>;
  /** tcx links (Linux 6.6) and the tc programs load; absent in older feature files: unavailable */
  tcx?: Feature;
  /** XDP links and the XDP program load (generic mode works on any interface) */
  xdp?: Feature;
  /** the cgroup_skb programs load (packets of sockets in scoped cgroups); absent in older feature files: unavailable */
  cgroupSkb?: Feature;
}
