// What exec and file rules share: targets that are absolute paths
// (`paths`, matched exactly) and directories (`directories`, everything
// below them), looked up in bg_path_rules. Pure.
import { directoryPrefix } from '../abi/encode/path.ts';
import { PATH_FOREIGN_TARGET, PATH_UNRESOLVED_TARGET } from '../abi/layout.ts';
import { pathKeys } from './keys.ts';
import type { Json, KeyContext, MapKey, MatchReader, Raw } from './kind.ts';
import { list, ref } from './schema.ts';

export interface PathTargets {
  paths: string[];
  directories: string[];
}

/** The `paths` and `directories` keys of a match schema. */
export const PATH_PROPERTIES: Json = {
  paths: list(ref('path'), 'Absolute paths, matched exactly. No wildcards.'),
  directories: list(
    ref('directory'),
    'Absolute directories; everything below them matches. A missing trailing / is added.',
  ),
};

/** Paths and directories, checked; a rule must name at least one (or one of `others`, targets of its own kind). */
export function readPathTargets(
  r: MatchReader,
  m: Raw,
  path: string[],
  others?: { count: number; what: string },
): PathTargets {
  const paths = r.paths(m.paths, 'path', [...path, 'paths']);
  const directories = r.paths(m.directories, 'directory', [...path, 'directories']);
  const written = ((m.paths as unknown[]) ?? []).length + ((m.directories as unknown[]) ?? []).length;
  r.needTargets(
    written + (others?.count ?? 0),
    `paths or directories${others ? ` or ${others.what}` : ''}`,
    path,
  );
  return { paths, directories };
}

export const pathsOf = (m: PathTargets): string[] => [...m.paths, ...m.directories];

/** The keys of paths and directories under one (kind, op). */
export function pathTargetKeys(ctx: KeyContext, kind: number, op: number, m: PathTargets): MapKey[] {
  return pathKeys(ctx, kind, op, m.paths, m.directories.map(directoryPrefix));
}

/** The key of a path the programs could not build, under one (kind, op) (BG_PATH_UNRESOLVED_KEY). */
export function unresolvedPathKeys(ctx: KeyContext, kind: number, op: number): MapKey[] {
  return pathKeys(ctx, kind, op, [PATH_UNRESOLVED_TARGET], []);
}

/**
 * The key of a file an inode hook is given on a file system other than the
 * root's, under one (kind, op) (BG_PATH_FOREIGN_KEY): where it is mounted is
 * not known, only that it is below "/", so only a rule on the directory "/"
 * decides it by name (every other rule, by the file's identity).
 */
export function foreignPathKeys(ctx: KeyContext, kind: number, op: number, m: PathTargets): MapKey[] {
  return m.directories.includes('/') ? pathKeys(ctx, kind, op, [PATH_FOREIGN_TARGET], []) : [];
}
