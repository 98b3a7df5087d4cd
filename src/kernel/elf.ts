// The binary of a uprobe rule, by kernel identity: its device and inode (what
// the kernel attaches a uprobe to: every path and hard link of the file; a
// copy is another inode), its SHA-256 when the rule pins one, and the file
// offset of a function symbol from the ELF symbol tables (.symtab, else
// .dynsym), converted as the kernel's uprobe wants it: the offset in the file
// of the instruction, found through the executable PT_LOAD segment that maps
// the symbol's address. Reads only the headers and tables it needs.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { BinaryInode, UprobeAttach } from '../abi/programs.ts';
import { BpfgateError } from '../errors.ts';

/** A uprobe rule's binary could not be used: missing, not ELF, no such symbol, a different digest. */
export class UprobeTargetError extends BpfgateError {
  constructor(
    code: 'BINARY_NOT_FOUND' | 'NOT_ELF' | 'SYMBOL_NOT_FOUND' | 'DIGEST_MISMATCH',
    message: string,
  ) {
    super(code, message);
  }
}

export interface BinaryIdentity {
  path: string;
  dev: bigint;
  ino: bigint;
  /** the file offset of the symbol's first instruction */
  offset: number;
  sha256?: string;
}

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const PT_LOAD = 1;
const PF_X = 1;

class Reader {
  readonly fd: number;
  readonly size: number;
  constructor(fd: number, size: number) {
    this.fd = fd;
    this.size = size;
  }
  at(offset: bigint | number, length: number): Buffer {
    const b = Buffer.alloc(length);
    const n = readSync(this.fd, b, 0, length, Number(offset));
    if (n < length) throw new RangeError(`truncated at ${offset}`);
    return b;
  }
}

interface Section {
  type: number;
  offset: bigint;
  size: bigint;
  link: number;
  entsize: bigint;
}

function sections(r: Reader, h: Buffer): Section[] {
  const shoff = h.readBigUInt64LE(40);
  const shentsize = h.readUInt16LE(58);
  const shnum = h.readUInt16LE(60);
  const t = r.at(shoff, shentsize * shnum);
  return Array.from({ length: shnum }, (_, i) => {
    const o = i * shentsize;
    return {
      type: t.readUInt32LE(o + 4),
      offset: t.readBigUInt64LE(o + 24),
      size: t.readBigUInt64LE(o + 32),
      link: t.readUInt32LE(o + 40),
      entsize: t.readBigUInt64LE(o + 56),
    };
  });
}

/** The address of a defined function symbol in one symbol table, or undefined. */
function lookup(r: Reader, all: Section[], table: Section, name: string): bigint | undefined {
  const strtab = all[table.link];
  if (!strtab || table.entsize === 0n) return undefined;
  const strings = r.at(strtab.offset, Number(strtab.size));
  const syms = r.at(table.offset, Number(table.size));
  const want = Buffer.from(`${name}\0`);
  for (let o = 0; o + 24 <= syms.length; o += Number(table.entsize)) {
    const info = syms[o + 4]!;
    const shndx = syms.readUInt16LE(o + 6);
    const value = syms.readBigUInt64LE(o + 8);
    if ((info & 0xf) !== STT_FUNC || shndx === 0 || value === 0n) continue;
    const n = syms.readUInt32LE(o);
    if (strings.compare(want, 0, want.length, n, n + want.length) === 0) return value;
  }
  return undefined;
}

/** The file offset of address `addr`, through the executable PT_LOAD segment holding it. */
function fileOffset(r: Reader, h: Buffer, addr: bigint): bigint | undefined {
  const phoff = h.readBigUInt64LE(32);
  const phentsize = h.readUInt16LE(54);
  const phnum = h.readUInt16LE(56);
  const t = r.at(phoff, phentsize * phnum);
  for (let i = 0; i < phnum; i++) {
    const o = i * phentsize;
    if (t.readUInt32LE(o) !== PT_LOAD || !(t.readUInt32LE(o + 4) & PF_X)) continue;
    const off = t.readBigUInt64LE(o + 8);
    const vaddr = t.readBigUInt64LE(o + 16);
    const filesz = t.readBigUInt64LE(o + 32);
    if (addr >= vaddr && addr < vaddr + filesz) return addr - vaddr + off;
  }
  return undefined;
}

function elfHeader(r: Reader, path: string): Buffer {
  const h = r.size >= 64 ? r.at(0, 64) : Buffer.alloc(0);
  if (h.length < 64 || h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) {
    throw new UprobeTargetError('NOT_ELF', `${path}: not a 64-bit little-endian ELF file`);
  }
  return h;
}

