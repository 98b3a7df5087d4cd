// file: file access by operation. Decided on the path before the access
// (BPF-LSM file_open and path_* hooks), or by killing the caller after the
// system call (sys_enter, on the path the caller passed).
// BPF side: bpf/kinds/file.h.
import { Numbered } from '../abi/numbers.ts';
import { cString, u32 } from './decode.ts';
import { ALL_ACTIONS, cross, defineKind, opUnits } from './kind.ts';
import { fileObj, OCSF_CLASSES } from './ocsf.ts';
import {
  foreignPathKeys,
  PATH_PROPERTIES,
  type PathTargets,
  pathsOf,
  pathTargetKeys,
  readPathTargets,
  unresolvedPathKeys,
} from './paths.ts';
import { obj, oneOfNames, record, string } from './schema.ts';

/** The operations, and their op byte (enum bg_op BG_OP_FILE_*). */
export const FILE_OPS = new Numbered('file operation', {
  read: 1,
  write: 2,
  create: 3,
  unlink: 4,
  rename: 5,
  chmod: 6,
  chown: 7,
  link: 8,
  truncate: 9,
  /** a setuid or setgid bit set on a regular file: chmod, or created with it */
  setid: 10,
  /** file capabilities added: the security.capability extended attribute (setcap) */
  setcap: 11,
  /** a directory created */
  mkdir: 12,
  /** a symbolic link created */
  symlink: 13,
  /** an extended attribute set or removed (file capabilities too) */
  xattr: 14,
});
export const FILE_OPERATIONS = FILE_OPS.names;

/** The operations in a record's mask (arg[1]: BG_FILE_OP() of each), in their order. */
export function operationsOf(mask: number): string[] {
  return FILE_OPERATIONS.filter((op) => (mask & (1 << FILE_OPS.number(op))) !== 0);
}
export type FileOperation = (typeof FILE_OPERATIONS)[number];

export interface FileMatch extends PathTargets {
  kind: 'file';
  operations: FileOperation[];
}

export interface FileTarget {
  path: string;
  /** the operation the rule decided on */
  operation: string;
  /** every operation the one access is, when it is more than one (an open O_TRUNC: write and truncate) */
  operations?: string[];
  /** rename and link: the new name */
  newPath?: string;
}

const HOOKS = [
  { program: 'bg_lsm_file_open', ops: ['read', 'write', 'truncate'] },
  { program: 'bg_lsm_path_mknod', ops: ['create', 'setid'] },
  { program: 'bg_lsm_path_unlink', ops: ['unlink'] },
  { program: 'bg_lsm_path_rename', ops: ['rename'] },
  { program: 'bg_lsm_path_chmod', ops: ['chmod', 'setid'] },
  { program: 'bg_lsm_path_chown', ops: ['chown'] },
  { program: 'bg_lsm_path_link', ops: ['link'] },
  { program: 'bg_lsm_path_truncate', ops: ['truncate'] },
  { program: 'bg_lsm_inode_setxattr', ops: ['setcap', 'xattr'] },
  { program: 'bg_lsm_inode_removexattr', ops: ['xattr'] },
  { program: 'bg_lsm_path_mkdir', ops: ['mkdir'] },
  { program: 'bg_lsm_path_symlink', ops: ['symlink'] },
  // the system calls' strings: neither the new mode's effect nor extended attributes
  {
    program: 'bg_tp_sys_enter',
    ops: ['read', 'write', 'create', 'unlink', 'rename', 'chmod', 'chown', 'link', 'truncate'],
  },
] as const;

const ACTIVITY: Record<string, [number, string]> = {
  read: [2, 'Read'],
  write: [3, 'Update'],
  create: [1, 'Create'],
  unlink: [4, 'Delete'],
  rename: [5, 'Rename'],
  chmod: [7, 'Set Security'],
  chown: [7, 'Set Security'],
  link: [1, 'Create'],
  truncate: [3, 'Update'],
  setid: [7, 'Set Security'],
  setcap: [7, 'Set Security'],
  mkdir: [1, 'Create'],
  symlink: [1, 'Create'],
  xattr: [6, 'Set Attributes'],
};

export const file = defineKind<FileMatch, FileTarget>('file', 2, {
  ops: FILE_OPS,
  actions: ALL_ACTIONS,
  match: obj('file match', 'Which file accesses the rule matches (paths and/or directories).', {
    ...PATH_PROPERTIES,
    operations: oneOfNames(FILE_OPERATIONS, 'File operations. Omitted: every operation.'),
  }),
  normalize: (r, m, path) => ({
    kind: 'file',
    ...readPathTargets(r, m, path),
    operations: r.qualifier(m, 'operations', FILE_OPERATIONS, path),
  }),
  targets: (m) => cross(m.operations, pathsOf(m)),
  budget: 'pathRules',
  entries: (m) => m.operations.length * pathsOf(m).length,

  hooks: HOOKS,
  keys: (m, ctx) => m.operations.flatMap((op) => pathTargetKeys(ctx, 2, FILE_OPS.number(op), m)),
  unresolvedKeys: (m, ctx) =>
    m.operations.flatMap((op) => [
      ...unresolvedPathKeys(ctx, 2, FILE_OPS.number(op)),
      ...foreignPathKeys(ctx, 2, FILE_OPS.number(op), m),
    ]),
  units: (m) => opUnits(HOOKS, m.operations),
  posture: () => opUnits(HOOKS, FILE_OPERATIONS),

  target: record(['path', 'operation'], {
    path: string,
    operation: { enum: [...FILE_OPERATIONS] },
    operations: { type: 'array', items: { enum: [...FILE_OPERATIONS] } },
    newPath: string,
  }),
  decode: (r) => {
    const operation = FILE_OPS.name(r.op) ?? `op${r.op}`;
    const newPath = cString(r.aux);
    const t: FileTarget =
      newPath && (operation === 'rename' || operation === 'link')
        ? { path: r.path, operation, newPath }
        : { path: r.path, operation };
    const all = operationsOf(u32(r.args[1]));
    if (all.length > 1) t.operations = all;
    return t;
  },
  describe: (t) =>
    `${t.operations ? t.operations.join('+') : t.operation} ${t.path}${t.newPath ? ` -> ${t.newPath}` : ''}`,
  ocsf: (e) => ({
    cls: OCSF_CLASSES.file,
    activity: ACTIVITY[e.target.operation] ?? [99, 'Other'],
    fields: { file: fileObj(e.target.path) },
  }),

  representatives: [
    {
      match:
        '{ paths: [/etc/shadow], operations: [read, write, create, unlink, rename, chmod, chown, link, truncate] }',
    },
    // privilege granted to a file: decided only by the security hooks (a system call's
    // arguments do not say whether a bit is new or what an extended attribute holds)
    { rule: 'file-setid', match: '{ directories: [/], operations: [setid, setcap] }' },
    // names made in a directory and extended attributes: security hooks only (sys_enter has no room for them)
    { rule: 'file-tree', match: '{ directories: [/], operations: [mkdir, symlink, xattr] }' },
  ],
});
