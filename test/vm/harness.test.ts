// The QEMU guest harness itself: boots Debian's 6.1 kernel, runs commands in a
// chroot of the host root, reports exit codes and output, fails boundedly.
// npx vitest run --project kernel test/vm/harness.test.ts
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CACHE_DIR,
  GUEST_CGROUP2_ROOT,
  GUEST_IN,
  GUEST_OUT,
  type GuestAssets,
  GuestBootError,
  guestNodeCommand,
  PROJECT_ROOT,
  prepareGuest,
  runInGuest,
} from '../support/guest.ts';

const run = promisify(execFile);
const FIXTURES = path.join(PROJECT_ROOT, 'test', 'vm', 'fixtures');

/** Command lines of live processes mentioning `needle` (to prove QEMU was killed). */
function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(needle)) found.push(`${pid}: ${cmd.replaceAll('\0', ' ')}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

async function expectGuestError(p: Promise<unknown>): Promise<GuestBootError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GuestBootError);
    return err as GuestBootError;
  }
  throw new Error('expected a GuestBootError');
}

let assets: GuestAssets;

beforeAll(async () => {
  assets = await prepareGuest();
});

describe('guest preparation', () => {
  it('caches the kernel and an initramfs with the 9p modules in dependency order', () => {
    expect(assets.kernelVersion).toMatch(/^6\.1\.0-\d+-amd64$/);
    expect(assets.kernel.startsWith(CACHE_DIR)).toBe(true);
    expect(existsSync(assets.kernel)).toBe(true);
    expect(existsSync(assets.initramfs)).toBe(true);
    const at = (m: string) => assets.modules.indexOf(m);
    for (const m of ['virtio', 'virtio_ring', 'virtio_pci', '9pnet', '9pnet_virtio', '9p'])
      expect(at(m)).toBeGreaterThanOrEqual(0);
    expect(at('virtio_ring')).toBeLessThan(at('virtio'));
    expect(at('virtio')).toBeLessThan(at('virtio_pci'));
    expect(at('9pnet')).toBeLessThan(at('9pnet_virtio'));
    expect(at('9pnet')).toBeLessThan(at('9p'));
  });

  it('is cached: a second preparation is quick and returns the same files', async () => {
    const t = Date.now();
    const again = await prepareGuest();
    expect(again.initramfs).toBe(assets.initramfs);
    expect(Date.now() - t).toBeLessThan(5_000);
  });
});

describe('runInGuest', () => {
  it('boots Debian 6.1 with BPF among the active LSMs and the BPF file systems mounted', async () => {
    const r = await runInGuest(
      `uname -r; cat /sys/kernel/security/lsm; echo; stat -f -c %T /sys/fs/bpf ${GUEST_CGROUP2_ROOT} /proc /tmp; pwd`,
    );
    expect(r.exitCode, r.stderr + r.console).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^6\.1\./);
    expect(lines[1]?.split(',')).toContain('bpf');
    expect(lines.slice(2, 6)).toEqual(['bpf_fs', 'cgroup2fs', 'proc', 'tmpfs']);
    expect(lines[6]).toBe(PROJECT_ROOT);
    expect(r.bootMs).toBeGreaterThan(0);
    expect(r.durationMs).toBeGreaterThanOrEqual(r.bootMs);
    console.log(`guest boot ${r.bootMs} ms, whole run ${r.durationMs} ms`);
  });

  it('propagates the exit code and keeps stdout and stderr apart; env, files in and out', async () => {
    const r = await runInGuest(
      `echo to-out; echo to-err >&2; echo "$GREETING"; cat ${GUEST_IN}/sub/input.txt; ` +
        `echo result > ${GUEST_OUT}/r.txt; exit 7`,
      { env: { GREETING: 'it\'s a "quoted" $value' }, files: { 'sub/input.txt': 'from host\n' } },
    );
    expect(r.exitCode).toBe(7);
    expect(r.stdout).toBe(`to-out\nit's a "quoted" $value\nfrom host\n`);
    expect(r.stderr).toBe('to-err\n');
    expect(r.outFiles).toEqual({ 'r.txt': 'result\n' });
  });

  it("runs the host's Node.js in the guest", async () => {
    const r = await runInGuest(
      `${guestNodeCommand('-p', ['process.version + " " + process.arch'])} && command -v node`,
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const [version, nodePath] = r.stdout.trim().split('\n');
    expect(version).toBe(`${process.version} x64`);
    expect(nodePath).toBe(path.join(path.dirname(assets.nodeBin), 'node'));
  });

  it('loads, attaches and enforces a BPF-LSM program (refused by the host kernel)', async () => {
    // build on the host: the guest sees the build folder through the shared root
    const build = path.join(CACHE_DIR, 'build', 'lsm');
    await mkdir(build, { recursive: true });
    const btf = await run('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], {
      maxBuffer: 64 << 20,
    });
    await writeFile(path.join(build, 'vmlinux.h'), btf.stdout);
    await run('clang', [
      '-g',
      '-O2',
      '-target',
      'bpf',
      '-D__TARGET_ARCH_x86',
      `-I${build}`,
      '-c',
      path.join(FIXTURES, 'lsm_deny.bpf.c'),
      '-o',
      path.join(build, 'lsm_deny.bpf.o'),
    ]);
    await run('cc', [
      '-O2',
      '-o',
      path.join(build, 'lsm_loader'),
      path.join(FIXTURES, 'lsm_loader.c'),
      '-lbpf',
    ]);

    const r = await runInGuest(
      [
        'echo secret > /tmp/bpfgate-lsm-denied',
        'echo fine > /tmp/allowed',
        'bpftool feature probe kernel 2>/dev/null | grep -c "program_type lsm is available"',
        `${build}/lsm_loader ${build}/lsm_deny.bpf.o /sys/fs/bpf || exit 90`,
        'cat /tmp/allowed',
        'cat /tmp/bpfgate-lsm-denied; echo "denied-rc=$?"',
      ].join('\n'),
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('1\nattached deny_marked_file\nfine\ndenied-rc=1\n');
    expect(r.stderr).toContain('Operation not permitted');
  });

  it('runs concurrent guests without collisions', async () => {
    const [a, b] = await Promise.all([runInGuest('echo a; exit 3'), runInGuest('echo b; exit 4')]);
    expect([a.exitCode, a.stdout, b.exitCode, b.stdout]).toEqual([3, 'a\n', 4, 'b\n']);
  });
});

