// mount: mount, umount and pivot_root, by filesystem type (BPF-LSM sb_mount,
// sb_umount, sb_pivotroot; sys_enter kills after the call where they are
// missing). BPF side: bpf/kinds/mount.h.
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
}

const HOOKS = [
  { program: 'bg_lsm_sb_mount', ops: ['mount'] },
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
  units: (m) => opUnits(HOOKS, m.operations),

  target: record(['operation', 'mountPoint', 'flags'], {
    operation: namesOrUnknown(MOUNT_OPS.names),
    mountPoint: string,
    fsType: string,
    flags: string,
  }),
  decode: (r) => {
    const flags = u32(r.args[0]);
    const fsType = cString(r.aux);
    return {
      operation: MOUNT_OPS.name(r.op) ?? 'unknown',
      mountPoint: r.path,
      ...(fsType ? { fsType } : {}),
      flags: MOUNT_FLAG.bits(flags).join(',') || `0x${flags.toString(16)}`,
    };
  },
  describe: (t) => `${t.operation} ${t.mountPoint}${t.fsType ? ` (${t.fsType})` : ''}`,
  ocsf: (e) => {
    const op = e.target.operation;
    const activity: [number, string] =
      op === 'mount' ? [12, 'Mount'] : op === 'umount' ? [13, 'Unmount'] : [99, 'Pivot Root'];
    return { cls: OCSF_CLASSES.file, activity, fields: { file: fileObj(e.target.mountPoint, 2) } };
  },

  representatives: [{ match: '{}' }],
});
