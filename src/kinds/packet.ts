// What ingress and egress rules share: packets on named interfaces, by the
// remote address (a CIDR), the destination port and the protocol, decided by
// tc (tcx) programs, or XDP for ingress when the rule asks; in a policy scoped
// to cgroups, by cgroup_skb programs on the socket's cgroup. The addresses,
// ports and their map keys are connect's (net.ts); the interfaces are bg_rules
// keys (op 1: rule id, ifindex) that the packet programs check
// (bpf/lib/match.h). ingress.ts and egress.ts are this module with their
// direction. BPF side: bpf/kinds/packet.h. Pure.

import { IP_PROTOCOL } from '../abi/numbers.ts';
import type { AttachSpec } from '../abi/programs.ts';
import { u32 } from './decode.ts';
import { ruleKey } from './keys.ts';
import { dedupe, defineKind, type Hook, type Json, type RuleKindDef, type Unit } from './kind.ts';
import {
  type Cidr,
  formatIp,
  NET_SCHEMA_DEFS,
  netKeys,
  type PortRange,
  readAddressesAndPorts,
} from './net.ts';
import { OCSF_CLASSES } from './ocsf.ts';
import { list, obj, oneOfNames, record, ref } from './schema.ts';

export const PACKET_PROTOCOLS = ['tcp', 'udp', 'icmp', 'any'] as const;
export type PacketProtocol = (typeof PACKET_PROTOCOLS)[number];
export const XDP_MODES = ['auto', 'native', 'generic'] as const;
export type XdpMode = (typeof XDP_MODES)[number];

/** Linux interface names: 1 to 15 bytes, no '/', no white space. */
export const INTERFACE_PATTERN = '^[A-Za-z0-9_.:@-]{1,15}$';
/** bg_rules op of a rule's interfaces (BG_OP_ON_INTERFACE, bpf/lib/match.h). */
export const OP_ON_INTERFACE = 1;
/** the c of a cgroup-scoped rule's interface keys: decided by cgroup_skb, not tc (BG_HOOK_CGROUP_SKB) */
export const HOOK_CGROUP_SKB = 2;

export interface PacketMatch<K extends string> {
  kind: K;
  interfaces: string[];
  /** the remote side: ingress's source, egress's destination; empty = any */
  addresses: Cidr[];
  /** the destination port; empty = any */
  ports: PortRange[];
  protocols: PacketProtocol[];
  /** ingress only: decide in XDP, before the stack, instead of tc */
  xdp?: XdpMode;
}

export interface PacketTarget {
  family: 'ipv4' | 'ipv6';
  /** the remote address (ingress: the source, egress: the destination) */
  address: string;
  /** the destination port (0: none, e.g. ICMP or a non-first fragment) */
  port: number;
  protocol: string;
  localAddress: string;
  sourcePort: number;
  /** matches of the rule on this CPU not reported since the previous event (rate limit) */
  suppressed: number;
}

function protoNumbers(protocols: readonly PacketProtocol[], family: 4 | 6): number[] {
  if (protocols.length === 0) return [0];
  return [
    ...new Set(
      protocols.map((p) => {
        if (p === 'any') return 0;
        if (p === 'icmp') return IP_PROTOCOL.number(family === 4 ? 'icmp' : 'icmpv6');
        return IP_PROTOCOL.number(p);
      }),
    ),
  ];
}

const PACKET_TARGET: Json = record(
  ['family', 'address', 'port', 'protocol', 'localAddress', 'sourcePort', 'suppressed'],
  {
    family: { enum: ['ipv4', 'ipv6'] },
    address: { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    protocol: { type: 'string' },
    localAddress: { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] },
    sourcePort: { type: 'integer', minimum: 0, maximum: 65535 },
    suppressed: { type: 'integer', minimum: 0 },
  },
);

