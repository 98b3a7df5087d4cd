// From a rule's match to the keys of its entries (map + key hex). The byte
// layouts live in encode/; this file only decides which keys a match needs.
// Throws RangeError for what the layout cannot express; compile() names the rule.

import { encodeNetKey } from '../abi/encode/net.ts';
import { directoryPrefix, encodePathKey, sysctlPath } from '../abi/encode/path.ts';
import { encodeRuleKey } from '../abi/encode/rules.ts';
import {
  ANY,
  DeviceOp,
  FileOp,
  fnv1a32,
  Kind,
  MapName,
  ModuleOp,
  MountOp,
  PtraceOp,
  SetuidOp,
  SysctlOp,
} from '../abi/layout.ts';
import {
  ADDRESS_FAMILY,
  BPF_COMMAND,
  CAPABILITY,
  DEVICE_TYPE,
  IP_PROTOCOL,
  SOCKET_TYPE,
} from '../abi/numbers.ts';
import type { Match, PortRange } from '../policy/model.ts';

export interface Target {
  map: string;
  key: string;
}

interface Ctx {
  gen: number;
  slot: number;
  ruleId: number;
}

function paths(ctx: Ctx, kind: number, op: number, exact: string[], prefixes: string[]): Target[] {
  const base = { gen: ctx.gen, slot: ctx.slot, kind, op };
  return [
    ...exact.map((path) => encodePathKey({ ...base, path, prefix: false })),
    ...prefixes.map((path) => encodePathKey({ ...base, path, prefix: true })),
  ].map((key) => ({ map: MapName.pathRules, key }));
}

function numeric(ctx: Ctx, kind: number, op: number, a = 0, b = 0, c = 0): Target {
  return { map: MapName.rules, key: encodeRuleKey({ gen: ctx.gen, slot: ctx.slot, kind, op, a, b, c }) };
}

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

const ANY_ADDRESSES = [
  { family: 4 as const, address: new Uint8Array(4), bits: 0 },
  { family: 6 as const, address: new Uint8Array(16), bits: 0 },
];

/** Socket (family, type) pairs. A wildcard family with a concrete type is
 * expanded over the known families: the kernel never looks up (BG_ANY, type). */
function socketPairs(families: string[], types: string[]): [number, number][] {
  const typeNums = types.includes('any') ? [ANY] : types.map((t) => SOCKET_TYPE.number(t));
  const famNums = families.includes('any') ? null : families.map((f) => ADDRESS_FAMILY.number(f));
  const out: [number, number][] = [];
  if (famNums === null && typeNums[0] === ANY) return [[ANY, ANY]];
  for (const fam of famNums ?? ADDRESS_FAMILY.names.map((f) => ADDRESS_FAMILY.number(f))) {
    for (const t of typeNums) out.push([fam, t]);
  }
  return out;
}

export function targetsOf(match: Match, ctx: Ctx): Target[] {
  switch (match.kind) {
    case 'exec':
      return paths(ctx, Kind.exec, 0, match.paths, match.directories.map(directoryPrefix));
    case 'file':
      return match.operations.flatMap((op) =>
        paths(ctx, Kind.file, FileOp[op], match.paths, match.directories.map(directoryPrefix)),
      );
    case 'sysctl':
      return match.access.flatMap((acc) =>
        paths(ctx, Kind.sysctl, SysctlOp[acc], match.names.map(sysctlPath), match.prefixes.map(sysctlPath)),
      );
    case 'capability':
      return match.capabilities.map((c) => numeric(ctx, Kind.capability, 0, CAPABILITY.number(c)));
    case 'module':
      return [ModuleOp.file, ModuleOp.data].map((op) => numeric(ctx, Kind.module, op, ANY));
    case 'bpf': {
      const cmds = match.commands.length === 0 ? [ANY] : match.commands.map((c) => BPF_COMMAND.number(c));
      return cmds.map((a) => numeric(ctx, Kind.bpf, 0, a));
    }
    case 'ptrace':
      return match.modes.map((m) => numeric(ctx, Kind.ptrace, PtraceOp[m]));
    case 'mount': {
      const fs = match.fsTypes.length === 0 ? [ANY] : match.fsTypes.map(fnv1a32);
      return match.operations.flatMap((op) => fs.map((a) => numeric(ctx, Kind.mount, MountOp[op], a)));
    }
    case 'setuid':
      return [numeric(ctx, Kind.setuid, match.to === 'root' ? SetuidOp.root : SetuidOp.any)];
    case 'socket':
      return socketPairs(match.families, match.types).map(([a, b]) => numeric(ctx, Kind.socket, 0, a, b));
    case 'device':
      return match.access.flatMap((acc) =>
        match.devices.map((d) => {
          if (d.major === null && d.minor !== null) {
            throw new RangeError(`device ${d.type} *:${d.minor}: a wildcard major needs a wildcard minor`);
          }
          return numeric(
            ctx,
            Kind.device,
            DeviceOp[acc],
            DEVICE_TYPE.number(d.type),
            d.major ?? ANY,
            d.minor ?? ANY,
          );
        }),
      );
    case 'kprobe':
      return [numeric(ctx, Kind.kprobe, 0, ctx.ruleId)];
    case 'connect':
    case 'bind': {
      const kind = Kind[match.kind];
      const addrs = match.addresses.length === 0 ? ANY_ADDRESSES : match.addresses;
      const protos =
        match.protocols.length === 0
          ? [0]
          : match.protocols.map((p) => (p === 'any' ? 0 : IP_PROTOCOL.number(p)));
      const ports = expandPorts(match.ports);
      const out: Target[] = [];
      for (const a of addrs) {
        for (const proto of protos) {
          for (const port of ports) {
            const key = encodeNetKey({ gen: ctx.gen, slot: ctx.slot, kind, proto, port, ...a });
            out.push({ map: MapName.netRules, key });
          }
        }
      }
      return out;
    }
  }
}
