// exec: program execution. Decided on the executed file's path before the new
// program runs (BPF-LSM bprm_check_security), or by killing the new program
// before its first instruction (the sched_process_exec tracepoint).
// BPF side: bpf/kinds/exec.h.
import { basename } from 'node:path';
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
}

export interface ExecTarget {
  path: string;
}

const HOOKS = [{ program: 'bg_lsm_bprm_check' }, { program: 'bg_tp_exec' }] as const;

export const exec = defineKind<ExecMatch, ExecTarget>('exec', 1, {
  actions: ALL_ACTIONS,
  match: obj(
    'exec match',
    'Which program executions the rule matches (paths and/or directories).',
    PATH_PROPERTIES,
  ),
  normalize: (r, m, path) => ({ kind: 'exec', ...readPathTargets(r, m, path) }),
  targets: (m) => pathsOf(m),
  budget: 'pathRules',
  entries: (m) => pathsOf(m).length,
  // an allowlist's executables get exe ids, as scopes and exceptions do
  executables: (m, action) => (action === 'allow' ? m.paths : []),

  hooks: HOOKS,
  keys: (m, ctx) => pathTargetKeys(ctx, 1, 0, m),
  unresolvedKeys: (_m, ctx) => unresolvedPathKeys(ctx, 1, 0),
  units: () => wholeUnit('exec', HOOKS),
  posture: () => wholeUnit('exec', HOOKS),

  target: record(['path'], { path: string }),
  decode: (r) => ({ path: r.path }),
  describe: (t) => t.path,
  ocsf: (e) => ({
    cls: OCSF_CLASSES.process,
    activity: [1, 'Launch'],
    fields: {
      process: { pid: e.process.tgid, name: basename(e.target.path), file: fileObj(e.target.path) },
    },
  }),
  newImage: true,

  representatives: [{ match: '{ paths: [/usr/bin/true] }' }],
});
