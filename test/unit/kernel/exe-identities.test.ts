// The named executables resolved to identities (bg_exe_idents), and their
// paths bound (BG_EXE_ID_BOUND in bg_exe_ids) where this host has the file;
// pinned ones verified (bg_exe_verified) when their content has a pinned digest.
import { describe, expect, it } from 'vitest';
import { encodeExeIdent, encodeExeVerified, kernelDev } from '../../../src/abi/encode/ident.ts';
import { encodeExeId } from '../../../src/abi/encode/scope.ts';
import { EXE_ID_BOUND } from '../../../src/abi/layout.ts';
import type { Measurement } from '../../../src/kernel/exe-digest.ts';
import {
  type ExeStatFn,
  inodeKey,
  mountDevices,
  resolveExeIdentities,
} from '../../../src/kernel/exe-identities.ts';

// st_dev 8:1 (glibc's encoding) is the kernel's 8 << 20 | 1
const DEV = (8n << 8n) | 1n;
const K = kernelDev(DEV);
const files: Record<string, { ino: bigint; file?: boolean; superDev?: number }> = {
  '/usr/bin/dpkg': { ino: 10n },
  '/usr/local/bin/dpkg-link': { ino: 10n }, // a hard link of dpkg
  '/usr/sbin/sshd': { ino: 20n },
  '/usr/lib': { ino: 30n, file: false },
  // a btrfs subvolume: stat reports the subvolume's device, the kernel's superblock has another
  '/home/tool': { ino: 40n, superDev: (0 << 20) | 31 },
};
const stat: ExeStatFn = (p) => {
  const f = files[p];
  return f ? { dev: DEV, ino: f.ino, isFile: () => f.file !== false, superDev: f.superDev ?? K } : undefined;
};

describe('resolveExeIdentities', () => {
  const r = resolveExeIdentities(
    { '/usr/sbin/sshd': 2, '/usr/bin/dpkg': 1, '/only/in/containers': 3, '/usr/lib': 4 },
    stat,
  );

  it('gives each named file that exists its exe id by identity', () => {
    expect(r.idents).toEqual([encodeExeIdent(K, 10n, 1), encodeExeIdent(K, 20n, 2)]);
    expect(r.byInode).toEqual(
      new Map([
        [inodeKey(K, 10n), 1],
        [inodeKey(K, 20n), 2],
      ]),
    );
  });

  it('binds the paths this host has; a path it lacks (a container path) and a directory are matched by name only', () => {
    expect(r.ids).toEqual([
      encodeExeId('/only/in/containers', 3),
      encodeExeId('/usr/bin/dpkg', (1 | EXE_ID_BOUND) >>> 0),
      encodeExeId('/usr/lib', 4),
      encodeExeId('/usr/sbin/sshd', (2 | EXE_ID_BOUND) >>> 0),
    ]);
    expect([...r.bound].sort()).toEqual(['/usr/bin/dpkg', '/usr/sbin/sshd']);
  });

  it('two named names of one file: the identity takes the first in path order, both paths are bound', () => {
    const two = resolveExeIdentities({ '/usr/local/bin/dpkg-link': 7, '/usr/bin/dpkg': 1 }, stat);
    expect(two.idents).toEqual([encodeExeIdent(K, 10n, 1)]);
    expect([...two.bound].sort()).toEqual(['/usr/bin/dpkg', '/usr/local/bin/dpkg-link']);
  });

  it("a file whose stat device is not its superblock's (btrfs, overlay) is matched by name only, never bound", () => {
    const r = resolveExeIdentities({ '/home/tool': 5 }, stat);
    expect(r.idents).toEqual([]);
    expect(r.ids).toEqual([encodeExeId('/home/tool', 5)]);
    expect(r.bound.size).toBe(0);
  });

  it('reads mount ids and superblock devices from mountinfo', () => {
    const info = [
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '40 22 0:31 /@home /home rw shared:2 - btrfs /dev/sdb1 rw,subvol=/@home',
      'garbage',
    ].join('\n');
    expect(mountDevices(info)).toEqual(
      new Map([
        [22, (8 << 20) | 1],
        [40, 31],
      ]),
    );
  });

  it('the identity key is the kernel device, gen 0, and the inode', () => {
    expect(encodeExeIdent(K, 10n, 1).key).toBe(`00000000${'01008000'}${'0a00000000000000'}`);
  });
});

describe('resolveExeIdentities: executables pinned by digest', () => {
  const good = 'a'.repeat(64);
  const measured = (sha256: string): Measurement => ({
    ok: true,
    sha256,
    dev: DEV,
    ino: 10n,
    ctimeNs: 1_700_000_000_123_456_789n,
    size: 4096n,
  });

  it('a pinned file whose content has a pinned digest is verified at its change time and size', () => {
    const seen: string[] = [];
    const r = resolveExeIdentities({ '/usr/bin/dpkg': 1, '/usr/sbin/sshd': 2 }, stat, {
      digests: { '/usr/bin/dpkg': [good] },
      measure: (p) => {
        seen.push(p);
        return measured(good);
      },
    });
    expect(seen).toEqual(['/usr/bin/dpkg']); // only pinned files are read
    expect(r.verified).toEqual([encodeExeVerified(K, 10n, 1_700_000_000_123_456_789n, 4096n)]);
    expect([...r.verifiedInodes]).toEqual([inodeKey(K, 10n)]);
    expect(r.unverified).toEqual([]);
    // the identity and the bound path are the same as unpinned
    expect(r.idents).toEqual([encodeExeIdent(K, 10n, 1), encodeExeIdent(K, 20n, 2)]);
  });

  it('another content, a file being written or replaced while read is not verified, and says why', () => {
    const other = resolveExeIdentities({ '/usr/bin/dpkg': 1 }, stat, {
      digests: { '/usr/bin/dpkg': [good] },
      measure: () => measured('b'.repeat(64)),
    });
    expect(other.verified).toEqual([]);
    expect(other.unverified).toEqual([
      { path: '/usr/bin/dpkg', reason: `another digest (sha256 ${'b'.repeat(64)})` },
    ]);
    const written = resolveExeIdentities({ '/usr/bin/dpkg': 1 }, stat, {
      digests: { '/usr/bin/dpkg': [good] },
      measure: () => ({ ok: false, reason: 'being written (open for writing)' }),
    });
    expect(written.verified).toEqual([]);
    expect(written.unverified[0]?.reason).toBe('being written (open for writing)');
    const replaced = resolveExeIdentities({ '/usr/bin/dpkg': 1 }, stat, {
      digests: { '/usr/bin/dpkg': [good] },
      measure: () => ({ ...measured(good), ino: 99n }),
    });
    expect(replaced.verified).toEqual([]);
    expect(replaced.unverified[0]?.reason).toMatch(/^changing/);
  });

  it('a pinned path this host lacks is matched by name and never verified', () => {
    const r = resolveExeIdentities({ '/only/in/containers': 3 }, stat, {
      digests: { '/only/in/containers': [good] },
      measure: () => measured(good),
    });
    expect(r.verified).toEqual([]);
    expect(r.ids).toEqual([encodeExeId('/only/in/containers', 3)]);
  });
});
