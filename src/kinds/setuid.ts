// setuid: changes of the task's identity, to root or any: user ids (BPF-LSM
// task_fix_setuid; sys_enter kills after the call where it is missing), and
// with `ids:` group ids (task_fix_setgid), supplementary groups
// (task_fix_setgroups), capabilities (capset) and new user namespaces
// (userns_create), which only the security hooks see.
// BPF side: bpf/kinds/setuid.h.
import { CAPABILITY, Numbered } from '../abi/numbers.ts';
import { u32 } from './decode.ts';
import { ruleKey } from './keys.ts';
import { defineKind, ENFORCING, type Hook, opUnits } from './kind.ts';
import { OCSF_CLASSES, userObj } from './ocsf.ts';
import { list, obj, oneOfNames, record, u32 as u32Schema } from './schema.ts';

/** The op bytes (enum bg_setuid_op): a "root" and an "any" op per identity; uid keeps 1 and 2. */
export const SETUID_OPS = new Numbered('setuid op', {
  root: 1,
  any: 2,
  gid_root: 3,
  gid_any: 4,
  groups_root: 5,
  groups_any: 6,
  capabilities_root: 7,
  capabilities_any: 8,
  userns_root: 9,
  userns_any: 10,
});

/** The op of a rule's key: uid's are `root` and `any`, the others' `<id>_root` and `<id>_any`. */
const opOf = (id: SetidId, to: 'root' | 'any'): string => (id === 'uid' ? to : `${id}_${to}`);

/**
 * The identities a rule covers, and the op byte of each one's "root" key (its
 * "any" key is the next one): enum bg_setuid_op. uid keeps 1 and 2.
 */
export const SETID_IDS = new Numbered('identity', { uid: 1, gid: 3, groups: 5, capabilities: 7, userns: 9 });
export type SetidId = (typeof SETID_IDS.names)[number];

export interface SetuidMatch {
  kind: 'setuid';
  to: 'root' | 'any';
  /** omitted in the policy: [uid], what a setuid rule has always covered */
  ids: SetidId[];
}

export interface SetuidTarget {
  id: SetidId | 'unknown';
  /** the change gives root: an id becomes 0, group 0 joins, a capability is gained, a user namespace is made */
  toRoot: boolean;
  oldUid?: number;
  newUid?: number;
  newEuid?: number;
  newSuid?: number;
  newFsuid?: number;
  oldGid?: number;
  newGid?: number;
  newEgid?: number;
  newSgid?: number;
  newFsgid?: number;
  oldGroups?: number;
  newGroups?: number;
  /** capabilities: names new in the effective or the permitted set */
  gained?: string[];
  effective?: string[];
  permitted?: string[];
  /** userns: the creator's effective uid */
  euid?: number;
}

const both = (id: SetidId) => [opOf(id, 'root'), opOf(id, 'any')];
const HOOKS: readonly Hook[] = [
  { program: 'bg_lsm_task_fix_setuid', ops: both('uid') },
  { program: 'bg_lsm_task_fix_setgid', ops: both('gid') },
  { program: 'bg_lsm_task_fix_setgroups', ops: both('groups') },
  { program: 'bg_lsm_capset', ops: both('capabilities') },
  { program: 'bg_lsm_userns_create', ops: both('userns') },
  // setuid, setreuid and setresuid from their arguments (not setfsuid, nor the gid twins)
  { program: 'bg_tp_sys_enter', ops: both('uid') },
];

/** bit 63 of arg0: the kernel decided the change gives root (records of the security hooks) */
const TO_ROOT = 1n << 63n;
const ANY_ID = 0xffffffff;

/** The names of the capabilities in a 64-bit set. */
function capNames(set: bigint): string[] {
  const names: string[] = [];
  for (let n = 0; n < 64; n++) if ((set >> BigInt(n)) & 1n) names.push(CAPABILITY.name(n) ?? `CAP_${n}`);
  return names;
}

/** uid or gid: the old real id, the new real, effective, saved and fs ids (the last two complemented, 0: unknown). */
function ids(args: readonly bigint[], prefix: 'Uid' | 'Gid', short: 'u' | 'g'): Partial<SetuidTarget> {
  const [a0, a1, a2, a3] = args;
  const t: Record<string, number> = {
    [`old${prefix}`]: u32(a0),
    [`new${prefix}`]: u32(a1),
    [`newE${short}id`]: u32(a2),
  };
  if (a3) {
    t[`newS${short}id`] = ~u32(a3) >>> 0;
    t[`newFs${short}id`] = ~u32(a3 >> 32n) >>> 0;
  }
  return t;
}

