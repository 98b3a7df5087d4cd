// The loader: makes a compiled plan act on a loaded BPF object.
//
// apply(plan) writes the plan's entries under the inactive generation,
// attaches the programs it needs that are not attached yet, flips
// bg_state.active_gen with one store, then deletes the retired generation's
// entries and detaches programs no longer needed. At every instant the
// programs see one complete rule set. Host state the plan cannot know (cgroup
// ids, which process runs which executable) is resolved here.

import { anySlotPathKey } from '../abi/encode/path.ts';
import { MapName, ScopeEpoch } from '../abi/layout.ts';
import type { MapEntry, MapFill, Plan, ProgramSpec } from '../abi/plan.ts';
import type { BinaryInode } from '../abi/programs.ts';
import { GEN_KEYED_MAPS, GEN_OFFSET, otherGen } from './generations.ts';
import type { LinkPort, ObjectPort } from './port.ts';

export interface HostState {
  /** map entries that depend on host state: cgroup scope and cgroup exceptions, resolved to cgroup ids */
  hostFills(plan: Plan, gen: 0 | 1): MapFill[];
  /** tgid → exe id for running processes whose executable has an id (EXE_ID_VERIFIED beside it where a pin is met) */
  taskExeEntries(
    exeIds: Record<string, number>,
    digests?: Readonly<Record<string, readonly string[]>>,
  ): MapEntry[];
  /**
   * the state record (active generation, host pid namespace, the daemon's tgid
   * and start time); `daemon: false` without the daemon (its exemption ends)
   */
  stateValue(activeGen: 0 | 1, daemon?: boolean): Uint8Array;
  /** policy name → its cgroup selectors that selected no existing cgroup at the last hostFills */
  unmatchedCgroups?(): Record<string, string[]>;
  /** policy name → its selectors a cgroup made later is matched against only at the next reload, and why */
  untrackedCgroups?(): Record<string, { selector: string; why: string }[]>;
  /** entries for the cgroups made since the last listing (none: nothing was made meanwhile) */
  cgroupCatchUp?(plan: Plan, gen: 0 | 1): MapFill[];
  /** bg_file_ids entries of the plan's file rules as the files are now (also part of hostFills) */
  fileIds?(plan: Plan, gen: 0 | 1): MapEntry[];
  /**
   * the named executables as they are now: bg_exe_idents entries (identity →
   * exe id) and the bg_exe_ids entries that replace the plan's (bound where the
   * path has an identity here)
   */
  exeIdentities?(
    exeIds: Readonly<Record<string, number>>,
    digests?: Readonly<Record<string, readonly string[]>>,
  ): {
    idents: MapEntry[];
    ids: MapEntry[];
    /** bg_exe_verified entries: the pinned executables whose content has a pinned digest */
    verified?: MapEntry[];
    /** named paths this host does not have as files: matched by name only */
    unbound: string[];
    /** pinned executables this host has whose content is not verified, and why */
    unverified?: { path: string; reason: string }[];
  };
}

export interface LoaderLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface Attachment {
  /** attachmentKey() of its ProgramSpec */
  key: string;
  link: LinkPort;
}

/** One program may be attached several times (a kprobe per function): attachments are keyed by program and target. */
export function attachmentKey(spec: Pick<ProgramSpec, 'program' | 'attach'>): string {
  const a = spec.attach;
  if (a.type === 'kprobe') return `${spec.program}@${a.function}#${a.cookie}`;
  if (a.type === 'tcx' || a.type === 'xdp') return `${spec.program}@${a.ifname}`;
  if (a.type === 'uprobe')
    return `${spec.program}@${a.binary}:${a.symbol}${a.retprobe ? '%return' : ''}#${a.cookie}`;
  return spec.program;
}

export function hex(s: string): Uint8Array {
  return Buffer.from(s, 'hex');
}

