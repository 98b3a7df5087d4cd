// What connect and bind rules share: addresses (CIDRs), ports and protocols,
// looked up in bg_net_rules by the cgroup connect4/6, sendmsg4/6 and
// bind4/6 hooks and, for listen() on a socket never bound, by
// lsm/socket_listen or raw sys_enter (bg_tp_sys_listen, a program of its
// own); the parsing of CIDRs and port ranges as written (a result or a
// human reason, never a throw); and the events' network target. connect.ts
// and bind.ts are this module with their own name, hooks and OCSF activity. BPF side: bpf/kinds/net.h. Pure.
import { isIPv4, isIPv6 } from 'node:net';
import { encodeNetKey } from '../abi/encode/net.ts';
import { MapName } from '../abi/layout.ts';
import { IP_PROTOCOL, Numbered } from '../abi/numbers.ts';
import type { ProgramName } from '../abi/programs.ts';
import { u32 } from './decode.ts';
import {
  ALL_ACTIONS,
  cross,
  dedupe,
  defineKind,
  type Json,
  type KeyContext,
  type MapKey,
  type MatchReader,
  opUnits,
  type Raw,
  type Representative,
  type RuleKindDef,
  type SchemaDef,
  type Unit,
} from './kind.ts';
import { OCSF_CLASSES } from './ocsf.ts';
import { list, obj, oneOfNames, record, ref } from './schema.ts';

export interface PortRange {
  from: number;
  to: number;
}

/** A parsed CIDR. `bits` is the prefix length. IPv4 addresses are 4 bytes, IPv6 16. */
export interface Cidr {
  family: 4 | 6;
  address: Uint8Array;
  bits: number;
  /** as written, for messages and explain output */
  text: string;
}

export const PROTOCOLS = ['tcp', 'udp', 'any'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const PORT_PATTERN = '^[0-9]{1,5}(-[0-9]{1,5})?$';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

function v4Bytes(s: string): number[] {
  return s.split('.').map(Number);
}

function v6Bytes(text: string): number[] | null {
  let s = text;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const b = v4Bytes(tail);
    const hex = (x: number, y: number) => ((x << 8) | y).toString(16);
    s = `${s.slice(0, lastColon + 1)}${hex(b[0]!, b[1]!)}:${hex(b[2]!, b[3]!)}`;
  }
  const halves = s.split('::');
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const zeros = halves.length > 1 ? 8 - left.length - right.length : 0;
  const groups = [...left, ...Array<string>(zeros).fill('0'), ...right];
  if (groups.length !== 8) return null;
  return groups.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** "10.0.0.0/8", "fd00:ec2::254/128". The prefix length is required and host bits must be zero. */
export function parseCidr(text: string): Parsed<Cidr> {
  const slash = text.indexOf('/');
  if (slash < 0) {
    if (!isIPv4(text) && !isIPv6(text))
      return {
        ok: false,
        reason: `'${text}' is not an IP address: rules match addresses, not names (write an address and prefix length, e.g. 192.0.2.10/32)`,
      };
    return { ok: false, reason: `'${text}' has no prefix length (write ${text}/${isIPv4(text) ? 32 : 128})` };
  }
  const addr = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  const family = isIPv4(addr) ? 4 : isIPv6(addr) && !addr.includes('%') ? 6 : 0;
  if (family === 0) return { ok: false, reason: `'${addr}' is not an IPv4 or IPv6 address` };
  const max = family === 4 ? 32 : 128;
  if (!/^[0-9]{1,3}$/.test(bitsText) || Number(bitsText) > max) {
    return { ok: false, reason: `'/${bitsText}' is not a prefix length from 0 to ${max}` };
  }
  const bits = Number(bitsText);
  const bytes = family === 4 ? v4Bytes(addr) : v6Bytes(addr);
  if (bytes === null) return { ok: false, reason: `'${addr}' is not an IPv6 address` };
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    if ((bytes[i]! & ~mask) !== 0) {
      return { ok: false, reason: `'${text}' has host bits set beyond /${bits}` };
    }
  }
  return { ok: true, value: { family, address: Uint8Array.from(bytes), bits, text } };
}

