// setuid: changes of user id, to root or any (BPF-LSM task_fix_setuid;
// sys_enter kills after the call where it is missing).
// BPF side: bpf/kinds/setuid.h.
import { Numbered } from '../abi/numbers.ts';
import { u32 } from './decode.ts';
import { ruleKey } from './keys.ts';
import { defineKind, ENFORCING, wholeUnit } from './kind.ts';
import { OCSF_CLASSES, userObj } from './ocsf.ts';
import { obj, record, u32 as u32Schema } from './schema.ts';

/** What a rule matches, and its op byte (BG_OP_SETUID_TO_ROOT, BG_OP_SETUID_ANY). */
export const SETUID_OPS = new Numbered('setuid target', { root: 1, any: 2 });

export interface SetuidMatch {
  kind: 'setuid';
  to: 'root' | 'any';
}

export interface SetuidTarget {
  oldUid: number;
  newUid: number;
  newEuid: number;
  toRoot: boolean;
}

const HOOKS = [{ program: 'bg_lsm_task_fix_setuid' }, { program: 'bg_tp_sys_enter' }] as const;

export const setuid = defineKind<SetuidMatch, SetuidTarget>('setuid', 8, {
  ops: SETUID_OPS,
  actions: ENFORCING,
  match: obj(
    'setuid match',
    'Which user id changes the rule matches.',
    {
      to: { enum: ['root', 'any'], description: 'root: a change to uid 0; any: every change of user id.' },
    },
    ['to'],
  ),
  normalize: (_r, m) => ({ kind: 'setuid', to: m.to as 'root' | 'any' }),
  targets: (m) => [m.to],
  budget: 'rules',
  entries: () => 1,

  hooks: HOOKS,
  keys: (m, ctx) => [ruleKey(ctx, 8, SETUID_OPS.number(m.to))],
  units: () => wholeUnit('setuid', HOOKS),

  target: record(['oldUid', 'newUid', 'newEuid', 'toRoot'], {
    oldUid: u32Schema,
    newUid: u32Schema,
    newEuid: u32Schema,
    toRoot: { type: 'boolean' },
  }),
  decode: (r) => {
    const [a0, a1, a2] = r.args;
    return { oldUid: u32(a0), newUid: u32(a1), newEuid: u32(a2), toRoot: u32(a1) === 0 || u32(a2) === 0 };
  },
  describe: (t) => `uid ${t.oldUid} -> ${t.newUid}`,
  ocsf: (e) => ({
    cls: OCSF_CLASSES.process,
    activity: [5, 'Set User ID'],
    fields: {
      process: { pid: e.process.tgid, name: e.process.comm, user: userObj(Number(e.target.newUid)) },
    },
  }),

  representatives: [{ match: '{ to: root }' }],
});