function decodeTarget(op: number, args: readonly [bigint, bigint, bigint, bigint]): SetuidTarget {
  const [a0, a1, a2, a3] = args;
  const id = SETID_IDS.name(op % 2 === 1 ? op : op - 1) ?? 'unknown';
  const kernelSays = (a0 & TO_ROOT) !== 0n;
  switch (id) {
    case 'uid':
    case 'gid': {
      const t = ids(args, id === 'uid' ? 'Uid' : 'Gid', id === 'uid' ? 'u' : 'g');
      // sys_enter's record (no saved or fs id) does not say: a to-root rule matched, or the call asked for 0
      const asked = op === SETID_IDS.number(id) || ([u32(a1), u32(a2)].some((v) => v === 0) && u32(a0) !== 0);
      return { id, toRoot: kernelSays || (!a3 && asked), ...t };
    }
    case 'groups':
      return { id, toRoot: kernelSays, oldGroups: u32(a0), newGroups: u32(a1) };
    case 'capabilities': {
      const oe = a0 & ~TO_ROOT;
      return {
        id,
        toRoot: kernelSays,
        gained: capNames((a1 & ~oe) | (a3 & ~a2)),
        effective: capNames(a1),
        permitted: capNames(a3),
      };
    }
    case 'userns':
      return { id, toRoot: true, euid: u32(a0) };
    default:
      return { id, toRoot: kernelSays };
  }
}

function describeTarget(t: SetuidTarget): string {
  const v = (n: number | undefined) => (n === undefined || n === ANY_ID ? '-' : String(n));
  switch (t.id) {
    case 'uid':
      return `uid ${t.oldUid} -> ${v(t.newUid)}${t.newEuid !== t.newUid ? ` euid ${v(t.newEuid)}` : ''}${
        t.newSuid !== undefined ? ` suid ${v(t.newSuid)} fsuid ${v(t.newFsuid)}` : ''
      }`;
    case 'gid':
      return `gid ${t.oldGid} -> ${v(t.newGid)} egid ${v(t.newEgid)} sgid ${v(t.newSgid)} fsgid ${v(t.newFsgid)}`;
    case 'groups':
      return `groups ${t.oldGroups} -> ${t.newGroups}${t.toRoot ? ' (gains group 0)' : ''}`;
    case 'capabilities':
      return `capset${t.gained?.length ? ` gains ${t.gained.join(',')}` : ''}`;
    case 'userns':
      return `new user namespace by euid ${t.euid}`;
    default:
      return 'identity change';
  }
}

const capList = list({ type: 'string', pattern: '^CAP_[A-Z0-9_]+$' }, 'Capability names.');

export const setuid = defineKind<SetuidMatch, SetuidTarget>('setuid', 8, {
  ops: SETUID_OPS,
  actions: ENFORCING,
  match: obj(
    'setuid match',
    'Which changes of identity the rule matches.',
    {
      to: {
        enum: ['root', 'any'],
        description:
          'root: a change that gives root (a uid or gid, real, effective, saved or fs, becoming 0 when it was not; group 0 joining the supplementary groups; a capability new in the effective or permitted set; every new user namespace); any: every change.',
      },
      ids: oneOfNames(
        SETID_IDS.names,
        'Which identities: uid (setuid, setreuid, setresuid, setfsuid), gid (setgid, setregid, setresgid, setfsgid), groups (setgroups), capabilities (capset), userns (unshare or clone with CLONE_NEWUSER). Omitted: [uid].',
      ),
    },
    ['to'],
  ),
  normalize: (r, m, path) => ({
    kind: 'setuid',
    to: m.to as 'root' | 'any',
    ids: m.ids === undefined ? ['uid'] : r.qualifier(m, 'ids', SETID_IDS.names, path),
  }),
  targets: (m) => m.ids.map((id) => (id === 'uid' ? m.to : `${id} ${m.to}`)),
  budget: 'rules',
  entries: (m) => m.ids.length,

  hooks: HOOKS,
  keys: (m, ctx) => m.ids.map((id) => ruleKey(ctx, 8, SETUID_OPS.number(opOf(id, m.to)))),
  units: (m) =>
    opUnits(
      HOOKS,
      m.ids.map((id) => opOf(id, m.to)),
    ),

  target: record(['id', 'toRoot'], {
    id: { enum: [...SETID_IDS.names, 'unknown'] },
    toRoot: { type: 'boolean' },
    oldUid: u32Schema,
    newUid: u32Schema,
    newEuid: u32Schema,
    newSuid: u32Schema,
    newFsuid: u32Schema,
    oldGid: u32Schema,
    newGid: u32Schema,
    newEgid: u32Schema,
    newSgid: u32Schema,
    newFsgid: u32Schema,
    oldGroups: u32Schema,
    newGroups: u32Schema,
    gained: capList,
    effective: capList,
    permitted: capList,
    euid: u32Schema,
  }),
  decode: (r) => decodeTarget(r.op, r.args),
  describe: describeTarget,
  ocsf: (e) => ({
    cls: OCSF_CLASSES.process,
    activity: e.target.id === 'uid' ? [5, 'Set User ID'] : [99, 'Other'],
    fields: {
      process: {
        pid: e.process.tgid,
        name: e.process.comm,
        ...(e.target.id === 'uid' ? { user: userObj(Number(e.target.newUid)) } : {}),
      },
    },
  }),

  representatives: [
    { match: '{ to: root }' },
    // decided only by the security hooks: no system call's arguments say what the new credentials hold
    { rule: 'setuid-ids', match: '{ to: root, ids: [gid, groups, capabilities, userns] }' },
  ],
});
