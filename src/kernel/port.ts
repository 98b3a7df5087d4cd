// The loader's view of a loaded BPF object: the small interface that the
// libbpf adapter (binding.ts) implements and that unit tests fake. Keeping the
// loader behind it keeps generation swaps and map bookkeeping testable without
// a kernel.
import type { AttachSpec } from '../abi/plan.ts';
import type { BinaryInode } from '../abi/programs.ts';

export interface MapPort {
  readonly name: string;
  update(key: Uint8Array, value: Uint8Array): void;
  /** returns false when the key was absent */
  delete(key: Uint8Array): boolean;
  lookup(key: Uint8Array): Uint8Array | null;
  /** a snapshot of every key */
  keys(): Uint8Array[];
}

export interface LinkPort {
  /** detach (enforcement by this attachment ends) */
  destroy(): void;
  /** let go of the handle but leave the program attached (a pinned link); absent: not pinned */
  release?(): void;
  /** a uprobe link: the inode it is bound to (absent for other links, and for links adopted from pins) */
  readonly inode?: BinaryInode;
}

export interface ObjectPort {
  map(name: string): MapPort;
  /** attach a loaded program; cgroup programs attach to `cgroupPath` */
  attach(program: string, spec: AttachSpec, cgroupPath: string): LinkPort;
  /** programs that were loaded (the kernel accepted them) */
  loadedPrograms(): string[];
  /**
   * Put this object's `program` behind an adopted link (one a previous daemon
   * left pinned) with no gap: in place where the link type allows it, else
   * attach anew and then retire the old link. Returns the link now in use.
   */
  replace?(old: LinkPort, program: string, spec: AttachSpec, cgroupPath: string): LinkPort;
  /**
   * The inode a uprobe spec's binary path names now (undefined: not a
   * uprobe, or the path names nothing): a link bound to another inode is
   * attached again (the binary was replaced since).
   */
  inodeOf?(spec: AttachSpec): BinaryInode | undefined;
}
