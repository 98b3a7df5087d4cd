// Self-protection's configuration: the bg_protect_cfg layout (216 bytes, as
// bpf/lib/protect.h asserts), the daemon's cgroup ids read from real folders,
// the cgroup v2 mount found in a mountinfo text, refusals named by kind.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCgroup2Mount } from '../../../src/kernel/cgroups.ts';
import { decodeProtect, encodeProtect, PROTECT_CFG_SIZE } from '../../../src/kernel/protect.ts';
import { daemonCgroupIds, PROTECT_CGROUPS, refusalsSince } from '../../../src/kernel/protect-task.ts';

const dir = mkdtempSync(join(tmpdir(), 'bpfgate-protect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mountinfo = (mnt: string) =>
  `22 1 0:21 / /proc rw - proc proc rw\n30 22 0:26 / ${mnt} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n`;

describe('self-protection configuration', () => {
  it('encodes struct bg_protect_cfg and decodes the counters the programs write', () => {
    expect(PROTECT_CFG_SIZE).toBe(216);
    const b = encodeProtect({ armed: true, daemonTgid: 77, pinRootIno: 5n, cgroupIds: [9n, 8n] });
    expect(b.length).toBe(216);
    b.writeBigUInt64LE(3n, 16); // denied
    b.writeBigUInt64LE(2n, 88 + 8 * 7); // denied_by[cgroup]
    const c = decodeProtect(b);
    expect(c).toMatchObject({ armed: true, daemonTgid: 77, pinRootIno: 5n, cgroupIds: [9n, 8n], denied: 3n });
    expect(c.deniedBy[7]).toBe(2n);
    expect(() =>
      encodeProtect({ armed: true, daemonTgid: 1, pinRootIno: 1n, cgroupIds: Array(9).fill(1n) }),
    ).toThrow(RangeError);
  });

  it('finds the cgroup v2 mount point, octal escapes decoded', () => {
    expect(findCgroup2Mount(mountinfo('/sys/fs/cgroup'))).toBe('/sys/fs/cgroup');
    expect(findCgroup2Mount(mountinfo('/mnt/c\\040g'))).toBe('/mnt/c g');
    expect(findCgroup2Mount('22 1 0:21 / /proc rw - proc proc rw\n')).toBeNull();
  });

  it('takes the ids of the daemon cgroup and its ancestors below the root, deepest first', () => {
    const mnt = join(dir, 'cg');
    mkdirSync(join(mnt, 'system.slice', 'bpfgate.service'), { recursive: true });
    writeFileSync(join(dir, 'mountinfo'), mountinfo(mnt));
    writeFileSync(join(dir, 'cgroup'), '0::/system.slice/bpfgate.service\n');
    const ino = (p: string) => statSync(join(mnt, p), { bigint: true }).ino;
    expect(daemonCgroupIds(join(dir, 'cgroup'), join(dir, 'mountinfo'))).toEqual([
      ino('system.slice/bpfgate.service'),
      ino('system.slice'),
    ]);
    writeFileSync(join(dir, 'cgroup'), '0::/\n');
    expect(daemonCgroupIds(join(dir, 'cgroup'), join(dir, 'mountinfo'))).toEqual([]);
    const deep = Array.from({ length: 10 }, (_, i) => `d${i}`).join('/');
    mkdirSync(join(mnt, deep), { recursive: true });
    writeFileSync(join(dir, 'cgroup'), `0::/${deep}\n`);
    const ids = daemonCgroupIds(join(dir, 'cgroup'), join(dir, 'mountinfo'));
    expect(ids).toHaveLength(PROTECT_CGROUPS);
    expect(ids[0]).toBe(ino(deep));
  });

  it('names what was refused since the last look', () => {
    const before = Array(16).fill(0n);
    const now = [...before];
    now[5] = 1n;
    now[7] = 3n;
    expect(refusalsSince(before, now)).toEqual({ rlimit: 1, cgroup: 3 });
    expect(refusalsSince(now, now)).toEqual({});
  });
});
