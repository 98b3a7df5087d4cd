// The QEMU command of one guest run (test/support/guest.ts): the kernel's
// command line, with the active LSMs as an option so that one kernel boots
// with BPF-LSM active or not, and QEMU's arguments. Pure: checked by
// test/unit/support/guest.test.ts.

export interface KernelOptions {
  /**
   * the kernel's `lsm=` (the active LSMs, in order): e.g. LSM_WITHOUT_BPF boots
   * the same kernel with BPF-LSM compiled in but not active; default: the
   * kernel's own CONFIG_LSM (on Debian 6.1, bpf is in it)
   */
  lsm?: readonly string[];
  /** further kernel command-line parameters (`name` or `name=value`) */
  kernelArgs?: readonly string[];
}

/** Debian 6.1's default LSM list without `bpf`: BPF-LSM compiled in but not active, as on Ubuntu and RHEL. */
export const LSM_WITHOUT_BPF: readonly string[] = ['lockdown', 'capability', 'landlock', 'yama', 'apparmor'];

const LSM_NAME = /^[a-z][a-z0-9_]*$/;
const KERNEL_PARAM = /^[A-Za-z0-9_.-]+(=[A-Za-z0-9_.,:/+-]*)?$/;

/**
 * The guest kernel's command line: serial console, panics that end QEMU, and
 * `lsm=` and `kernelArgs` when given. Throws TypeError on an LSM name or a
 * parameter that is not one plain word (it would change the command line's meaning).
 */
export function kernelCommandLine(
  opts: KernelOptions = {},
  debug = !['', '0', undefined].includes(process.env.BPFGATE_VM_DEBUG),
): string {
  const words = [
    'console=ttyS0',
    debug ? 'loglevel=7' : 'quiet',
    'panic=-1',
    'oops=panic',
    'mitigations=off',
    'random.trust_cpu=on',
    'tsc=reliable',
  ];
  if (opts.lsm !== undefined) {
    const bad = opts.lsm.filter((n) => !LSM_NAME.test(n));
    if (opts.lsm.length === 0 || bad.length > 0)
      throw new TypeError(
        `lsm: expected LSM names such as ${LSM_WITHOUT_BPF.join(',')}, not ${JSON.stringify(opts.lsm)}`,
      );
    words.push(`lsm=${opts.lsm.join(',')}`);
  }
  for (const a of opts.kernelArgs ?? []) {
    if (!KERNEL_PARAM.test(a))
      throw new TypeError(`kernelArgs: not a kernel parameter: ${JSON.stringify(a)}`);
    if (a.startsWith('lsm=') && opts.lsm !== undefined)
      throw new TypeError('kernelArgs: lsm= is given by the lsm option');
    words.push(a);
  }
  return words.join(' ');
}

/** QEMU's arguments for one run (without the binary): TCG, the kernel, the initramfs, the two 9p shares. */
export function qemuArgs(o: {
  kernel: string;
  initramfs: string;
  scratch: string;
  append: string;
  memoryMiB?: number;
  cpus?: number;
}): string[] {
  return [
    '-accel',
    'tcg',
    '-cpu',
    'max',
    '-m',
    String(o.memoryMiB ?? 2048),
    '-smp',
    String(o.cpus ?? 2),
    '-nographic',
    '-no-reboot',
    '-nic',
    'none',
    '-kernel',
    o.kernel,
    '-initrd',
    o.initramfs,
    '-append',
    o.append,
    '-virtfs',
    'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs',
    `local,path=${o.scratch},mount_tag=share,security_model=none,multidevs=remap`,
  ];
}
