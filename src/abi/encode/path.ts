// bg_path_rules (LPM_TRIE) keys: exec and file paths, sysctl names.
// Grammar, 260 bytes, little-endian:
//
//   path_key := prefixlen:u32    32 + 8 * n: the 4 bytes below, then n bytes of path
//               gen:u8           generation (0 or 1)
//               slot:u8          policy slot (0..63)
//               kind:u8          bg_kind: exec 1, file 2, sysctl 13
//               op:u8            exec 0; file BG_OP_FILE_*; sysctl BG_OP_SYSCTL_*
//               path:char[252]   NUL-padded
//
//   n = strlen(path) + 1   exact path: the NUL must match too ("/etc/shadow")
//   n = strlen(path)       directory ("/etc/ssh/", always ends in '/') or
//                          sysctl prefix ("net/ipv4/")
//   Sysctl names use '/' separators, as the cgroup/sysctl hook reports them.
import { PATH_MAX, Size } from '../layout.ts';
import { ByteWriter } from './bytes.ts';

export interface PathKey {
  gen: number;
  slot: number;
  kind: number;
  op: number;
  path: string;
  /** true: match every path that starts with `path`; false: exactly `path` */
  prefix: boolean;
}

export function encodePathKey(k: PathKey): string {
  const bytes = Buffer.from(k.path, 'utf8');
  if (bytes.length + 1 > PATH_MAX) {
    throw new RangeError(`path of ${bytes.length} bytes is longer than ${PATH_MAX - 1}`);
  }
  if (bytes.includes(0)) throw new RangeError('path contains a NUL byte');
  const n = k.prefix ? bytes.length : bytes.length + 1;
  return new ByteWriter(Size.pathKey)
    .u32(32 + 8 * n)
    .u8(k.gen)
    .u8(k.slot)
    .u8(k.kind)
    .u8(k.op)
    .bytes(bytes, PATH_MAX)
    .hex();
}

/** The same key with its slot and op bytes 0: bg_path_any's key for a bg_path_rules key (hex). */
export function anySlotPathKey(hex: string): string {
  if (hex.length !== Size.pathKey * 2)
    throw new RangeError(`path key of ${hex.length / 2} bytes, expected ${Size.pathKey}`);
  return `${hex.slice(0, 10)}00${hex.slice(12, 14)}00${hex.slice(16)}`;
}

/** A directory as an LPM prefix: always ends in '/'. */
export function directoryPrefix(dir: string): string {
  return dir.endsWith('/') ? dir : `${dir}/`;
}

/** "kernel.core_pattern" -> "kernel/core_pattern" (the hook's spelling). */
export function sysctlPath(name: string): string {
  return name.replaceAll('.', '/');
}

/** The inverse of encodePathKey (a plan's bg_path_rules key, hex). */
export function decodePathKey(hex: string): PathKey {
  const b = Buffer.from(hex, 'hex');
  if (b.length !== Size.pathKey)
    throw new RangeError(`path key of ${b.length} bytes, expected ${Size.pathKey}`);
  const n = (b.readUInt32LE(0) - 32) / 8;
  const bytes = b.subarray(8, 8 + n);
  const prefix = bytes.at(-1) !== 0;
  return {
    gen: b[4]!,
    slot: b[5]!,
    kind: b[6]!,
    op: b[7]!,
    path: bytes.subarray(0, prefix ? n : n - 1).toString('utf8'),
    prefix,
  };
}