/** 443 or "1000-2000" (inclusive). Port 0 is not a port. */
export function parsePort(value: number | string): Parsed<PortRange> {
  const text = String(value);
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(text);
  if (!m) return { ok: false, reason: `'${text}' is not a port or a "low-high" range` };
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < 1 || to > 65535 || from > 65535) {
    return { ok: false, reason: `'${text}' is outside 1-65535` };
  }
  if (from > to) return { ok: false, reason: `'${text}' is an empty range: ${from} > ${to}` };
  return { ok: true, value: { from, to } };
}

export interface NetMatch<K extends string> {
  kind: K;
  /** empty = any address */
  addresses: Cidr[];
  /** empty = any port */
  ports: PortRange[];
  protocols: Protocol[];
}

export interface NetTarget {
  family: 'ipv4' | 'ipv6';
  address: string;
  port: number;
  protocol: string;
  /** the call the kernel decided: connect (TCP fast open's sendto included), a UDP datagram, bind, listen */
  call?: NetCall;
}

/** The calls a network decision is made for (record arg3). MUST MATCH BG_NET_CALL_* in bpf/kinds/net.h. */
export const NET_CALL = new Numbered('network call', { connect: 1, sendmsg: 2, bind: 3, listen: 4 });
export type NetCall = (typeof NET_CALL.names)[number];

/** Every port of the ranges, ascending; none = [0] (any port). */
export function expandPorts(ranges: PortRange[]): number[] {
  if (ranges.length === 0) return [0];
  const ports = new Set<number>();
  for (const r of ranges) {
    if (!Number.isInteger(r.from) || !Number.isInteger(r.to) || r.from < 1 || r.to > 65535 || r.from > r.to) {
      throw new RangeError(`port range ${r.from}-${r.to} is not within 1-65535 (port 0 would mean any port)`);
    }
    for (let p = r.from; p <= r.to; p++) ports.add(p);
  }
  return [...ports].sort((a, b) => a - b);
}

export function formatIp(family: 4 | 6, bytes: Uint8Array): string {
  if (family === 4) return Array.from(bytes.subarray(0, 4)).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  // compress the longest run of zero groups (RFC 5952)
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export const ANY_ADDRESSES = [
  { family: 4 as const, address: new Uint8Array(4), bits: 0 },
  { family: 6 as const, address: new Uint8Array(16), bits: 0 },
];

/** The $defs of CIDRs and ports (connect, bind, ingress, egress). */
export const NET_SCHEMA_DEFS: Readonly<Record<string, SchemaDef>> = {
  cidr: { schema: { type: 'string', description: 'An IPv4 or IPv6 CIDR.' } },
  port: {
    schema: {
      type: ['integer', 'string'],
      minimum: 1,
      maximum: 65535,
      pattern: PORT_PATTERN,
      description: 'A port 1-65535, or an inclusive range "low-high".',
    },
    code: 'INVALID_PORT_RANGE',
    patternMessage: 'is not a port or a "low-high" range',
  },
};

/** A match's `addresses` and `ports`, parsed; problems reported at their item. */
export function readAddressesAndPorts(
  r: MatchReader,
  m: Raw,
  path: string[],
): { addresses: Cidr[]; ports: PortRange[] } {
  const addresses: Cidr[] = [];
  r.optional(m, 'addresses', path);
  for (const [i, text] of r.items<string>(m.addresses, [...path, 'addresses'])) {
    const c = parseCidr(text);
    if (c.ok) addresses.push(c.value);
    else r.report('INVALID_CIDR', c.reason, [...path, 'addresses', String(i)]);
  }
  const ports: PortRange[] = [];
  r.optional(m, 'ports', path);
  for (const [i, v] of r.items<number | string>(m.ports, [...path, 'ports'])) {
    const port = parsePort(v);
    if (port.ok) ports.push(port.value);
    else r.report('INVALID_PORT_RANGE', port.reason, [...path, 'ports', String(i)]);
  }
  return {
    addresses: dedupe(addresses, (a) => `${a.family}:${a.address.join('.')}/${a.bits}`),
    ports: dedupe(ports, (x) => `${x.from}-${x.to}`),
  };
}

/**
 * bg_net_rules keys: every address (none: any IPv4 and any IPv6) by every
 * protocol number of its family by every port (none: port 0, any).
 */
export function netKeys(
  ctx: KeyContext,
  kind: number,
  addresses: readonly Cidr[],
  ports: PortRange[],
  protocols: (family: 4 | 6) => number[],
): MapKey[] {
  const addrs = addresses.length === 0 ? ANY_ADDRESSES : addresses;
  const expanded = expandPorts(ports);
  const out: MapKey[] = [];
  for (const a of addrs) {
    for (const proto of protocols(a.family)) {
      for (const port of expanded) {
        const key = encodeNetKey({ gen: ctx.gen, slot: ctx.slot, kind, proto, port, ...a });
        out.push({ map: MapName.netRules, key });
      }
    }
  }
  return out;
}

const NET_TARGET: Json = record(['family', 'address', 'port', 'protocol'], {
  family: { enum: ['ipv4', 'ipv6'] },
  address: { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] },
  port: { type: 'integer', minimum: 0, maximum: 65535 },
  protocol: { type: 'string' },
  call: { enum: [...NET_CALL.names] },
});

