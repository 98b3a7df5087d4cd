// mount: mount, umount and pivot_root, by filesystem type (BPF-LSM sb_mount,
// move_mount, sb_umount, sb_pivotroot; sys_enter kills after the call where
// they are missing). `mount` covers every way to put a file system somewhere:
// mount(2) new mounts, binds, remounts, moves and propagation changes, and the
// new mount API's move_mount (what fsmount or open_tree made). The type is the
// superblock's wherever the hook has one; a bind or move by mount(2) names its
// source by a string the hook cannot resolve: decided fail closed
// (unresolvedKeys). BPF side: bpf/kinds/mount.h.
import { ANY, fnv1a32 } from '../abi/layout.ts';
import { MOUNT_FLAG, Numbered } from '../abi/numbers.ts';
import { cString, u32 } from './decode.ts';
import { ruleKey } from './keys.ts';
import { cross, dedupe, defineKind, ENFORCING, opUnits } from './kind.ts';
import { fileObj, OCSF_CLASSES } from './ocsf.ts';
import { list, namesOrUnknown, obj, oneOfNames, record, string } from './schema.ts';

/** The operations, and their op byte (BG_OP_MOUNT, BG_OP_UMOUNT, BG_OP_PIVOT_ROOT). */
export const MOUNT_OPS = new Numbered('mount operation', { mount: 1, umount: 2, pivot_root: 3 });
export type MountOperation = (typeof MOUNT_OPS.names)[number];

/** The type key of a mount whose filesystem type the hook cannot know (BG_MOUNT_TYPE_UNRESOLVED). */
export const MOUNT_TYPE_UNRESOLVED = 0xfffffffe;

/** The record's arg1: the call a mount came through when it is not mount(2) (BG_MOUNT_VIA_*). */
const MOUNT_VIA = new Numbered('mount call', { move_mount: 1 });

export const FS_TYPE_PATTERN = '^[a-z0-9][a-z0-9._+-]*$';

export interface MountMatch {
  kind: 'mount';
  operations: MountOperation[];
  /** empty = any */
  fsTypes: string[];
}

export interface MountTarget {
  operation: string;
  mountPoint: string;
  fsType?: string;
  flags: string;
  /** the call, when it is not mount(2): move_mount (the new mount API) */
  via?: string;
}

const HOOKS = [
  { program: 'bg_lsm_sb_mount', ops: ['mount'] },
  { program: 'bg_lsm_move_mount', ops: ['mount'] },
  { program: 'bg_lsm_sb_umount', ops: ['umount'] },
  { program: 'bg_lsm_sb_pivotroot', ops: ['pivot_root'] },
  { program: 'bg_tp_sys_enter' },
] as const;

const fsTypesOf = (m: MountMatch): string[] => (m.fsTypes.length > 0 ? m.fsTypes : ['*']);

export const mount = defineKind<MountMatch, MountTarget>('mount', 7, {
  ops: MOUNT_OPS,
  actions: ENFORCING,
  match: obj('mount match', 'Which mount operations the rule matches.', {
    operations: oneOfNames(MOUNT_OPS.names, 'Mount operations. Omitted: all three.'),
    fsTypes: list(
      {
        type: 'string',
        pattern: FS_TYPE_PATTERN,
        description: 'A filesystem type as in /proc/filesystems.',
      },
      'Filesystem types (proc, overlay, ext4...). Omitted: any type.',
    ),
  }),
  patternHints: { [FS_TYPE_PATTERN]: 'a filesystem type such as ext4 or overlay' },
  normalize: (r, m, path) => ({
    kind: 'mount',
    operations: r.qualifier(m, 'operations', MOUNT_OPS.names, path),
    fsTypes: dedupe(r.optional<string>(m, 'fsTypes', path)),
  }),
  targets: (m) => cross(m.operations, fsTypesOf(m)),
  budget: 'rules',
  entries: (m) => m.operations.length * fsTypesOf(m).length,

  hooks: HOOKS,
  keys: (m, ctx) => {
    const fs = m.fsTypes.length === 0 ? [ANY] : m.fsTypes.map(fnv1a32);
    return m.operations.flatMap((op) => fs.map((a) => ruleKey(ctx, 7, MOUNT_OPS.number(op), a)));
  },
  // a bind or move by mount(2): the source's type is not known to the hook (a rule
  // for any type matches it through BG_ANY already)
  unresolvedKeys: (m, ctx) =>
    m.operations.includes('mount') && m.fsTypes.length > 0
      ? [ruleKey(ctx, 7, MOUNT_OPS.number('mount'), MOUNT_TYPE_UNRESOLVED)]
      : [],
  units: (m) => opUnits(HOOKS, m.operations),

  target: record(['operation', 'mountPoint', 'flags'], {
    operation: namesOrUnknown(MOUNT_OPS.names),
    mountPoint: string,
    fsType: string,
    flags: string,
    via: { enum: [...MOUNT_VIA.names] },
  }),
  decode: (r) => {
    const flags = u32(r.args[0]);
    const fsType = cString(r.aux);
    const via = MOUNT_VIA.name(u32(r.args[1]));
    return {
      operation: MOUNT_OPS.name(r.op) ?? 'unknown',
      mountPoint: r.path,
      ...(fsType ? { fsType } : {}),
      flags: MOUNT_FLAG.bits(flags).join(',') || `0x${flags.toString(16)}`,
      ...(via ? { via } : {}),
    };
  },
  describe: (t) =>
    `${t.operation} ${t.mountPoint}${t.fsType ? ` (${t.fsType})` : ''}${t.via ? ` by ${t.via}` : ''}`,
  ocsf: (e) => {
    const op = e.target.operation;
    const activity: [number, string] =
      op === 'mount' ? [12, 'Mount'] : op === 'umount' ? [13, 'Unmount'] : [99, 'Pivot Root'];
    return { cls: OCSF_CLASSES.file, activity, fields: { file: fileObj(e.target.mountPoint, 2) } };
  },

  representatives: [{ match: '{}' }],
});
