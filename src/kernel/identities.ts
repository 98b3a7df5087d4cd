// File identities (bg_file_ids, bpf/lib/ident.h): every existing path and
// directory a plan's file rules name, and every directory on the way to them,
// resolved on this host to the kernel's (device, inode), so that the programs
// decide a file by what it is whatever name reached it (a hard link, a bind
// mount, another mount, a mount namespace, a chroot).
import { type BigIntStats, lstatSync } from 'node:fs';
import { encodeFileId, type FileId, kernelDev } from '../abi/encode/ident.ts';
import { decodePathKey } from '../abi/encode/path.ts';
import { MapName } from '../abi/layout.ts';
import type { MapEntry, Plan } from '../abi/plan.ts';
import { Kind } from '../kinds/index.ts';

/** A path a file rule names: exactly (`dir` false) or a directory and everything below it. */
export interface IdentityTarget {
  /** as bg_path_rules keys it: a directory ends in '/' */
  path: string;
  dir: boolean;
}

/** The paths and directories the plan's file rules name, sorted, each once. Pure. */
export function identityTargets(plan: Pick<Plan, 'maps'>): IdentityTarget[] {
  const seen = new Map<string, IdentityTarget>();
  for (const fill of plan.maps) {
    if (fill.map !== MapName.pathRules) continue;
    for (const e of fill.entries) {
      const k = decodePathKey(e.key);
      // the unresolved and foreign keys (\x01, \x03) name no file
      if (k.kind !== Kind.file || !k.path.startsWith('/')) continue;
      seen.set(k.path, { path: k.path, dir: k.prefix });
    }
  }
  return [...seen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The directories above an absolute path, nearest first, "/" excluded. Pure. */
export function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  const parts = path.split('/').filter((p) => p !== '');
  for (let i = parts.length - 1; i >= 1; i--) out.push(`/${parts.slice(0, i).join('/')}`);
  return out;
}

export type StatFn = (path: string) => Pick<BigIntStats, 'dev' | 'ino' | 'isDirectory'> | undefined;

const lstat: StatFn = (path) => {
  try {
    return lstatSync(path, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined; // unreadable: no identity (its name still decides)
  }
};

/**
 * The identities of targets that exist now, under generation gen. The last
 * component is not followed (lstat: a rule naming a symbolic link names the
 * link). A path a rule names, or a directory, takes its inode before any
 * directory on the way to another target does; among those, the first in
 * order. A missing path has no identity: its name alone decides.
 */
export function resolveIdentities(
  targets: readonly IdentityTarget[],
  gen: number,
  stat: StatFn = lstat,
): FileId[] {
  const byInode = new Map<string, FileId>();
  const put = (path: string, id: Omit<FileId, 'gen' | 'dev' | 'ino'>, wantDir: boolean): void => {
    const st = stat(path);
    if (!st || (wantDir && !st.isDirectory())) return;
    const dev = kernelDev(st.dev);
    const key = `${dev}:${st.ino}`;
    if (!byInode.has(key)) byInode.set(key, { gen, dev, ino: st.ino, ...id });
  };
  for (const t of targets) {
    const name = t.dir && t.path !== '/' ? t.path.slice(0, -1) : t.path;
    put(name, { type: t.dir ? 'dir' : 'file', path: t.path }, t.dir);
  }
  for (const t of targets)
    for (const a of ancestorsOf(t.path)) put(a, { type: 'ancestor', path: t.path }, true);
  return [...byInode.values()];
}

/** bg_file_ids holds both generations (bpf/lib/maps.h BG_RULES_MAX): one generation's share */
export const FILE_IDS_MAX = 8192;

/** bg_file_ids entries of a plan under gen (the paths and directories rules name first, then the directories on the way). */
export function fileIdentityEntries(plan: Pick<Plan, 'maps'>, gen: number, stat: StatFn = lstat): MapEntry[] {
  return resolveIdentities(identityTargets(plan), gen, stat).slice(0, FILE_IDS_MAX).map(encodeFileId);
}
