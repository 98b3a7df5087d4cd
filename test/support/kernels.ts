// The three kernels of the kernel suite (test/vm/kernel-*.test.ts): Debian's
// 6.1 under QEMU with BPF-LSM active, the same kernel booted without bpf in
// lsm= (BPF-LSM compiled in but not active, as Ubuntu and RHEL ship it), and
// this project's host (6.18: neither BPF-LSM nor fmod_ret programs load). For
// each, what an attacker sees and which event bpfgate prints for a rule of
// each class: the expectations every suite case is checked against.
import type { MechanismName, OutcomeName } from '../../src/abi/layout.ts';
import { LSM_WITHOUT_BPF } from './guest-qemu.ts';

export type KernelId = 'guest-lsm' | 'guest-fmod-ret' | 'host';

export interface KernelConfig {
  id: KernelId;
  /** the column's title in the README's tables */
  title: string;
  where: 'guest' | 'host';
  /** the guest kernel's lsm= (default: the kernel's own list, with bpf) */
  lsm?: readonly string[];
}

/** In the README's column order: the strongest first. */
export const KERNELS: readonly KernelConfig[] = [
  { id: 'guest-lsm', title: 'Debian 6.1, BPF-LSM active', where: 'guest' },
  {
    id: 'guest-fmod-ret',
    title: 'Debian 6.1, BPF-LSM built but not active (no `bpf` in `lsm=`)',
    where: 'guest',
    lsm: LSM_WITHOUT_BPF,
  },
  { id: 'host', title: 'this project’s host (6.18: no BPF-LSM, no fmod_ret, no kprobes)', where: 'host' },
];

export function kernelConfig(id: KernelId): KernelConfig {
  const k = KERNELS.find((x) => x.id === id);
  if (!k) throw new Error(`unknown kernel ${id}`);
  return k;
}

/**
 * What decides a rule on each kernel:
 *   security    a security_* hook: BPF-LSM, fmod_ret, else raw sys_enter (killed after the call)
 *   exec        bprm_check: BPF-LSM, fmod_ret, else sched_process_exec (killed before the new program runs)
 *   capability  capable: BPF-LSM, fmod_ret, else no hook at all
 *   inet        an inet socket: socket_create, else the cgroup hook
 *   cgroup      a cgroup hook, on every kernel
 *   kprobe      a kprobe (audit only); the host has none
 *   uprobe      a uprobe on a user-space function, on every kernel: audit, or a kill once the function was entered
 */
export type RuleClass = 'security' | 'exec' | 'capability' | 'inet' | 'cgroup' | 'kprobe' | 'uprobe';

/** What a case leads to: what the attacker sees, and the one event (or none). */
export interface Expected {
  /** the errno name the attacker's call got, 'SIGKILL', or 'ok' */
  sees: string;
  /** the event's outcome; null: no event at all */
  outcome: OutcomeName | null;
  mechanism: MechanismName | null;
}

function mechanismOf(k: KernelId, cls: RuleClass): MechanismName | null {
  switch (cls) {
    case 'cgroup':
      return 'cgroup';
    case 'kprobe':
      return k === 'host' ? null : 'kprobe';
    case 'uprobe':
      return 'uprobe';
    case 'inet':
      return k === 'guest-lsm' ? 'lsm' : k === 'guest-fmod-ret' ? 'fmod_ret' : 'cgroup';
    default:
      if (k === 'guest-lsm') return 'lsm';
      if (k === 'guest-fmod-ret') return 'fmod_ret';
      return cls === 'capability' ? null : 'tracepoint';
  }
}

/**
 * The expected result of an attempt against a rule of class `cls` asking
 * `action`, on kernel `k`, with the policy enforcing or in audit mode.
 */
export function expected(
  k: KernelId,
  cls: RuleClass,
  action: 'block' | 'kill' | 'audit',
  mode: 'enforce' | 'audit',
): Expected {
  const mechanism = mechanismOf(k, cls);
  if (mechanism === null) return { sees: 'ok', outcome: null, mechanism: null };
  if (action === 'audit') return { sees: 'ok', outcome: 'allowed', mechanism };
  // a uprobe on a function's entry: killed once the function was entered (nothing is refused)
  if (action === 'kill' && cls === 'uprobe')
    return mode === 'audit'
      ? { sees: 'ok', outcome: 'would-kill', mechanism }
      : { sees: 'SIGKILL', outcome: 'killed', mechanism };
  // the tracepoint rung kills: before the new program's first instruction (exec), or after the call
  const kill = mechanism === 'tracepoint' ? (cls === 'exec' ? 'killed' : 'killed-after') : null;
  if (mode === 'audit') {
    const would =
      kill === 'killed' ? 'would-kill' : kill === 'killed-after' ? 'would-kill-after' : 'would-block';
    return { sees: 'ok', outcome: would, mechanism };
  }
  return kill
    ? { sees: 'SIGKILL', outcome: kill, mechanism }
    : { sees: 'EPERM', outcome: 'denied', mechanism };
}
