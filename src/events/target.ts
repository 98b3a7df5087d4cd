// Decoding a record's kind-specific fields (op, arg[], path, aux) into the
// event's `target`, as bpf/lib/abi.h lays them out per kind. Pure.
import { DeviceOp, FileOp, ModuleOp, MountOp, PtraceOp, SysctlOp } from '../abi/layout.ts';
import {
  ADDRESS_FAMILY,
  BPF_COMMAND,
  CAPABILITY,
  DEVICE_ACCESS_BIT,
  DEVICE_TYPE,
  IP_PROTOCOL,
  MOUNT_FLAG,
  SOCKET_TYPE,
  SOCKET_TYPE_MASK,
} from '../abi/numbers.ts';
import type { DecodedRecord } from '../kernel/record.ts';
import type { Target } from './types.ts';

function nameOf(table: Record<string, number>, v: number): string | undefined {
  for (const [k, n] of Object.entries(table)) if (n === v) return k;
  return undefined;
}

/** A NUL-terminated (or full) byte buffer as UTF-8. */
export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, end < 0 ? bytes.length : end).toString('utf8');
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

const num = (v: bigint | undefined): number => Number(BigInt.asUintN(32, v ?? 0n));

export function decodeTarget(r: DecodedRecord): Target {
  const [a0, a1, a2, a3] = r.args;
  switch (r.kind) {
    case 'exec':
      return { path: r.path };
    case 'file': {
      const operation = nameOf(FileOp, r.op) ?? `op${r.op}`;
      const newPath = cString(r.aux);
      return newPath && (operation === 'rename' || operation === 'link')
        ? { path: r.path, operation, newPath }
        : { path: r.path, operation };
    }
    case 'capability': {
      const n = num(a0);
      return { name: CAPABILITY.name(n) ?? `CAP_${n}`, number: n };
    }
    case 'module': {
      const op = num(a0) || r.op;
      const source = op === ModuleOp.file ? 'file' : op === ModuleOp.data ? 'data' : 'unknown';
      return r.path ? { source, path: r.path } : { source };
    }
    case 'bpf': {
      const n = num(a0);
      return { command: BPF_COMMAND.name(n) ?? `BPF_CMD_${n}`, number: n };
    }
    case 'ptrace':
      return { pid: num(a0), mode: nameOf(PtraceOp, num(a1) || r.op) ?? 'unknown' };
    case 'mount': {
      const flags = num(a0);
      const named = MOUNT_FLAG.bits(flags);
      const fsType = cString(r.aux);
      return {
        operation: nameOf(MountOp, r.op) ?? 'unknown',
        mountPoint: r.path,
        ...(fsType ? { fsType } : {}),
        flags: named.join(',') || `0x${flags.toString(16)}`,
      };
    }
    case 'setuid':
      return { oldUid: num(a0), newUid: num(a1), newEuid: num(a2), toRoot: num(a1) === 0 || num(a2) === 0 };
    case 'socket': {
      const family = num(a0);
      const type = num(a1) & SOCKET_TYPE_MASK;
      return {
        family: ADDRESS_FAMILY.name(family) ?? `af${family}`,
        familyNumber: family,
        type: SOCKET_TYPE.name(type) ?? `type${type}`,
        typeNumber: type,
        protocol: num(a2),
      };
    }
    case 'connect':
    case 'bind': {
      const fam = num(a0) === 6 ? 6 : 4;
      const proto = num(a2);
      return {
        family: fam === 6 ? 'ipv6' : 'ipv4',
        address: formatIp(fam, r.aux),
        port: num(a1),
        protocol: IP_PROTOCOL.name(proto) ?? (proto === 0 ? 'any' : String(proto)),
      };
    }
    case 'device': {
      const t = num(a0);
      const bits = num(a3);
      const access: string[] = DEVICE_ACCESS_BIT.bits(bits);
      if (access.length === 0) access.push(nameOf(DeviceOp, r.op) ?? 'unknown');
      return {
        type: DEVICE_TYPE.name(t) === 'block' ? 'block' : 'char',
        major: num(a1),
        minor: num(a2),
        access,
      };
    }
    case 'sysctl': {
      const name = r.path.replace(/^\/+/, '');
      const operation = nameOf(SysctlOp, num(a0) || r.op) ?? 'unknown';
      const value = cString(r.aux);
      return {
        name: name.replaceAll('/', '.'),
        path: `/proc/sys/${name}`,
        operation,
        ...(operation === 'write' && value ? { newValue: value.replace(/\n$/, '') } : {}),
      };
    }
    case 'kprobe':
      return { function: r.path, args: r.args.map((v) => `0x${v.toString(16)}`) };
  }
}

/** A short human form of a target, for messages and `tail`. */
export function describeTarget(kind: string, t: Target): string {
  const o = t as Record<string, unknown>;
  switch (kind) {
    case 'exec':
      return String(o.path);
    case 'file':
      return `${o.operation} ${o.path}${o.newPath ? ` -> ${o.newPath}` : ''}`;
    case 'capability':
      return String(o.name);
    case 'module':
      return `load ${o.path ?? `(${o.source})`}`;
    case 'bpf':
      return String(o.command);
    case 'ptrace':
      return `${o.mode} pid ${o.pid}`;
    case 'mount':
      return `${o.operation} ${o.mountPoint}${o.fsType ? ` (${o.fsType})` : ''}`;
    case 'setuid':
      return `uid ${o.oldUid} -> ${o.newUid}`;
    case 'socket':
      return `${o.family}/${o.type}`;
    case 'connect':
    case 'bind':
      return `${o.family === 'ipv6' ? `[${o.address}]` : o.address}:${o.port}/${o.protocol}`;
    case 'device':
      return `${o.type} ${o.major}:${o.minor} ${(o.access as string[]).join(',')}`;
    case 'sysctl':
      return `${o.operation} ${o.name}${o.newValue !== undefined ? `=${o.newValue}` : ''}`;
    case 'kprobe':
      return `${o.function}()`;
    default:
      return JSON.stringify(t);
  }
}
