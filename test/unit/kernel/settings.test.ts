// The kernel's BPF settings doctor shows, read from a /proc/sys of the test's own.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readKernelSettings } from '../../../src/kernel/settings.ts';

describe('kernel settings', () => {
  it('reads the JIT and bpf() settings, and says what each value means', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bg-sysctl-'));
    mkdirSync(join(dir, 'net/core'), { recursive: true });
    mkdirSync(join(dir, 'kernel'));
    writeFileSync(join(dir, 'net/core/bpf_jit_enable'), '0\n');
    writeFileSync(join(dir, 'net/core/bpf_jit_harden'), '2\n');
    const s = readKernelSettings(dir);
    expect(s.map((x) => [x.name, x.value])).toEqual([
      ['net.core.bpf_jit_enable', '0'],
      ['net.core.bpf_jit_harden', '2'],
      ['kernel.unprivileged_bpf_disabled', null],
    ]);
    expect(s[0]!.meaning).toMatch(/interpreter/);
    expect(s[1]!.meaning).toMatch(/every program, bpfgate’s too/);
    expect(s[2]!.meaning).toBe('not in this kernel');
  });
});