const DIRECTION = {
  ingress: {
    tc: 'bg_tc_ingress',
    skb: 'bg_cgskb_ingress',
    what: 'incoming packets',
    remote: 'source',
    ocsf: [1, 'Inbound'],
  },
  egress: {
    tc: 'bg_tc_egress',
    skb: 'bg_cgskb_egress',
    what: 'outgoing packets',
    remote: 'destination',
    ocsf: [2, 'Outbound'],
  },
} as const;

/** An ingress or egress kind: its name (the direction) and number. */
export function packetKind<const K extends 'ingress' | 'egress'>(
  name: K,
  abi: number,
  representative: string,
): RuleKindDef<K, PacketMatch<K>, PacketTarget> {
  const dir = DIRECTION[name];
  const hooks: Hook[] =
    name === 'ingress'
      ? [{ program: 'bg_tc_ingress' }, { program: 'bg_xdp_ingress' }, { program: 'bg_cgskb_ingress' }]
      : [{ program: 'bg_tc_egress' }, { program: 'bg_cgskb_egress' }];
  const program = (m: PacketMatch<K>) => (m.xdp ? 'bg_xdp_ingress' : dir.tc) as 'bg_tc_ingress';
  const units = (m: PacketMatch<K>): Unit[] => [{ label: 'packets', candidates: [program(m)] }];
  const xdp =
    name === 'ingress'
      ? {
          xdp: {
            enum: [...XDP_MODES],
            description:
              "Decide in XDP (before the network stack) instead of tc: native (the driver), generic (any interface) or auto (the driver's when it has one).",
          },
        }
      : {};
  return defineKind<PacketMatch<K>, PacketTarget>(name, abi, {
    actions: ['block', 'audit'],
    match: obj(
      `${name} match`,
      `Which ${dir.what} the rule matches, on which interfaces. Addresses are the ${dir.remote}; ports the destination port. Omitted lists mean any.`,
      {
        interfaces: list(
          { type: 'string', pattern: INTERFACE_PATTERN },
          "Interfaces (eth0, veth1), in the daemon's network namespace: a name that does not exist when the policy loads is an error.",
        ),
        addresses: list(
          ref('cidr'),
          `CIDRs of the ${dir.remote} (10.0.0.0/8, fd00::/8). Omitted: any address.`,
        ),
        ports: list(
          ref('port'),
          'Destination ports (23) or inclusive ranges ("137-139"). Omitted: any port.',
        ),
        protocols: oneOfNames(PACKET_PROTOCOLS, 'tcp, udp, icmp (ICMPv6 for IPv6) or any. Omitted: any.'),
        ...xdp,
      },
      ['interfaces'],
    ),
    schemaDefs: NET_SCHEMA_DEFS,
    patternHints: { [INTERFACE_PATTERN]: 'an interface name such as eth0' },
    normalize: (r, m, path) => {
      const interfaces = dedupe(r.items<string>(m.interfaces, [...path, 'interfaces']).map(([, v]) => v));
      r.needTargets(interfaces.length, 'interface', [...path, 'interfaces']);
      const mode = m.xdp as XdpMode | undefined;
      return {
        kind: name,
        interfaces,
        ...readAddressesAndPorts(r, m, path),
        protocols: r.qualifier(m, 'protocols', ['any'] as const, path),
        ...(mode ? { xdp: mode } : {}),
      };
    },
    targets: (m) => {
      const addrs = m.addresses.length > 0 ? m.addresses.map((a) => a.text) : ['*'];
      const ports = m.ports.length > 0 ? m.ports.map((p) => `${p.from}-${p.to}`) : ['*'];
      return m.interfaces.flatMap((i) =>
        addrs.flatMap((a) => ports.flatMap((p) => m.protocols.map((x) => `${i} ${a} ${p} ${x}`))),
      );
    },
    budget: 'netRules',
    entries: (m) => {
      const ports = m.ports.length > 0 ? m.ports.reduce((n, p) => n + p.to - p.from + 1, 0) : 1;
      return Math.max(1, m.addresses.length) * ports * Math.max(1, m.protocols.length) * 2;
    },

    hooks,
    keys: (m, ctx) => [
      ...netKeys(ctx, abi, m.addresses, m.ports, (family) => protoNumbers(m.protocols, family)),
      ...m.interfaces.map((i) => {
        // no resolver: a plan for another machine (doctor, --features); index 0 matches no packet
        const ifindex = ctx.ifindex ? ctx.ifindex(i) : 0;
        if (ctx.ifindex && !ifindex)
          throw new RangeError(`interface ${i} does not exist in the daemon's network namespace`);
        // slot 0 whatever the rule's slot: the programs look it up by rule id (unique across
        // slots) without the slot (bg_on_interface, bpf/lib/match.h)
        return ruleKey(
          { ...ctx, slot: 0 },
          abi,
          OP_ON_INTERFACE,
          ctx.ruleId,
          ifindex,
          ctx.cgroupSkb ? HOOK_CGROUP_SKB : m.xdp ? 1 : 0,
        );
      }),
    ],
    units,
    cgroupUnits: () => [{ label: 'packets of sockets in scope', candidates: [dir.skb] }],
    attachments: (m): AttachSpec[] =>
      m.interfaces.map((ifname) =>
        m.xdp
          ? { type: 'xdp', ifname, mode: m.xdp }
          : { type: 'tcx', ifname, direction: name === 'ingress' ? 'ingress' : 'egress' },
      ),
    coverageNote:
      'ingress and egress rules need tcx (Linux 6.6) or XDP; in policies scoped to cgroups, cgroup_skb',

    target: ref('packetTarget'),
    targetDefs: { packetTarget: PACKET_TARGET },
    decode: (r) => {
      const fam = u32(r.args[0]) === 6 ? 6 : 4;
      const proto = u32(r.args[2]);
      const a3 = r.args[3];
      return {
        family: fam === 6 ? 'ipv6' : 'ipv4',
        address: formatIp(fam, r.aux.subarray(0, 16)),
        port: u32(r.args[1]),
        protocol: IP_PROTOCOL.name(proto) ?? String(proto),
        localAddress: formatIp(fam, r.aux.subarray(16, 32)),
        sourcePort: Number(a3 & 0xffffn),
        suppressed: Number(a3 >> 16n),
      };
    },
    describe: (t) => {
      const at = t.family === 'ipv6' ? `[${t.address}]` : t.address;
      const more = t.suppressed > 0 ? ` (+${t.suppressed} not reported)` : '';
      return `${name} ${at} -> port ${t.port}/${t.protocol}${more}`;
    },
    ocsf: (e) => {
      const t = e.target;
      const remote = { ip: t.address, ...(name === 'egress' ? { port: t.port } : { port: t.sourcePort }) };
      const local = {
        ip: t.localAddress,
        hostname: e.host,
        ...(name === 'ingress' ? { port: t.port } : { port: t.sourcePort }),
      };
      const proto = IP_PROTOCOL.number(t.protocol as 'tcp');
      return {
        cls: OCSF_CLASSES.network,
        activity: [6, 'Traffic'],
        fields: {
          count: t.suppressed + 1,
          src_endpoint: name === 'ingress' ? remote : local,
          dst_endpoint: name === 'ingress' ? local : remote,
          connection_info: {
            direction_id: dir.ocsf[0],
            direction: dir.ocsf[1],
            protocol_ver_id: t.family === 'ipv6' ? 6 : 4,
            ...(proto !== undefined ? { protocol_num: proto, protocol_name: t.protocol } : {}),
          },
        },
      };
    },

    representatives: [
      { match: representative },
      // XDP's row: the mode doctor shows for ingress rules that ask for it
      ...(name === 'ingress'
        ? [{ rule: 'ingress-xdp', match: '{ interfaces: [eth0], ports: [445], xdp: generic }' }]
        : []),
    ],
  });
}
