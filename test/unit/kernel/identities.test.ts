// File identities (src/kernel/identities.ts, src/abi/encode/ident.ts): which
// paths a plan's file rules name, the kernel's device encoding, and the
// entries resolved from real files.
import { execFileSync } from 'node:child_process';
import { linkSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFileId, kernelDev } from '../../../src/abi/encode/ident.ts';
import { decodePathKey, encodePathKey } from '../../../src/abi/encode/path.ts';
import { MapName, PATH_UNRESOLVED_TARGET } from '../../../src/abi/layout.ts';
import {
  ancestorsOf,
  fileIdentityEntries,
  identityTargets,
  resolveIdentities,
} from '../../../src/kernel/identities.ts';

const key = (path: string, prefix: boolean, kind = 2, op = 1) =>
  encodePathKey({ gen: 1, slot: 3, kind, op, path, prefix });
const plan = (keys: string[]) => ({
  maps: [{ map: MapName.pathRules, entries: keys.map((k) => ({ key: k, value: '00' })) }],
});

describe('kernelDev: stat st_dev to the kernel sb->s_dev', () => {
  it('packs major << 20 | minor from glibc encodings', () => {
    // 8:1 (sda1): st_dev 0x801
    expect(kernelDev(0x801n)).toBe((8 << 20) | 1);
    // 0:45 (an anonymous device, tmpfs): st_dev 45
    expect(kernelDev(45n)).toBe(45);
    // 259:300 (nvme partition with a minor above 255): minor's high bits at 20..31
    const st = (300n & 0xffn) | (259n << 8n) | ((300n & ~0xffn) << 12n);
    expect(kernelDev(st)).toBe((259 << 20) | 300);
  });

  it('agrees with stat(1) on a real file', () => {
    const st = lstatSync('/', { bigint: true });
    const [major, minor] = execFileSync('stat', ['-c', '%Hd %Ld', '/'], { encoding: 'utf8' })
      .trim()
      .split(' ')
      .map(Number);
    expect(kernelDev(st.dev)).toBe((major! << 20) | minor!);
  });

  it('refuses a device the kernel cannot hold', () => {
    // major 4096 (bits 32..63): the kernel's major has 12 bits
    expect(() => kernelDev(1n << 44n)).toThrow(RangeError);
  });
});

describe('identityTargets', () => {
  it('takes file rules paths and directories once, not other kinds nor the unresolved key', () => {
    const got = identityTargets(
      plan([
        key('/etc/shadow', false, 2, 1),
        key('/etc/shadow', false, 2, 2),
        key('/etc/ssh/', true),
        key('/usr/bin/nc', false, 1, 0),
        key(PATH_UNRESOLVED_TARGET, false),
      ]),
    );
    expect(got).toEqual([
      { path: '/etc/shadow', dir: false },
      { path: '/etc/ssh/', dir: true },
    ]);
  });

  it('decodePathKey inverts encodePathKey', () => {
    expect(decodePathKey(key('/a/b/', true))).toEqual({
      gen: 1,
      slot: 3,
      kind: 2,
      op: 1,
      path: '/a/b/',
      prefix: true,
    });
    expect(decodePathKey(key('/a/b', false)).prefix).toBe(false);
  });

  it('ancestorsOf lists the directories on the way, nearest first, without /', () => {
    expect(ancestorsOf('/srv/bg/protected/')).toEqual(['/srv/bg', '/srv']);
    expect(ancestorsOf('/etc/shadow')).toEqual(['/etc']);
    expect(ancestorsOf('/')).toEqual([]);
  });
});

describe('resolveIdentities on real files', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'bg-ident-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'prot'));
  writeFileSync(path.join(root, 'prot', 'secret'), 'x');
  writeFileSync(path.join(root, 'file'), 'y');
  linkSync(path.join(root, 'file'), path.join(root, 'alias'));
  const ino = (p: string) => lstatSync(p, { bigint: true }).ino;

  it('gives each existing target its inode, and the directories on the way theirs', () => {
    const ids = resolveIdentities(
      [
        { path: `${root}/file`, dir: false },
        { path: `${root}/missing`, dir: false },
        { path: `${root}/prot/`, dir: true },
        { path: `${root}/file/`, dir: true }, // a directory rule naming a file: no identity
      ],
      1,
    );
    const dev = kernelDev(lstatSync(root, { bigint: true }).dev);
    expect(ids.slice(0, 2)).toEqual([
      { gen: 1, dev, ino: ino(`${root}/file`), type: 'file', path: `${root}/file` },
      { gen: 1, dev, ino: ino(`${root}/prot`), type: 'dir', path: `${root}/prot/` },
    ]);
    // the root's directory is on the way to both: the first target in order names it
    expect(ids.find((i) => i.ino === ino(root))).toMatchObject({ type: 'ancestor', path: `${root}/file` });
    expect(ids.some((i) => i.path === `${root}/missing`)).toBe(false);
  });

  it('a hard link has the same identity as the name a rule uses: one entry', () => {
    const ids = resolveIdentities(
      [
        { path: `${root}/alias`, dir: false },
        { path: `${root}/file`, dir: false },
      ],
      0,
    );
    expect(ids.filter((i) => i.type === 'file')).toEqual([
      expect.objectContaining({ ino: ino(`${root}/file`), path: `${root}/alias` }),
    ]);
  });

  it('encodes key and value as bpf/lib/abi.h lays them out', () => {
    const e = encodeFileId({ gen: 1, dev: (8 << 20) | 1, ino: 0x1122334455n, type: 'dir', path: '/a/' });
    expect(e.key).toBe(`01000000${'01008000'}${'5544332211000000'}`);
    expect(e.value.slice(0, 8)).toBe('02000000');
    expect(Buffer.from(e.value.slice(8), 'hex').subarray(0, 4).toString('latin1')).toBe('/a/\0');
    expect(e.value.length).toBe(256 * 2);
  });

  it('fileIdentityEntries encodes the plan file rules identities under the generation', () => {
    const entries = fileIdentityEntries(plan([key(`${root}/prot/`, true)]), 0);
    expect(entries.length).toBeGreaterThan(1);
    expect(entries.every((e) => e.key.startsWith('00'))).toBe(true);
  });
});