describe('bounded failures', () => {
  it('fails fast with GUEST_KERNEL_MISSING on a wrong kernel path', async () => {
    const t = Date.now();
    const err = await expectGuestError(runInGuest('true', { kernel: '/nonexistent/vmlinuz' }));
    expect(err.code).toBe('GUEST_KERNEL_MISSING');
    expect(Date.now() - t).toBeLessThan(1_000);
  });

  it('reports GUEST_BOOT_FAILED with the console tail when the image does not boot', async () => {
    const bogus = path.join(CACHE_DIR, 'build', 'not-a-kernel');
    await mkdir(path.dirname(bogus), { recursive: true });
    await writeFile(bogus, 'this is not a kernel image\n'.repeat(100));
    const t = Date.now();
    const err = await expectGuestError(runInGuest('true', { kernel: bogus, timeoutMs: 60_000 }));
    expect(err.code).toBe('GUEST_BOOT_FAILED');
    expect(err.phase).toBe('boot');
    expect(err.consoleTail.length).toBeGreaterThan(0);
    expect(Date.now() - t).toBeLessThan(60_000);
  });

  it('ends a guest that does not reach the command in time with GUEST_TIMEOUT (boot phase)', async () => {
    const t = Date.now();
    const err = await expectGuestError(runInGuest('true', { bootTimeoutMs: 1_500 }));
    expect(err.code).toBe('GUEST_TIMEOUT');
    expect(err.phase).toBe('boot');
    expect(Date.now() - t).toBeLessThan(6_500);
    expect(processesMentioning(err.scratchDir)).toEqual([]);
  });

  it('ends a hanging command with GUEST_TIMEOUT within the limit and kills QEMU', async () => {
    const timeoutMs = 15_000;
    const t = Date.now();
    const err = await expectGuestError(runInGuest('echo started; sleep 1000', { timeoutMs }));
    const elapsed = Date.now() - t;
    expect(err.code).toBe('GUEST_TIMEOUT');
    expect(err.phase).toBe('command');
    expect(err.consoleTail).toContain('bpfgate-vm: run');
    expect(elapsed).toBeLessThan(timeoutMs + 5_000);
    expect(processesMentioning(err.scratchDir)).toEqual([]);
  });
});
