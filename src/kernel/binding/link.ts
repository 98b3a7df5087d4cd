// An attached program. Destroying the link detaches it, unless it is pinned:
// a pinned link keeps the program attached after the daemon exits, and a
// restarted daemon adopts it with BpfLink.openPinned().
import type { BinaryInode } from '../../abi/programs.ts';
import { call, closedError } from './errors.ts';
import { type Handle, native } from './native.ts';

export interface LinkInfo {
  id: number;
  type: number;
  /** libbpf's name of the link type, e.g. "cgroup", "tracing", "raw_tracepoint" */
  typeName: string;
  progId: number;
}

export class BpfLink {
  /** what was attached, for logs (e.g. "bg_cg_sock_create -> /sys/fs/cgroup/unified/x") */
  readonly description: string;
  #h: Handle | null;
  #pinPath: string | null = null;
  /** a uprobe link: the inode it was attached through (BpfObject.attach) */
  inode?: BinaryInode;

  /** Use BpfObject.attach*() or BpfLink.openPinned(). */
  constructor(h: Handle, description: string) {
    this.#h = h;
    this.description = description;
  }

  /** Adopt a link pinned in bpffs. Destroying the adopted link leaves it attached while the pin exists. */
  static openPinned(path: string): BpfLink {
    const link = new BpfLink(
      call(() => native().linkOpenPinned(path)),
      path,
    );
    link.#pinPath = path;
    return link;
  }

  get destroyed(): boolean {
    return this.#h === null;
  }

  /** the bpffs path it is pinned at (by this process), or null */
  get pinPath(): string | null {
    return this.#pinPath;
  }

  get fd(): number {
    const h = this.#handle('link_fd');
    return call(() => native().linkFd(h));
  }

  info(): LinkInfo {
    const h = this.#handle('link_info');
    const i = call(() => native().linkInfo(h));
    return { ...i, typeName: i.typeName ?? `type${i.type}` };
  }

  pin(path: string): void {
    const h = this.#handle('link_pin');
    call(() => native().linkPin(h, path));
    this.#pinPath = path;
  }

  unpin(): void {
    const h = this.#handle('link_unpin');
    call(() => native().linkUnpin(h));
    this.#pinPath = null;
  }

  /** Swap the attached program for another of the same type, with no gap (bpf_link_update). */
  updateProgram(programFd: number): void {
    const h = this.#handle('link_update');
    call(() => native().linkUpdateProgram(h, programFd));
  }

  /** Detach now, even when pinned (the pin then refers to a defunct link; unpin it). */
  detach(): void {
    const h = this.#handle('link_detach');
    call(() => native().linkDetach(h));
  }

  /** Release the link: detaches unless pinned. Idempotent. */
  destroy(): void {
    if (!this.#h) return;
    const h = this.#h;
    this.#h = null;
    call(() => native().linkDestroy(h));
  }

  #handle(op: string): Handle {
    if (!this.#h) throw closedError(op, `link ${this.description}`);
    return this.#h;
  }
}
