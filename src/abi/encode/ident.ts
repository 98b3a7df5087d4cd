// bg_file_ids (HASH): file identities (bpf/lib/ident.h). Little-endian.
//
//   file_id_key := gen:u8 pad:u8[3] dev:u32 ino:u64
//                  dev: the kernel's sb->s_dev (major << 20 | minor), not stat's st_dev
//   file_id_val := type:u32 (1 a path a rule names, 2 a directory a rule names,
//                            3 a directory on the way to a protected path)
//                  path:char[252] the path as bg_path_rules keys it, NUL-padded
//                                 ("/etc/shadow", a directory with its trailing '/')
//
// bg_exe_idents (HASH): the named executables by identity, no generation.
//
//   file_id_key (gen 0) -> exe_id:u32
import { PATH_MAX, Size } from '../layout.ts';
import type { MapEntry } from '../plan.ts';
import { ByteWriter } from './bytes.ts';

export const FileIdType = { file: 1, dir: 2, ancestor: 3 } as const;
export type FileIdTypeName = keyof typeof FileIdType;

export interface FileId {
  gen: number;
  /** the kernel's encoding (kernelDev) */
  dev: number;
  ino: bigint;
  type: FileIdTypeName;
  path: string;
}

/**
 * stat(2)'s st_dev (glibc's encoding: major in bits 8-19 and 32-63, minor in
 * bits 0-7 and 20-31) as the kernel's sb->s_dev holds it: major << 20 | minor
 * (MINORBITS 20).
 */
export function kernelDev(stDev: bigint): number {
  const major = ((stDev >> 8n) & 0xfffn) | ((stDev >> 32n) & ~0xfffn);
  const minor = (stDev & 0xffn) | ((stDev >> 12n) & ~0xffn);
  if (major >= 1n << 12n || minor >= 1n << 20n)
    throw new RangeError(`device ${stDev} does not fit a kernel dev_t`);
  return Number((major << 20n) | minor);
}

export function encodeFileId(id: FileId): MapEntry {
  const bytes = Buffer.from(id.path, 'utf8');
  if (bytes.length + 1 > PATH_MAX)
    throw new RangeError(`path of ${bytes.length} bytes is longer than ${PATH_MAX - 1}`);
  return {
    key: new ByteWriter(Size.fileIdKey).u8(id.gen).pad(3).u32(id.dev).u64(id.ino).hex(),
    value: new ByteWriter(Size.fileIdVal).u32(FileIdType[id.type]).bytes(bytes, PATH_MAX).hex(),
  };
}

/**
 * bg_exe_verified: the executable at (dev, ino) had a pinned digest when its change
 * time was `ctimeNs` (ns since the epoch, as stat(2) gives it) and its size `size`.
 */
export function encodeExeVerified(dev: number, ino: bigint, ctimeNs: bigint, size: bigint): MapEntry {
  const sec = ctimeNs >= 0n ? ctimeNs / 1_000_000_000n : -((-ctimeNs + 999_999_999n) / 1_000_000_000n);
  const nsec = Number(ctimeNs - sec * 1_000_000_000n);
  return {
    key: new ByteWriter(Size.fileIdKey).u8(0).pad(3).u32(dev).u64(ino).hex(),
    value: new ByteWriter(Size.exeVerifiedVal)
      .u64(BigInt.asUintN(64, sec))
      .u32(nsec)
      .pad(4)
      .u64(BigInt.asUintN(64, size))
      .hex(),
  };
}

/** bg_exe_contents: a file whose SHA-256 is `sha256` (hex) runs as exe id `exeId`. */
export function encodeExeContent(sha256: string, exeId: number): MapEntry {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new RangeError(`not a SHA-256 digest: ${sha256}`);
  return { key: sha256, value: new ByteWriter(4).u32(exeId).hex() };
}

/** bg_exe_idents: the executable at (dev, ino) has exe id `exeId` (the key has no generation: gen 0). */
export function encodeExeIdent(dev: number, ino: bigint, exeId: number): MapEntry {
  return {
    key: new ByteWriter(Size.fileIdKey).u8(0).pad(3).u32(dev).u64(ino).hex(),
    value: new ByteWriter(4).u32(exeId).hex(),
  };
}
