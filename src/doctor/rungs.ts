// The enforcement ladder's rungs on a kernel, in one line: what `doctor`, the
// daemon's start-up log and `/status` say of the kernel before any rule.
// BPF-LSM → fmod_ret → cgroup hooks → tracepoint kill → kprobe audit. Pure.
import { CGROUP_HOOKS, type Feature, type FeatureSet } from '../abi/features.ts';

export interface RungState {
  /** the rung as users know it */
  name: string;
  /** what a rule it serves achieves */
  gives: string;
  available: boolean;
  /** not tried: not needed on this kernel (fmod_ret where BPF-LSM runs) */
  skipped?: true;
  reason: string;
  /** what an operator can do to make it available */
  fix?: string;
}

function state(name: string, gives: string, f: Feature): RungState {
  return {
    name,
    gives,
    available: f.available,
    ...(f.probed === false ? { skipped: true as const } : {}),
    reason: f.reason,
    ...(f.fix ? { fix: f.fix } : {}),
  };
}

/** The rungs, strongest first. */
export function rungsOf(f: FeatureSet): RungState[] {
  const hooks = CGROUP_HOOKS.filter((h) => f.cgroupHooks[h].available);
  const functions = Object.values(f.fmodRetHooks);
  const inBtf = functions.filter((h) => h.available).length;
  const fmodRet: Feature =
    f.fmodRet.available && functions.length > 0
      ? {
          ...f.fmodRet,
          reason: `${f.fmodRet.reason}; ${inBtf} of ${functions.length} security_* functions attachable`,
        }
      : f.fmodRet;
  const kill: Feature =
    f.tracepoints.available && !f.sendSignal.available
      ? { available: false, reason: `bpf_send_signal: ${f.sendSignal.reason}` }
      : f.tracepoints;
  return [
    state('BPF-LSM', 'deny before the action', f.lsm),
    state('fmod_ret', 'deny before the action (the security_* functions, BPF-LSM not active)', fmodRet),
    state('cgroup hooks', 'deny (network, devices, sysctl, inet sockets)', {
      available: hooks.length > 0,
      reason: `${hooks.length} of ${CGROUP_HOOKS.length} hooks load`,
    }),
    state(
      'tracepoint kill',
      'kill before an exec’s first instruction, or after a system call completed',
      kill,
    ),
    state('kprobe audit', 'report calls of a kernel function', f.kprobes),
  ];
}

/** "BPF-LSM ✗, fmod_ret ✓, cgroup hooks ✓, tracepoint kill ✓, kprobe audit ✗" */
export function rungsLine(f: FeatureSet): string {
  return rungsOf(f)
    .map((r) => `${r.name} ${r.skipped ? '-' : r.available ? '✓' : '✗'}`)
    .join(', ');
}
