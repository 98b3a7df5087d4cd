// What a kernel can do, as probed by `bpfgate doctor` (src/kernel/probe.ts) or
// read from a feature file (--features FILE). The compiler's only view of the
// kernel. Pure types.

export const CGROUP_HOOKS = [
  'sock_create',
  'connect4',
  'connect6',
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
  kprobes: Feature;
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
}
