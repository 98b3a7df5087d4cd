// ptrace: access to another process, to attach (PTRACE_ATTACH/SEIZE,
// process_vm_writev) or to read (/proc/<pid>/mem...). BPF-LSM
// ptrace_access_check; sys_enter kills after the call where it is missing.
// BPF side: bpf/kinds/ptrace.h.
import { Numbered, PTRACE_MODE } from '../abi/numbers.ts';
import { u32 } from './decode.ts';
import { ruleKey } from './keys.ts';
import { defineKind, ENFORCING, wholeUnit } from './kind.ts';
import { OCSF_CLASSES } from './ocsf.ts';
import { namesOrUnknown, obj, oneOfNames, record, u32 as u32Schema } from './schema.ts';

/** The modes, and their op byte (BG_OP_PTRACE_*). */
export const PTRACE_OPS = new Numbered('ptrace mode', { attach: 1, read: 2 });
export type PtraceMode = (typeof PTRACE_OPS.names)[number];

export interface PtraceMatch {
  kind: 'ptrace';
  modes: PtraceMode[];
}

export interface PtraceTarget {
  pid: number;
  mode: string;
}

const HOOKS = [{ program: 'bg_lsm_ptrace' }, { program: 'bg_tp_sys_enter' }] as const;

export const ptrace = defineKind<PtraceMatch, PtraceTarget>('ptrace', 6, {
  ops: PTRACE_OPS,
  actions: ENFORCING,
  match: obj('ptrace match', 'Which ptrace accesses to another process the rule matches.', {
    modes: oneOfNames(
      PTRACE_OPS.names,
      'attach (PTRACE_ATTACH/SEIZE) and read (/proc/<pid>/mem...). Omitted: both.',
    ),
  }),
  normalize: (r, m, path) => ({ kind: 'ptrace', modes: r.qualifier(m, 'modes', PTRACE_OPS.names, path) }),
  targets: (m) => m.modes,
  budget: 'rules',
  entries: (m) => m.modes.length,

  hooks: HOOKS,
  keys: (m, ctx) => m.modes.map((mode) => ruleKey(ctx, 6, PTRACE_OPS.number(mode))),
  units: () => wholeUnit('ptrace', HOOKS),

  target: record(['pid', 'mode'], { pid: u32Schema, mode: namesOrUnknown(PTRACE_OPS.names) }),
  decode: (r) => ({ pid: u32(r.args[0]), mode: PTRACE_OPS.name(u32(r.args[1]) || r.op) ?? 'unknown' }),
  describe: (t) => `${t.mode} pid ${t.pid}`,
  ocsf: (e) => ({
    cls: OCSF_CLASSES.process,
    activity: [3, 'Open'],
    fields: {
      process: { pid: Number(e.target.pid) },
      requested_permissions: PTRACE_MODE.number(e.target.mode === 'attach' ? 'attach' : 'read'),
    },
  }),

  representatives: [{ match: '{}' }],
});
