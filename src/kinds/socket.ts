// socket: socket creation by address family and type. BPF-LSM socket_create
// sees every family; the cgroup sock_create hook only inet and inet6, so
// without BPF-LSM the other families are left to sys_enter (killed after the
// call), and no socket() call is decided by both. BPF side: bpf/kinds/socket.h.
import { ANY } from '../abi/layout.ts';
import { ADDRESS_FAMILY, SOCKET_TYPE, SOCKET_TYPE_MASK } from '../abi/numbers.ts';
import { PROGRAMS } from '../abi/programs.ts';
import { nameOr, u32 } from './decode.ts';
import { ruleKey } from './keys.ts';
import { candidates, cross, defineKind, ENFORCING, type Unit } from './kind.ts';
import { OCSF_CLASSES } from './ocsf.ts';
import { obj, oneOfNames, record, string, u32 as u32Schema } from './schema.ts';

export const SOCKET_FAMILIES = [...ADDRESS_FAMILY.names, 'any'] as const;
export type SocketFamily = (typeof SOCKET_FAMILIES)[number];
export const SOCKET_TYPES = ['stream', 'dgram', 'raw', 'seqpacket', 'any'] as const;
export type SocketType = (typeof SOCKET_TYPES)[number];

/** The families whose socket creation the cgroup sock_create hook sees (inet_create, inet6_create). */
const CGROUP_FAMILIES: readonly string[] = ['inet', 'inet6'];

export interface SocketMatch {
  kind: 'socket';
  families: SocketFamily[];
  types: SocketType[];
}

export interface SocketTarget {
  family: string;
  familyNumber: number;
  type: string;
  typeNumber: number;
  protocol: number;
}

const HOOKS = [
  /** every family (kernel-internal sockets are ignored) */
  { program: 'bg_lsm_socket_create' },
  /** inet and inet6 only */
  { program: 'bg_cg_sock_create' },
  /** other families only, and only while bg_lsm_socket_create has not run */
  { program: 'bg_tp_sys_enter' },
] as const;

/**
 * (family, type) pairs. A wildcard family with a concrete type is expanded
 * over the known families: the kernel never looks up (BG_ANY, type).
 */
function socketPairs(families: string[], types: string[]): [number, number][] {
  const typeNums = types.includes('any') ? [ANY] : types.map((t) => SOCKET_TYPE.number(t));
  const famNums = families.includes('any') ? null : families.map((f) => ADDRESS_FAMILY.number(f));
  if (famNums === null && typeNums[0] === ANY) return [[ANY, ANY]];
  const out: [number, number][] = [];
  for (const fam of famNums ?? ADDRESS_FAMILY.names.map((f) => ADDRESS_FAMILY.number(f))) {
    for (const t of typeNums) out.push([fam, t]);
  }
  return out;
}

/** One unit per family: inet and inet6 by LSM or the cgroup hook, the others by LSM or sys_enter. */
function units(m: SocketMatch): Unit[] {
  const fams = m.families.includes('any') ? ['inet', 'inet6', 'any other family'] : m.families;
  return fams.map((f) => {
    const inet = CGROUP_FAMILIES.includes(f);
    const served = candidates(HOOKS).filter((n) =>
      inet ? n !== 'bg_tp_sys_enter' : PROGRAMS[n].family !== 'cgroup',
    );
    return { label: f, candidates: served };
  });
}

export const socket = defineKind<SocketMatch, SocketTarget>('socket', 9, {
  actions: ENFORCING,
  match: obj('socket match', 'Which socket creations the rule matches. Omitted lists mean any.', {
    families: oneOfNames(SOCKET_FAMILIES, 'Address families. Omitted: any.'),
    types: oneOfNames(SOCKET_TYPES, 'Socket types. Omitted: any.'),
  }),
  normalize: (r, m, path) => ({
    kind: 'socket',
    families: r.qualifier(m, 'families', ['any'] as const, path),
    types: r.qualifier(m, 'types', ['any'] as const, path),
  }),
  targets: (m) => cross(m.families, m.types),
  budget: 'rules',
  entries: (m) => m.families.length * m.types.length,

  hooks: HOOKS,
  keys: (m, ctx) => socketPairs(m.families, m.types).map(([a, b]) => ruleKey(ctx, 9, 0, a, b)),
  units,
  coverageNote:
    'cgroup_inet_sock_create sees only inet and inet6 sockets; other families need lsm/socket_create or raw_tp/sys_enter',

  target: record(['family', 'familyNumber', 'type', 'typeNumber', 'protocol'], {
    family: string,
    familyNumber: u32Schema,
    type: string,
    typeNumber: u32Schema,
    protocol: u32Schema,
  }),
  decode: (r) => {
    const family = u32(r.args[0]);
    const type = u32(r.args[1]) & SOCKET_TYPE_MASK;
    return {
      family: nameOr(ADDRESS_FAMILY, family, 'af'),
      familyNumber: family,
      type: nameOr(SOCKET_TYPE, type, 'type'),
      typeNumber: type,
      protocol: u32(r.args[2]),
    };
  },
  describe: (t) => `${t.family}/${t.type}`,
  ocsf: (e) => ({
    cls: OCSF_CLASSES.network,
    activity: [99, 'Socket Create'],
    fields: {
      src_endpoint: { hostname: e.host },
      connection_info: { direction_id: 0, direction: 'Unknown', protocol_num: Number(e.target.protocol) },
    },
  }),

  representatives: [
    { match: '{}' },
    // inet and inet6 alone, which take other hooks than the other families
    { rule: 'socket-inet', match: '{ families: [inet, inet6] }' },
  ],
});
