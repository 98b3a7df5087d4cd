// The named executables resolved to identities (bg_exe_idents), and their
// paths bound (BG_EXE_ID_BOUND in bg_exe_ids) where this host has the file.
import { describe, expect, it } from 'vitest';
import { encodeExeIdent, kernelDev } from '../../../src/abi/encode/ident.ts';
import { encodeExeId } from '../../../src/abi/encode/scope.ts';
import { EXE_ID_BOUND } from '../../../src/abi/layout.ts';
import { type ExeStatFn, inodeKey, resolveExeIdentities } from '../../../src/kernel/exe-identities.ts';

// st_dev 8:1 (glibc's encoding) is the kernel's 8 << 20 | 1
const DEV = (8n << 8n) | 1n;
const K = kernelDev(DEV);
const files: Record<string, { ino: bigint; file?: boolean }> = {
  '/usr/bin/dpkg': { ino: 10n },
  '/usr/local/bin/dpkg-link': { ino: 10n }, // a hard link of dpkg
  '/usr/sbin/sshd': { ino: 20n },
  '/usr/lib': { ino: 30n, file: false },
};
const stat: ExeStatFn = (p) => {
  const f = files[p];
  return f ? { dev: DEV, ino: f.ino, isFile: () => f.file !== false } : undefined;
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

  it('the identity key is the kernel device, gen 0, and the inode', () => {
    expect(encodeExeIdent(K, 10n, 1).key).toBe(`00000000${'01008000'}${'0a00000000000000'}`);
  });
});