/**
 * The ways a rule's address is reached, each a unit the ladder needs a hook
 * for (bpf/kinds/net.h decides them all; which hook sees which path was
 * measured on 6.1 and 6.18).
 */
const PATH = {
  v4: 'IPv4',
  mapped: 'IPv4 through IPv6 sockets (::ffff:a.b.c.d)',
  v6: 'IPv6',
  udp4: 'UDP datagrams without connect (IPv4)',
  udp6: 'UDP datagrams without connect (IPv6)',
  listen: 'listen() without bind()',
} as const;

/** Does the CIDR hold its family's unspecified address (0.0.0.0, ::)? Host bits are zero, so: is it all zeros. */
function holdsUnspecified(c: Cidr): boolean {
  return c.address.every((b) => b === 0);
}

interface Role {
  matches: string;
  direction: readonly [number, string];
  activity: readonly [number, string];
  more: readonly { program: ProgramName; ops: readonly string[] }[];
}

/**
 * What the rule's address is: connect's destination, or bind's local address;
 * and the paths to it beyond connect()/bind() of each address family, with
 * their hooks: UDP datagrams sent without connect (the cgroup sendmsg hooks),
 * and listen() on a socket never bound (BPF-LSM, or sys_enter's kill).
 */
const ADDRESS = {
  destination: {
    matches: 'outgoing connections and datagrams',
    direction: [2, 'Outbound'],
    activity: [1, 'Open'],
    more: [
      { program: 'bg_cg_sendmsg4', ops: [PATH.udp4] },
      { program: 'bg_cg_sendmsg6', ops: [PATH.udp6] },
    ],
  },
  local: {
    matches: 'binds (and listen() on a socket never bound)',
    direction: [1, 'Inbound'],
    activity: [7, 'Listen'],
    more: [
      { program: 'bg_lsm_socket_listen', ops: [PATH.listen] },
      { program: 'bg_tp_sys_listen', ops: [PATH.listen] },
    ],
  },
} as const satisfies Record<string, Role>;

/**
 * A connect or bind kind: its name and number, which address its rules name
 * (the destination of a connection, or the local address of a bind), and
 * doctor's rules.
 */
