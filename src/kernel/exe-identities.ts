// Executable identities (bg_exe_idents, bpf/tracepoint.bpf.c bg_tp_exec): each
// executable a scope, an exception or an exec allow rule names, resolved on
// this host to the kernel's (device, inode), so that the exec tracepoint gives
// a process the exe id of the file it runs, whatever name ran it (a hard link,
// a bind mount, a mount namespace's view, a chroot). A named path whose file
// exists here is bound (BG_EXE_ID_BOUND in bg_exe_ids): another file reached by
// that name (a bind mount over it, a chroot's file of the same name, a
// replacement not yet resolved again) is not that executable. A path this host
// does not have (a path inside containers only), or a file on a file system
// whose stat(2) reports another device than the kernel's superblock has (a
// btrfs subvolume, an overlay), is matched by its name. A path an exception
// pins by digest whose file has that content, measured as exe-digest.ts says,
// is verified too (bg_exe_verified): its processes carry BG_EXE_ID_VERIFIED.
import { type BigIntStats, closeSync, constants, openSync, readFileSync, statSync } from 'node:fs';
import { encodeExeIdent, encodeExeVerified, kernelDev } from '../abi/encode/ident.ts';
import { encodeExeId } from '../abi/encode/scope.ts';
import { EXE_ID_BOUND, isContentExe } from '../abi/layout.ts';
import type { MapEntry } from '../abi/plan.ts';
import type { Measurement } from './exe-digest.ts';

/**
 * The executables exceptions pin by content: path → the SHA-256 digests (hex)
 * its file may have, and how a file is measured (src/kernel/exe-digest.ts).
 */
export interface ExePins {
  digests: Readonly<Record<string, readonly string[]>>;
  /** `st`: what stat(2) said of the path just before (a measurement of that state may be reused) */
  measure: (
    path: string,
    st: Pick<BigIntStats, 'dev' | 'ino'> & Partial<Pick<BigIntStats, 'ctimeNs' | 'size'>>,
  ) => Measurement;
}

export type ExeStatFn = (path: string) =>
  | (Pick<BigIntStats, 'dev' | 'ino' | 'isFile'> &
      Partial<Pick<BigIntStats, 'ctimeNs' | 'size'>> & {
        /**
         * the device of the file's superblock as the kernel has it (sb->s_dev:
         * mountinfo's major:minor of the mount the file is on); undefined when
         * it cannot be told
         */
        superDev?: number;
      })
  | undefined;

/** mount id → the device of its superblock (the third field of /proc/self/mountinfo is sb->s_dev). Pure. */
export function mountDevices(mountinfo: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const id = Number(f[0]);
    const mm = /^(\d+):(\d+)$/.exec(f[2] ?? '');
    if (!Number.isInteger(id) || !mm) continue;
    const major = Number(mm[1]);
    const minor = Number(mm[2]);
    if (major >= 1 << 12 || minor >= 1 << 20) continue;
    out.set(id, major * (1 << 20) + minor);
  }
  return out;
}

/** The device of the superblock a regular file is on: its mount (fdinfo's mnt_id) in mountinfo. */
function superDevOf(path: string, mounts: () => Map<number, number>): number | undefined {
  let fd: number | undefined;
  try {
    // O_NONBLOCK: never wait on what is not a regular file by the time it is opened
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    const m = /^mnt_id:\s*(\d+)$/m.exec(info);
    return m ? mounts().get(Number(m[1])) : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** stat(2), following symbolic links as exec does: a rule naming /usr/bin/python3 names the file it leads to. */
function liveStat(): ExeStatFn {
  let mounts: Map<number, number> | undefined;
  const table = () => {
    mounts ??= mountDevices(readFileSync('/proc/self/mountinfo', 'utf8'));
    return mounts;
  };
  return (path) => {
    try {
      const st = statSync(path, { bigint: true, throwIfNoEntry: false });
      if (!st) return undefined;
      return Object.assign(st, { superDev: st.isFile() ? superDevOf(path, table) : undefined });
    } catch {
      return undefined; // unreadable: its name alone decides
    }
  };
}

export interface ExeIdentities {
  /** bg_exe_idents entries: identity → exe id */
  idents: MapEntry[];
  /** bg_exe_verified entries: the identities whose content has a digest their path is pinned to */
  verified: MapEntry[];
  /** the byInode keys of those */
  verifiedInodes: Set<string>;
  /** pinned paths whose file this host has but whose content was not verified, and why */
  unverified: { path: string; reason: string }[];
  /** bg_exe_ids entries: path → exe id, BG_EXE_ID_BOUND set where the path has an identity here */
  ids: MapEntry[];
  /** `${kernel dev}:${ino}` → exe id (for the processes running at start) */
  byInode: Map<string, number>;
  /** the paths that are bound */
  bound: Set<string>;
}

function kernelDevOrNull(stDev: bigint): number | null {
  try {
    return kernelDev(stDev);
  } catch {
    return null;
  }
}

/** The key byInode uses. */
export const inodeKey = (dev: number, ino: bigint): string => `${dev}:${ino}`;

/**
 * The identities of the named executables that exist now, as regular files.
 * Two names of one file (hard links both named): the first in path order
 * gives the identity its id.
 */
export function resolveExeIdentities(
  exeIds: Readonly<Record<string, number>>,
  stat: ExeStatFn = liveStat(),
  pins: ExePins = { digests: {}, measure: () => ({ ok: false, reason: 'not measured' }) },
): ExeIdentities {
  const byInode = new Map<string, number>();
  const bound = new Set<string>();
  const idents: MapEntry[] = [];
  const ids: MapEntry[] = [];
  const verified: MapEntry[] = [];
  const verifiedInodes = new Set<string>();
  const unverified: { path: string; reason: string }[] = [];
  for (const [path, id] of Object.entries(exeIds).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    // a digest excepted alone names no file: kept by name (adoption reads the ids back)
    if (isContentExe(path)) {
      ids.push(encodeExeId(path, id));
      continue;
    }
    const st = stat(path);
    // only where stat's device is the kernel's (not on a btrfs subvolume or an overlay, whose
    // stat reports another device): there the name decides, as for a path the host lacks
    const dev = st?.isFile() ? kernelDevOrNull(st.dev) : null;
    if (st && dev !== null && st.superDev === dev) {
      const key = inodeKey(dev, st.ino);
      bound.add(path);
      if (!byInode.has(key)) {
        byInode.set(key, id);
        idents.push(encodeExeIdent(dev, st.ino, id));
        const want = pins.digests[path];
        if (want) {
          const m = pins.measure(path, st);
          if (!m.ok) unverified.push({ path, reason: m.reason });
          else if (m.dev !== st.dev || m.ino !== st.ino)
            unverified.push({ path, reason: 'changing (replaced while it was read)' });
          else if (!want.includes(m.sha256))
            unverified.push({ path, reason: `another digest (sha256 ${m.sha256})` });
          else {
            verified.push(encodeExeVerified(dev, st.ino, m.ctimeNs, m.size));
            verifiedInodes.add(key);
          }
        }
      }
    }
    ids.push(encodeExeId(path, bound.has(path) ? (id | EXE_ID_BOUND) >>> 0 : id));
  }
  return { idents, ids, byInode, bound, verified, verifiedInodes, unverified };
}
