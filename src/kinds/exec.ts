// exec: program execution. Decided on the executed file's path before the new
// program runs (BPF-LSM bprm_check_security), or by killing the new program
// before its first instruction (the sched_process_exec tracepoint). With
// BPF-LSM, a file mapped executable (mmap_file, file_mprotect: the dynamic
// loader run on it, a loader of one's own) is decided as its exec.
// `fileless` matches a file with no name in any file system (memfd,
// O_TMPFILE, deleted), decided on the inode's link count.
// BPF side: bpf/kinds/exec.h.
import { basename } from 'node:path';
import { PATH_FILELESS_TARGET } from '../abi/layout.ts';
import { pathKeys } from './keys.ts';
import { ALL_ACTIONS, defineKind, wholeUnit } from './kind.ts';
import { fileObj, OCSF_CLASSES } from './ocsf.ts';
import {
  PATH_PROPERTIES,
  type PathTargets,
  pathsOf,
  pathTargetKeys,
  readPathTargets,
  unresolvedPathKeys,
} from './paths.ts';
import { obj, record, string } from './schema.ts';

export interface ExecMatch extends PathTargets {
  kind: 'exec';
  /** files with no name in any file system: memfd, O_TMPFILE, deleted (set only when true) */
  fileless?: true;
}

/** How the file came to run: the record's op (BG_EXEC_VIA_* in bpf/kinds/exec.h). */
export const EXEC_VIA = ['exec', 'mmap', 'mprotect'] as const;
export type ExecVia = (typeof EXEC_VIA)[number];
/** the record's arg[0]: the file had no name in any file system (BG_EXEC_F_FILELESS) */
const EXEC_F_FILELESS = 1n;

export interface ExecTarget {
  path: string;
  /** exec: the file was exec'd; mmap, mprotect: it was mapped executable (not exec'd) */
  via: ExecVia;
  fileless: boolean;
}

/** The programs that decide an exec itself: also the allowlists' posture. */
const EXEC_HOOKS = [{ program: 'bg_lsm_bprm_check' }, { program: 'bg_tp_exec' }] as const;
/** Files mapped executable: BPF-LSM (or fmod_ret) only, no tracepoint sees them. */
const MAP_HOOKS = [{ program: 'bg_lsm_mmap_file' }, { program: 'bg_lsm_file_mprotect' }] as const;
const HOOKS = [...EXEC_HOOKS, ...MAP_HOOKS] as const;
const FILELESS = '(fileless)';

export const exec = defineKind<ExecMatch, ExecTarget>('exec', 1, {
  actions: ALL_ACTIONS,
  match: obj('exec match', 'Which program executions the rule matches (paths and/or directories).', {
    ...PATH_PROPERTIES,
    fileless: {
      type: 'boolean',
      description:
        'true: also match executing (or mapping executable) a file with no name in any file system: a memfd, an O_TMPFILE file, a deleted binary.',
    },
  }),
  normalize: (r, m, path) => {
    const fileless = m.fileless === true;
    const targets = readPathTargets(r, m, path, { count: fileless ? 1 : 0, what: 'fileless: true' });
    return { kind: 'exec', ...targets, ...(fileless ? { fileless } : {}) };
  },
  targets: (m) => [...pathsOf(m), ...(m.fileless ? [FILELESS] : [])],
  budget: 'pathRules',
  entries: (m) => pathsOf(m).length + (m.fileless ? 1 : 0),
  // an allowlist's executables get exe ids, as scopes and exceptions do
  executables: (m, action) => (action === 'allow' ? m.paths : []),

  hooks: HOOKS,
  keys: (m, ctx) => [
    ...pathTargetKeys(ctx, 1, 0, m),
    ...(m.fileless ? pathKeys(ctx, 1, 0, [PATH_FILELESS_TARGET], []) : []),
  ],
  unresolvedKeys: (_m, ctx) => unresolvedPathKeys(ctx, 1, 0),
  units: () => [
    ...wholeUnit('exec', EXEC_HOOKS),
    { ...wholeUnit('mapped executable', MAP_HOOKS)[0]!, notForAllow: true },
  ],
  coverageNote:
    'a file mapped executable (the dynamic loader run on a program, mmap or mprotect with PROT_EXEC) is decided only by the security hooks mmap_file and file_mprotect (BPF-LSM or fmod_ret)',
  // an allowlist decides execs; executable mappings never take its default (every library would miss it)
  posture: () => wholeUnit('exec', EXEC_HOOKS),

  target: record(['path', 'via', 'fileless'], {
    path: string,
    via: { enum: [...EXEC_VIA] },
    fileless: { type: 'boolean' },
  }),
  decode: (r) => ({
    path: r.path,
    via: EXEC_VIA[r.op] ?? 'exec',
    fileless: (r.args[0] & EXEC_F_FILELESS) !== 0n,
  }),
  describe: (t) =>
    `${t.path}${t.via === 'exec' ? '' : ` (mapped executable by ${t.via})`}${t.fileless ? ' (fileless)' : ''}`,
  ocsf: (e) => ({
    cls: OCSF_CLASSES.process,
    activity: [1, 'Launch'],
    fields: {
      process: { pid: e.process.tgid, name: basename(e.target.path), file: fileObj(e.target.path) },
    },
  }),
  // a mapping does not replace the process's image
  newImage: (op) => op === 0,

  representatives: [{ match: '{ paths: [/usr/bin/true] }' }],
});