function sha256(fd: number, size: number): string {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(1 << 20);
  for (let pos = 0; pos < size; ) {
    const n = readSync(fd, chunk, 0, chunk.length, pos);
    if (n <= 0) break;
    hash.update(chunk.subarray(0, n));
    pos += n;
  }
  return hash.digest('hex');
}

/**
 * Resolve a uprobe's target and hand it to `use` while the file is open: its
 * identity, the digest check when `sha` is given, and the symbol's file
 * offset, all from one open file; `use` gets /proc/self/fd/N to attach
 * through, so the inode attached is the one checked even if the path is
 * swapped meanwhile.
 */
export function withUprobeTarget<R>(
  path: string,
  symbol: string,
  sha: string | undefined,
  use: (id: BinaryIdentity, openPath: string) => R,
): R {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new UprobeTargetError('BINARY_NOT_FOUND', `${path}: cannot open the binary (${code})`);
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw new UprobeTargetError('NOT_ELF', `${path}: not a regular file`);
    const r = new Reader(fd, Number(st.size));
    let digest: string | undefined;
    if (sha !== undefined) {
      digest = sha256(fd, Number(st.size));
      if (digest !== sha.toLowerCase()) {
        throw new UprobeTargetError(
          'DIGEST_MISMATCH',
          `${path}: sha256 is ${digest}, the rule wants ${sha.toLowerCase()}: not attached`,
        );
      }
    }
    const h = elfHeader(r, path);
    let addr: bigint | undefined;
    try {
      const all = sections(r, h);
      for (const type of [SHT_SYMTAB, SHT_DYNSYM]) {
        for (const s of all.filter((x) => x.type === type)) addr ??= lookup(r, all, s, symbol);
      }
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      throw new UprobeTargetError('NOT_ELF', `${path}: damaged ELF file (${err.message})`);
    }
    const offset = addr === undefined ? undefined : fileOffset(r, h, addr);
    if (offset === undefined) {
      throw new UprobeTargetError(
        'SYMBOL_NOT_FOUND',
        `${path}: no function ${symbol} in its ELF symbol tables (.symtab, .dynsym)`,
      );
    }
    const id = {
      path,
      dev: st.dev,
      ino: st.ino,
      offset: Number(offset),
      ...(digest ? { sha256: digest } : {}),
    };
    return use(id, `/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
}

/** major:minor of a dev_t as Linux encodes it for user space (glibc's gnu_dev_major/minor). */
export function deviceText(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return `${major}:${minor}`;
}

export function binaryInode(id: Pick<BinaryIdentity, 'dev' | 'ino'>): BinaryInode {
  return { device: deviceText(id.dev), inode: id.ino.toString() };
}

/** The inode a path names now (following symbolic links, as the attach does), or undefined when it names nothing. */
export function currentInode(path: string): BinaryInode | undefined {
  try {
    return binaryInode(statSync(path, { bigint: true }));
  } catch {
    return undefined;
  }
}

/**
 * What each uprobe of a plan covers on this machine, for `compile --explain`:
 * the inode it would attach to (every path and hard link of it; a copy is
 * another inode) or why it cannot attach.
 */
export function uprobeCoverage(specs: readonly UprobeAttach[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const a of specs) {
    const where = `${a.binary}:${a.symbol}`;
    if (seen.has(`${where} ${a.sha256}`)) continue;
    seen.add(`${where} ${a.sha256}`);
    try {
      const id = withUprobeTarget(a.binary, a.symbol, a.sha256, (t) => t);
      const links = Number(statSync(a.binary, { bigint: true }).nlink);
      const digest = id.sha256 ? `sha256 ${id.sha256} checked` : 'no sha256 pinned';
      lines.push(
        `  ${where}: device ${deviceText(id.dev)} inode ${id.ino} (${links} hard link${links === 1 ? '' : 's'}), offset 0x${id.offset.toString(16)}; ${digest}`,
      );
    } catch (err) {
      if (!(err instanceof UprobeTargetError)) throw err;
      lines.push(`  ${where}: cannot attach here: ${err.message} [${err.code}]`);
    }
  }
  if (lines.length === 0) return '';
  return `\nuprobe binaries (each rule covers one inode: every path and hard link of it; a copy of the file elsewhere is another inode and is not covered):\n${lines.join('\n')}\n`;
}