export function netKind<const K extends 'connect' | 'bind'>(
  name: K,
  abi: number,
  address: keyof typeof ADDRESS,
  representatives: Representative[],
): RuleKindDef<K, NetMatch<K>, NetTarget> {
  const role = ADDRESS[address];
  const hooks: { program: ProgramName; ops: readonly string[] }[] = [
    { program: `bg_cg_${name}4`, ops: [PATH.v4] },
    { program: `bg_cg_${name}6`, ops: [PATH.mapped, PATH.v6] },
    ...role.more,
  ];
  // each path is served by its hooks, a BPF-LSM program with its fmod_ret twin
  const unitsOf = (labels: string[]): Unit[] => opUnits(hooks, labels);
  /** The paths a rule can be reached by: its address families, UDP without connect, listen without bind. */
  const pathsOf = (m: NetMatch<K>): string[] => {
    const fams = new Set(m.addresses.map((c) => c.family));
    const v4 = fams.size === 0 || fams.has(4);
    const v6 = fams.size === 0 || fams.has(6);
    const proto = (p: Protocol) => m.protocols.includes(p) || m.protocols.includes('any');
    const out: string[] = [];
    if (v4) out.push(PATH.v4, PATH.mapped);
    if (v6) out.push(PATH.v6);
    if (address === 'destination' && proto('udp')) {
      if (v4) out.push(PATH.udp4);
      if (v6) out.push(PATH.udp6);
    }
    // listen() without bind() is a bind of the wildcard address to a port the kernel picks (port 0)
    if (address === 'local' && proto('tcp') && m.ports.length === 0) {
      if (m.addresses.length === 0 || m.addresses.some(holdsUnspecified)) out.push(PATH.listen);
    }
    return out;
  };
  const everyPath = (): string[] => [
    ...new Set([PATH.v4, PATH.mapped, PATH.v6, ...role.more.flatMap((h) => h.ops)]),
  ];
  const portsOf = (m: NetMatch<K>) => (m.ports.length > 0 ? m.ports.map((p) => `${p.from}-${p.to}`) : ['*']);
  const addressesOf = (m: NetMatch<K>) => (m.addresses.length > 0 ? m.addresses.map((a) => a.text) : ['*']);
  return defineKind<NetMatch<K>, NetTarget>(name, abi, {
    actions: ALL_ACTIONS,
    match: obj(`${name} match`, `Which ${role.matches} the rule matches. Omitted lists mean any.`, {
      addresses: list(ref('cidr'), 'CIDRs (10.0.0.0/8, fd00::/8, 169.254.169.254/32). Omitted: any address.'),
      ports: list(ref('port'), 'Ports (443) or inclusive ranges ("1000-2000"). Omitted: any port.'),
      protocols: oneOfNames(PROTOCOLS, 'Transport protocols. Omitted: any.'),
    }),
    schemaDefs: NET_SCHEMA_DEFS,
    normalize: (r, m, path) => {
      return {
        kind: name,
        ...readAddressesAndPorts(r, m, path),
        protocols: r.qualifier(m, 'protocols', ['any'] as const, path),
      };
    },
    targets: (m) => cross(cross(addressesOf(m), portsOf(m)), m.protocols),
    budget: 'netRules',
    entries: (m) => {
      const ports = m.ports.length > 0 ? m.ports.reduce((n, p) => n + p.to - p.from + 1, 0) : 1;
      return Math.max(1, m.addresses.length) * ports * m.protocols.length;
    },

    hooks,
    keys: (m, ctx) =>
      netKeys(ctx, abi, m.addresses, m.ports, () =>
        m.protocols.length === 0 ? [0] : m.protocols.map((p) => (p === 'any' ? 0 : IP_PROTOCOL.number(p))),
      ),
    units: (m) => unitsOf(pathsOf(m)),
    posture: () => unitsOf(everyPath()),

    target: ref('netTarget'),
    targetDefs: { netTarget: NET_TARGET },
    decode: (r) => {
      const fam = u32(r.args[0]) === 6 ? 6 : 4;
      const proto = u32(r.args[2]);
      const call = NET_CALL.name(u32(r.args[3])) as NetCall | undefined;
      return {
        family: fam === 6 ? 'ipv6' : 'ipv4',
        address: formatIp(fam, r.aux),
        port: u32(r.args[1]),
        protocol: IP_PROTOCOL.name(proto) ?? (proto === 0 ? 'any' : String(proto)),
        ...(call ? { call } : {}),
      };
    },
    describe: (t) => {
      const via = t.call === 'sendmsg' ? ' (datagram)' : t.call === 'listen' ? ' (listen without bind)' : '';
      return `${t.family === 'ipv6' ? `[${t.address}]` : t.address}:${t.port}/${t.protocol}${via}`;
    },
    ocsf: (e) => {
      const t = e.target;
      const proto = t.protocol;
      const connection: Json = {
        direction_id: role.direction[0],
        direction: role.direction[1],
        protocol_ver_id: t.family === 'ipv6' ? 6 : 4,
        ...(proto === 'tcp' || proto === 'udp'
          ? { protocol_num: IP_PROTOCOL.number(proto), protocol_name: proto }
          : {}),
      };
      const endpoint = { ip: String(t.address), port: Number(t.port) };
      return {
        cls: OCSF_CLASSES.network,
        activity: [...role.activity],
        fields:
          address === 'destination'
            ? { src_endpoint: { hostname: e.host }, dst_endpoint: endpoint, connection_info: connection }
            : { src_endpoint: { ...endpoint, hostname: e.host }, connection_info: connection },
      };
    },

    representatives,
  });
}
