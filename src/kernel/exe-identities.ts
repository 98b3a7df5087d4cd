// Executable identities (bg_exe_idents, bpf/tracepoint.bpf.c bg_tp_exec): each
// executable a scope, an exception or an exec allow rule names, resolved on
// this host to the kernel's (device, inode), so that the exec tracepoint gives
// a process the exe id of the file it runs, whatever name ran it (a hard link,
// a bind mount, a mount namespace's view, a chroot). A named path whose file
// exists here is bound (BG_EXE_ID_BOUND in bg_exe_ids): another file reached by
// that name (a bind mount over it, a chroot's file of the same name, a
// replacement not yet resolved again) is not that executable. A path this host
// does not have (a path inside containers only) is matched by its name.
import { type BigIntStats, statSync } from 'node:fs';
import { encodeExeIdent, kernelDev } from '../abi/encode/ident.ts';
import { encodeExeId } from '../abi/encode/scope.ts';
import { EXE_ID_BOUND } from '../abi/layout.ts';
import type { MapEntry } from '../abi/plan.ts';

export type ExeStatFn = (path: string) => Pick<BigIntStats, 'dev' | 'ino' | 'isFile'> | undefined;

/** stat(2), following symbolic links as exec does: a rule naming /usr/bin/python3 names the file it leads to. */
const statFollow: ExeStatFn = (path) => {
  try {
    return statSync(path, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined; // unreadable: its name alone decides
  }
};

export interface ExeIdentities {
  /** bg_exe_idents entries: identity → exe id */
  idents: MapEntry[];
  /** bg_exe_ids entries: path → exe id, BG_EXE_ID_BOUND set where the path has an identity here */
  ids: MapEntry[];
  /** `${kernel dev}:${ino}` → exe id (for the processes running at start) */
  byInode: Map<string, number>;
  /** the paths that are bound */
  bound: Set<string>;
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
  stat: ExeStatFn = statFollow,
): ExeIdentities {
  const byInode = new Map<string, number>();
  const bound = new Set<string>();
  const idents: MapEntry[] = [];
  const ids: MapEntry[] = [];
  for (const [path, id] of Object.entries(exeIds).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const st = stat(path);
    if (st?.isFile()) {
      const dev = kernelDev(st.dev);
      const key = inodeKey(dev, st.ino);
      bound.add(path);
      if (!byInode.has(key)) {
        byInode.set(key, id);
        idents.push(encodeExeIdent(dev, st.ino, id));
      }
    }
    ids.push(encodeExeId(path, bound.has(path) ? (id | EXE_ID_BOUND) >>> 0 : id));
  }
  return { idents, ids, byInode, bound };
}
