// The kernel settings an operator of BPF programs needs to see (`doctor`):
// the JIT and who may use bpf(). Read from /proc/sys; reading only.
import { readFileSync } from 'node:fs';

export interface KernelSetting {
  /** as sysctl(8) names it */
  name: string;
  /** the value, or null when the kernel has no such file */
  value: string | null;
  /** what the value means for bpfgate */
  meaning: string;
}

const MEANINGS: Record<string, (v: string) => string> = {
  'net.core.bpf_jit_enable': (v) =>
    v === '0'
      ? 'the JIT is off: programs run in the interpreter, several times slower'
      : v === '2'
        ? 'the JIT is on, with debug output to the kernel log'
        : 'the JIT compiles programs to native code',
  'net.core.bpf_jit_harden': (v) =>
    v === '0'
      ? 'no constant blinding'
      : v === '1'
        ? 'constant blinding for unprivileged programs (bpfgate is privileged: not affected)'
        : 'constant blinding for every program, bpfgate’s too: slightly slower programs',
  'kernel.unprivileged_bpf_disabled': (v) =>
    v === '0'
      ? 'unprivileged users may call bpf(): bpf rules in policies are their only check'
      : v === '1'
        ? 'bpf() needs privileges, until the next boot'
        : 'bpf() needs privileges (an administrator may change it back)',
};

/** The settings, in display order. */
export function readKernelSettings(procSys = '/proc/sys'): KernelSetting[] {
  return Object.entries(MEANINGS).map(([name, meaning]) => {
    let value: string | null = null;
    try {
      value = readFileSync(`${procSys}/${name.replaceAll('.', '/')}`, 'utf8').trim();
    } catch {
      // not in this kernel
    }
    return { name, value, meaning: value === null ? 'not in this kernel' : meaning(value) };
  });
}