export class Loader {
  readonly #obj: ObjectPort;
  readonly #host: HostState;
  readonly #cgroupAttachPath: string;
  readonly #log: LoaderLog;
  #active: 0 | 1 | null = null;
  #attached = new Map<string, LinkPort>();
  /** adopted attachments that still run a previous daemon's program */
  #stale = new Set<string>();
  #exeIds = new Map<string, number>();
  /** the pinned executables' digests of the applied set (bg_exe_verified is measured against them) */
  #exeDigests: Readonly<Record<string, readonly string[]>> = {};
  #unverified: { path: string; reason: string }[] = [];
  /** rule id → the inode its uprobe links are bound to, as of the last apply() */
  #inodes = new Map<number, BinaryInode>();

  constructor(obj: ObjectPort, host: HostState, cgroupAttachPath: string, log: LoaderLog) {
    this.#obj = obj;
    this.#host = host;
    this.#cgroupAttachPath = cgroupAttachPath;
    this.#log = log;
  }

  /** the generation the next plan must be compiled for */
  nextGen(): 0 | 1 {
    return this.#active === null ? 0 : otherGen(this.#active);
  }

  activeGen(): 0 | 1 | null {
    return this.#active;
  }

  /** attachments: program name, or program@function#cookie for kprobes, program@binary:symbol[%return]#cookie for uprobes */
  attachedPrograms(): string[] {
    return [...this.#attached.keys()].sort();
  }

  /**
   * Adopt a generation that is already active in the kernel (pinned maps after
   * a restart): the next apply() writes the other one. The adopted links run
   * the previous daemon's programs: apply() puts this object's programs behind
   * those the plan keeps (ObjectPort.replace, no gap) and retires the rest.
   * Whatever a previous daemon left in the inactive generation (it died
   * between writing and swapping) is deleted first.
   */
  adopt(activeGen: 0 | 1, attached: Attachment[], exeIds: Record<string, number> = {}): void {
    this.#active = activeGen;
    for (const a of attached) {
      this.#attached.set(a.key, a.link);
      this.#stale.add(a.key);
    }
    for (const [path, id] of Object.entries(exeIds)) this.#exeIds.set(path, id);
    this.#purge(otherGen(activeGen));
    this.#pathAnyOf(activeGen);
  }

  /**
   * bg_path_any for a generation from its bg_path_rules keys (slot and op 0).
   * This object's file decisions skip their slot loops when bg_path_any has
   * no prefix of the path; a generation adopted from a daemon whose object
   * had no such map has none there, and from the moment apply() puts this
   * object's programs behind its links until the swap, its file rules would
   * match nothing. Written before anything is attached.
   */
  #pathAnyOf(gen: 0 | 1): void {
    const rules = this.#obj.map(MapName.pathRules);
    const any = this.#obj.map(MapName.pathAny);
    const off = GEN_OFFSET[MapName.pathRules]!;
    for (const key of rules.keys()) {
      if (key[off] !== gen) continue;
      const value = rules.lookup(key);
      if (value) any.update(Buffer.from(anySlotPathKey(Buffer.from(key).toString('hex')), 'hex'), value);
    }
  }

