// The guest harness's kernel command line (test/support/guest.ts): the lsm=
// option reaches QEMU's -append, so a test can boot the same kernel with
// BPF-LSM active or not; bad words are refused before anything boots.
import { describe, expect, it } from 'vitest';
import { kernelCommandLine, LSM_WITHOUT_BPF, qemuArgs, runInGuest } from '../../support/guest.ts';

const appendOf = (args: string[]): string => args[args.indexOf('-append') + 1]!;

describe('the guest kernel command line', () => {
  it("leaves lsm= to the kernel's own CONFIG_LSM by default", () => {
    const line = kernelCommandLine({}, false);
    expect(line.split(' ')).toEqual([
      'console=ttyS0',
      'quiet',
      'panic=-1',
      'oops=panic',
      'mitigations=off',
      'random.trust_cpu=on',
      'tsc=reliable',
    ]);
    expect(line).not.toContain('lsm=');
  });

  it('boots the same kernel without BPF-LSM: lsm= without bpf reaches QEMU -append', () => {
    const append = kernelCommandLine({ lsm: LSM_WITHOUT_BPF }, false);
    const args = qemuArgs({ kernel: '/k/vmlinuz', initramfs: '/k/initrd', scratch: '/s', append });
    expect(appendOf(args).split(' ')).toContain('lsm=lockdown,capability,landlock,yama,apparmor');
    expect(appendOf(args)).not.toMatch(/lsm=.*\bbpf\b/);
    expect(args[args.indexOf('-kernel') + 1]).toBe('/k/vmlinuz');
  });

  it('passes an explicit lsm list with bpf, and further parameters, in order', () => {
    const line = kernelCommandLine(
      { lsm: ['lockdown', 'bpf'], kernelArgs: ['nokaslr', 'slub_debug=FZ'] },
      true,
    );
    expect(line.split(' ').slice(1, 2)).toEqual(['loglevel=7']);
    expect(line.endsWith(' lsm=lockdown,bpf nokaslr slub_debug=FZ')).toBe(true);
  });

  it('refuses what would change the command line beyond one parameter', () => {
    expect(() => kernelCommandLine({ lsm: [] })).toThrow(TypeError);
    expect(() => kernelCommandLine({ lsm: ['bpf quiet'] })).toThrow(/lsm:/);
    expect(() => kernelCommandLine({ lsm: ['bpf,evil'] })).toThrow(/lsm:/);
    expect(() => kernelCommandLine({ kernelArgs: ['init=/bin/sh x'] })).toThrow(/kernelArgs/);
    expect(() => kernelCommandLine({ kernelArgs: ["a='b'"] })).toThrow(/kernelArgs/);
    expect(() => kernelCommandLine({ lsm: ['bpf'], kernelArgs: ['lsm=yama'] })).toThrow(/lsm= is given/);
  });

  it('runInGuest refuses a bad lsm before preparing or booting anything', async () => {
    await expect(runInGuest('true', { lsm: ['no spaces'] })).rejects.toThrow(TypeError);
  });
});