  /**
   * Resolve the active set's file identities again (bg_file_ids): a protected
   * file replaced (a new inode under its name) or created since the set was
   * applied. The current identities are written first, then those no longer
   * true are deleted, so that no moment has neither. Returns how many entries
   * changed.
   */
  refreshIdentities(plan: Plan): number {
    const gen = this.#active;
    if (gen === null || !this.#host.fileIds) return 0;
    // only the active generation's identities are this set's to delete
    return this.#sync(MapName.fileIds, this.#host.fileIds(plan, gen), (key) => key[0] === gen);
  }

  /** every exe id the kernel has been given (bg_exe_ids): path → id, those of paths no plan names any more included */
  exeIds(): Record<string, number> {
    return Object.fromEntries(this.#exeIds);
  }

  /**
   * Resolve the named executables' identities again (bg_exe_idents): a binary
   * replaced (an upgrade renames a new inode onto its name), created or
   * removed since. New identities are written before old ones are deleted; a
   * stale identity is never kept (its inode number could be given to another
   * file). Returns how many entries changed.
   */
  refreshExeIdentities(): number {
    if (!this.#host.exeIdentities || this.#exeIds.size === 0) return 0;
    const exe = this.#host.exeIdentities(this.exeIds(), this.#exeDigests);
    return this.#syncExes(exe);
  }

  /** the pinned executables whose content was not verified at the last resolution, and why */
  unverifiedExecutables(): { path: string; reason: string }[] {
    return this.#unverified;
  }

  /**
   * bg_exe_verified, bg_exe_idents and bg_exe_ids as `exe` has them. A file
   * no longer verified loses its entry before anything else changes; a newly
   * verified one gets it after its identity.
   */
  #syncExes(exe: NonNullable<ReturnType<NonNullable<HostState['exeIdentities']>>>, ids = true): number {
    const verified = exe.verified ?? [];
    const want = new Set(verified.map((e) => e.key));
    let changed = 0;
    const vmap = this.#obj.map(MapName.exeVerified);
    for (const key of vmap.keys()) {
      if (want.has(Buffer.from(key).toString('hex'))) continue;
      vmap.delete(key);
      changed++;
    }
    changed += this.#sync(MapName.exeIdents, exe.idents, () => true);
    changed += this.#sync(MapName.exeVerified, verified, null);
    if (ids) changed += this.#sync(MapName.exeIds, exe.ids, null);
    this.#unverified = exe.unverified ?? [];
    return changed;
  }

  /**
   * Make `mapName` hold `entries`, written first; then delete every other key
   * `prune` accepts (null: none). Returns how many entries changed.
   */
  #sync(mapName: string, entries: readonly MapEntry[], prune: ((key: Uint8Array) => boolean) | null): number {
    const map = this.#obj.map(mapName);
    let changed = 0;
    for (const e of entries) {
      const now = map.lookup(hex(e.key));
      if (now && Buffer.from(now).toString('hex') === e.value) continue;
      map.update(hex(e.key), hex(e.value));
      changed++;
    }
    if (prune) {
      const want = new Set(entries.map((e) => e.key));
      for (const key of map.keys()) {
        if (!prune(key) || want.has(Buffer.from(key).toString('hex'))) continue;
        map.delete(key);
        changed++;
      }
    }
    return changed;
  }

  /** rule id → the inode of the binary its uprobe is attached to (the active generation's links) */
  uprobeInodes(): ReadonlyMap<number, BinaryInode> {
    return this.#inodes;
  }

  /** adopted attachments not yet running this object's programs */
  staleAttachments(): string[] {
    return [...this.#stale].sort();
  }

  /** Applies a plan compiled for nextGen(). Throws before the swap if anything fails: the old set stays. */
  apply(plan: Plan, gen: 0 | 1): void {
    if (gen !== this.nextGen())
      throw new Error(`plan compiled for generation ${gen}, expected ${this.nextGen()}`);
    const loaded = new Set(this.#obj.loadedPrograms());
    const wanted = plan.programs.map((p) => p.program);
    const missing = wanted.filter((p) => !loaded.has(p));
    if (missing.length > 0) throw new Error(`programs not loaded on this kernel: ${missing.join(', ')}`);

    // 0. tell the programs who the daemon is before they can run (first start) or before this
    //    daemon writes maps under programs a previous daemon left attached (adoption): its own
    //    bpf() calls must never be reported. The active generation does not change here.
    this.#obj.map(MapName.state).update(u32le(0), this.#host.stateValue(this.#active ?? gen));

    // 1. write the new generation (a failure here leaves the active one untouched). The named
    //    executables' identities before their paths, and the paths bound where the file exists
    //    here (in place of the plan's entries: never a moment where only the name decides)
    const digests = plan.exeDigests ?? {};
    const exe = this.#host.exeIdentities?.({ ...this.exeIds(), ...plan.exeIds }, digests);
    try {
      if (exe) this.#syncExes(exe, false);
      for (const fill of [...plan.maps, ...this.#host.hostFills(plan, gen)])
        this.#write(fill.map, exe && fill.map === MapName.exeIds ? exe.ids : fill.entries);
      // a cgroup made between the listing and its parent's watch entry: list again until none is new
      for (let pass = 0; pass < 4; pass++) {
        const more = this.#host.cgroupCatchUp?.(plan, gen) ?? [];
        if (more.every((f) => f.entries.length === 0)) break;
        for (const fill of more) this.#write(fill.map, fill.entries);
      }
      this.#scopeChanged();
      this.#registerExes(plan.exeIds, digests);
    } catch (err) {
      this.#purge(gen);
      throw err;
    }

    // 2. attach what the new set needs (harmless before the swap: programs read the active generation);
    //    adopted links get this object's program (they share the maps, so either program decides alike);
    //    a uprobe whose binary path now names another inode (the file was replaced) is attached
    //    to the new inode, and its old link goes after the swap
    const newLinks: string[] = [];
    const superseded = new Map<string, LinkPort>();
    try {
      for (const spec of plan.programs) {
        const key = attachmentKey(spec);
        const current = this.#attached.get(key);
        if (current && this.#stale.has(key)) {
          if (!this.#obj.replace) throw new Error('this object cannot replace adopted links');
          this.#attached.set(
            key,
            this.#obj.replace(current, spec.program, spec.attach, this.#cgroupAttachPath),
          );
          this.#stale.delete(key);
          continue;
        }
        if (current && !this.#moved(current, spec)) continue;
        this.#attached.set(key, this.#obj.attach(spec.program, spec.attach, this.#cgroupAttachPath));
        if (current) superseded.set(key, current);
        else newLinks.push(key);
      }
    } catch (err) {
      for (const p of newLinks) this.#detach(p);
      for (const [key, old] of superseded) {
        this.#attached.get(key)?.destroy();
        this.#attached.set(key, old);
      }
      this.#purge(gen);
      throw err;
    }

    // an executable the host does not have is matched by its name, which a process can forge
    const unbound = exe?.unbound.filter((p) => p in plan.exeIds) ?? [];
    if (unbound.length > 0)
      this.#log.warn(
        { executables: unbound },
        "executables matched by path only (not on this host, or on a file system whose stat device is not the kernel's: a btrfs subvolume, an overlay): a process can give its own program that name in a mount namespace or chroot of its own",
      );

    // a selector that selects nothing now applies to nothing yet: say so (a cgroup made later
    // that it matches is in scope from its first instruction where the programs follow them)
    const following = plan.programs.some((p) => p.program === 'bg_tp_cgroup_mkdir');
    for (const [policy, selectors] of Object.entries(this.#host.unmatchedCgroups?.() ?? {}))
      this.#log.warn(
        { policy, selectors },
        following
          ? 'cgroup selectors match no cgroup yet: the policy applies to the cgroups they match when these are made'
          : 'cgroup selectors match no cgroup: the policy applies to none of them until the next reload',
      );
    for (const [policy, selectors] of Object.entries(this.#host.untrackedCgroups?.() ?? {}))
      this.#log.warn(
        { policy, selectors },
        'cgroup selectors the kernel cannot match as cgroups are made: a cgroup made later is in scope only after the next reload',
      );

    // 3. the swap: one store
    this.#obj.map(MapName.state).update(u32le(0), this.#host.stateValue(gen));
    const retired = this.#active;
    this.#active = gen;

    // 4. retire the old generation and the programs nothing needs any more
    if (retired !== null) this.#purge(retired);
    for (const [key, old] of superseded) {
      this.#log.info(
        { program: key, from: old.inode, to: this.#attached.get(key)?.inode },
        'uprobe binary replaced: attached to its new inode',
      );
      this.#retire(key, old);
    }
    this.#inodes = new Map();
    for (const spec of plan.programs) {
      const inode =
        spec.attach.type === 'uprobe' ? this.#attached.get(attachmentKey(spec))?.inode : undefined;
      if (inode && spec.attach.type === 'uprobe') this.#inodes.set(spec.attach.cookie, inode);
    }
    const keep = new Set(plan.programs.map(attachmentKey));
    for (const p of [...this.#attached.keys()]) if (!keep.has(p)) this.#detach(p);
    this.#log.info({ gen, programs: this.attachedPrograms() }, 'policy generation active');
  }

  /** policy name → its cgroup selectors that selected no existing cgroup when the active set was applied */
  unmatchedCgroups(): Record<string, string[]> {
    return this.#host.unmatchedCgroups?.() ?? {};
  }

  /** A uprobe link bound to an inode its binary's path no longer names (the file was replaced since it was attached). */
  #moved(link: LinkPort, spec: ProgramSpec): boolean {
    if (!link.inode || !this.#obj.inodeOf) return false;
    const now = this.#obj.inodeOf(spec.attach);
    return now?.device !== link.inode.device || now?.inode !== link.inode.inode;
  }

  /** Detaches every program (enforcement stops). */
  stop(): void {
    for (const p of [...this.#attached.keys()]) this.#detach(p);
  }

  /**
   * Lets go of every attachment without detaching: pinned links keep
   * enforcing after the daemon exits (the next one adopts them). Links that
   * are not pinned cannot outlive their handle and are detached.
   */
  release(): void {
    // the daemon's exemption ends with it: the programs it leaves enforcing exempt nobody
    if (this.#active !== null) {
      try {
        this.#obj.map(MapName.state).update(u32le(0), this.#host.stateValue(this.#active, false));
      } catch (err) {
        this.#log.warn({ err }, 'clearing the daemon exemption failed (it still ends when its process does)');
      }
    }
    for (const [key, link] of [...this.#attached]) {
      this.#attached.delete(key);
      this.#stale.delete(key);
      try {
        if (link.release) link.release();
        else link.destroy();
      } catch (err) {
        this.#log.warn({ program: key, err }, 'release failed');
      }
    }
  }

  #write(mapName: string, entries: MapEntry[]): void {
    if (entries.length === 0) return;
    const map = this.#obj.map(mapName);
    for (const e of entries) map.update(hex(e.key), hex(e.value));
  }

  /**
   * The running processes of executables new to the kernel get their ids;
   * those of an executable whose pinned digests changed get theirs again (a
   * process verified against the old digests is not verified against the new).
   */
  #registerExes(exeIds: Record<string, number>, digests: Readonly<Record<string, readonly string[]>>): void {
    const fresh: Record<string, number> = {};
    const key = (p: string) => (digests[p] ?? []).join(',');
    const was = (p: string) => (this.#exeDigests[p] ?? []).join(',');
    for (const [path, id] of Object.entries(exeIds)) {
      if (this.#exeIds.get(path) === id && key(path) === was(path)) continue;
      this.#exeIds.set(path, id);
      fresh[path] = id;
    }
    this.#exeDigests = digests;
    if (Object.keys(fresh).length > 0)
      this.#write(MapName.taskExe, this.#host.taskExeEntries(fresh, digests));
  }

  /** Deletes every entry of generation `gen` and clears its config. */
  #purge(gen: 0 | 1): void {
    for (const name of GEN_KEYED_MAPS) {
      const map = this.#obj.map(name);
      const off = GEN_OFFSET[name]!;
      for (const key of map.keys()) if (key[off] === gen) map.delete(key);
    }
    this.#scopeChanged();
  }

  /**
   * bg_scope_cgroup was written: the daemon's epoch goes up by one, after the
   * writes, so that every scope the programs cached is computed again
   * (bpf/lib/abi.h, bg_scope_cache). The daemon is the only writer of its
   * epoch; the programs count their own writes in the other one.
   */
  #scopeChanged(): void {
    const map = this.#obj.map(MapName.scopeEpoch);
    const key = u32le(ScopeEpoch.daemon);
    const now = map.lookup(key);
    const next = Buffer.alloc(8);
    next.writeBigUInt64LE((now && now.length >= 8 ? Buffer.from(now).readBigUInt64LE(0) : 0n) + 1n);
    map.update(key, next);
  }

  #detach(program: string): void {
    const link = this.#attached.get(program);
    this.#attached.delete(program);
    this.#stale.delete(program);
    if (link) this.#retire(program, link);
  }

  #retire(program: string, link: LinkPort): void {
    try {
      link.destroy();
    } catch (err) {
      this.#log.warn({ program, err }, 'detach failed');
    }
  }
}

export function u32le(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
