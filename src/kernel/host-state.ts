// The host state a plan cannot know, read from this machine when a plan is
// applied: cgroup selectors resolved to cgroup ids, file rules' paths resolved
// to file identities, the running processes' executables, the host's pid
// namespace.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { encodeState } from '../abi/encode/config.ts';
import { kernelDev } from '../abi/encode/ident.ts';
import {
  encodeCgroupException,
  encodeCgroupGlob,
  encodeCgroupScope,
  encodeCgroupWatch,
} from '../abi/encode/scope.ts';
import {
  CGROUP_ID_UNRESOLVED,
  EXE_ID_UNRESOLVED,
  EXE_ID_VERIFIED,
  EXE_MAX,
  isContentExe,
  MapName,
} from '../abi/layout.ts';
import type { MapEntry, MapFill, Plan } from '../abi/plan.ts';
import { type CgroupNode, listCgroups, planCgroupWatch, resolveCgroupSelectors } from './cgroups.ts';
import { MeasureCache } from './exe-digest.ts';
import { type ExePins, inodeKey, resolveExeIdentities } from './exe-identities.ts';
import { fileIdentityEntries } from './identities.ts';
import type { HostState } from './loader.ts';

/**
 * The host's pid namespace: init's, or where /proc/1 is not readable (a
 * sandbox without CAP_SYS_PTRACE) the daemon's own, which is the host's when
 * bpfgate runs on the host (or with hostPID in Kubernetes).
 */
export function hostPidnsInum(): number {
  for (const p of ['/proc/1/ns/pid', '/proc/self/ns/pid']) {
    try {
      return Number(statSync(p).ino);
    } catch {
      // next
    }
  }
  return 0;
}

/**
 * When process `tgid` started: clock ticks since boot, field 22 of
 * /proc/<tgid>/stat (the comm field before it may hold spaces and
 * parentheses: fields are counted after its last ')'), modulo 2^32 as
 * bg_state.daemon_start holds it. The kernel compares it with the start time
 * of the process it sees, so that the daemon's exemption is never a later
 * process's that gets the same pid.
 */
export function processStartTicks(tgid: number): number {
  const stat = readFileSync(`/proc/${tgid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): field 22 is fields[19]
  const ticks = BigInt(fields[19] ?? 'x');
  return Number(ticks & 0xffffffffn);
}

export class LiveHostState implements HostState {
  readonly #cgroupMount: string;
  readonly #daemonTgid: number;
  readonly #daemonStart: number;
  readonly #pidns: number;
  /** the pinned executables' measurements, by file state */
  readonly #measured = new MeasureCache();

  constructor(cgroupMount: string, daemonTgid = process.pid, pidns = hostPidnsInum()) {
    this.#cgroupMount = cgroupMount;
    this.#daemonTgid = daemonTgid;
    this.#daemonStart = daemonTgid ? processStartTicks(daemonTgid) : 0;
    this.#pidns = pidns;
  }

  /** policy name → its cgroup selectors that matched nothing at the last hostFills */
  #unmatched: Record<string, string[]> = {};

  unmatchedCgroups(): Record<string, string[]> {
    return this.#unmatched;
  }

  /** policy name → its selectors a cgroup made later is matched against only at the next reload, and why */
  #untracked: Record<string, { selector: string; why: string }[]> = {};

  untrackedCgroups(): Record<string, { selector: string; why: string }[]> {
    return this.#untracked;
  }

  /** the cgroup ids of the last listing (hostFills, cgroupCatchUp) */
  #listed = new Set<bigint>();

  /**
   * Entries for the cgroups made since the last listing: one made after the
   * listing and before its parent's watch entry was written was seen by no
   * one. The loader calls it after writing a generation, until it finds none.
   */
  cgroupCatchUp(plan: Plan, gen: 0 | 1): MapFill[] {
    if (!this.#needsTree(plan)) return [];
    const nodes = listCgroups(this.#cgroupMount);
    const fresh = new Set(nodes.filter((n) => !this.#listed.has(n.id)).map((n) => n.id));
    this.#listed = new Set(nodes.map((n) => n.id));
    if (fresh.size === 0) return [];
    const keyId = (key: string) => Buffer.from(key, 'hex').readBigUInt64LE(0);
    return this.#cgroupFillsOf(plan, gen, nodes)
      .filter((f) => f.map === MapName.scopeCgroup || f.map === MapName.cgroupWatch)
      .map((f) => ({ map: f.map, entries: f.entries.filter((e) => fresh.has(keyId(e.key))) }));
  }

  #needsTree(plan: Plan): boolean {
    return plan.policies.some((p) => p.cgroups.length > 0 || p.exceptionsCgroups.length > 0);
  }

  hostFills(plan: Plan, gen: 0 | 1): MapFill[] {
    return [
      { map: MapName.fileIds, entries: fileIdentityEntries(plan, gen) },
      ...this.#cgroupFills(plan, gen),
    ];
  }

  #cgroupFills(plan: Plan, gen: 0 | 1): MapFill[] {
    this.#unmatched = {};
    this.#untracked = {};
    if (!this.#needsTree(plan)) return [];
    const nodes = listCgroups(this.#cgroupMount);
    this.#listed = new Set(nodes.map((n) => n.id));
    return this.#cgroupFillsOf(plan, gen, nodes);
  }

  #cgroupFillsOf(plan: Plan, gen: 0 | 1, nodes: CgroupNode[]): MapFill[] {
    const masks = new Map<bigint, { self: bigint; subtree: bigint }>();
    const exceptions: MapEntry[] = [];
    for (const p of plan.policies) {
      const bit = 1n << BigInt(p.slot);
      const sel = resolveCgroupSelectors(p.cgroups, nodes);
      if (sel.unmatched.length > 0) this.#unmatched[p.name] = sel.unmatched;
      for (const id of sel.self) {
        const m = masks.get(id) ?? { self: 0n, subtree: 0n };
        m.self |= bit;
        masks.set(id, m);
      }
      for (const id of sel.subtree) {
        const m = masks.get(id) ?? { self: 0n, subtree: 0n };
        m.subtree |= bit;
        masks.set(id, m);
      }
      for (const ex of p.exceptionsCgroups) {
        const r = resolveCgroupSelectors(ex.cgroups, nodes);
        for (const id of r.self) exceptions.push(encodeCgroupException(ex.ruleId, id, false, gen));
        for (const id of r.subtree) exceptions.push(encodeCgroupException(ex.ruleId, id, true, gen));
      }
    }
    // a cgroup deeper than the programs' walk ends its chain with the unresolved id: every
    // policy with a cgroup selector applies to it (fail closed)
    const scoped = plan.policies
      .filter((p) => p.cgroups.length > 0)
      .reduce((m, p) => m | (1n << BigInt(p.slot)), 0n);
    if (scoped) masks.set(CGROUP_ID_UNRESOLVED, { self: 0n, subtree: scoped });
    const scope = [...masks.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, m]) => encodeCgroupScope(id, m.self, m.subtree, gen));
    // cgroups made later: the kernel matches them against the selectors as they are made
    const later = planCgroupWatch(plan.policies, nodes);
    for (const u of later.untracked) {
      const p = plan.policies.find((x) => x.cgroups.includes(u.selector));
      const name = p?.name ?? '?';
      const list = this.#untracked[name] ?? [];
      if (!list.some((x) => x.selector === u.selector)) list.push(u);
      this.#untracked[name] = list;
    }
    return [
      { map: MapName.scopeCgroup, entries: scope },
      { map: MapName.exceptions, entries: exceptions },
      { map: MapName.cgroupGlob, entries: later.globs.map((g) => encodeCgroupGlob(g, gen)) },
      {
        map: MapName.cgroupWatch,
        entries: [...later.watch.entries()].map(([id, states]) => encodeCgroupWatch(id, states, gen)),
      },
    ];
  }

  /** The named executables as this host has them (src/kernel/exe-identities.ts), pinned ones measured. */
  exeIdentities(
    exeIds: Readonly<Record<string, number>>,
    digests: Readonly<Record<string, readonly string[]>> = {},
  ): {
    idents: MapEntry[];
    ids: MapEntry[];
    verified: MapEntry[];
    unbound: string[];
    unverified: { path: string; reason: string }[];
  } {
    const { idents, ids, bound, verified, unverified } = resolveExeIdentities(
      exeIds,
      undefined,
      this.#pins(digests),
    );
    return {
      idents,
      ids,
      verified,
      unverified,
      unbound: Object.keys(exeIds).filter((p) => !bound.has(p) && !isContentExe(p)),
    };
  }

  #pins(digests: Readonly<Record<string, readonly string[]>>): ExePins {
    return { digests, measure: (path, st) => this.#measured.measure(path, st) };
  }

  /**
   * tgid → exe id for the running processes, as the exec tracepoint would
   * have given it: the file the process runs (/proc/<pid>/exe followed to its
   * inode) first, then its path unless that path is bound to another file.
   */
  taskExeEntries(
    exeIds: Record<string, number>,
    digests: Readonly<Record<string, readonly string[]>> = {},
  ): MapEntry[] {
    const out: MapEntry[] = [];
    let pids: string[];
    try {
      pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
    } catch {
      return out;
    }
    const named = resolveExeIdentities(exeIds, undefined, this.#pins(digests));
    for (const pid of pids) {
      let exe: string;
      let st: { dev: bigint; ino: bigint } | undefined;
      try {
        exe = readlinkSync(`/proc/${pid}/exe`);
        st = statSync(`/proc/${pid}/exe`, { bigint: true, throwIfNoEntry: false });
      } catch {
        continue; // kernel thread, or gone
      }
      const path = exe.replace(/ \(deleted\)$/, '');
      const ik = st ? inodeKey(kernelDev(st.dev), st.ino) : undefined;
      const plain = ik ? named.byInode.get(ik) : undefined;
      // the file it runs has the content pinned (it cannot have been written while it runs)
      const byIdentity =
        plain !== undefined && ik && named.verifiedInodes.has(ik) ? (plain | EXE_ID_VERIFIED) >>> 0 : plain;
      // as the exec tracepoint does: a path longer than the programs build, or bound to another file, is the unresolved id
      const id =
        byIdentity ??
        (Buffer.byteLength(path) >= EXE_MAX || named.bound.has(path) ? EXE_ID_UNRESOLVED : exeIds[path]);
      if (id === undefined) continue;
      const key = Buffer.alloc(4);
      key.writeUInt32LE(Number(pid));
      const value = Buffer.alloc(4);
      value.writeUInt32LE(id);
      out.push({ key: key.toString('hex'), value: value.toString('hex') });
    }
    return out;
  }

  stateValue(activeGen: 0 | 1, daemon = true): Uint8Array {
    const e = encodeState({
      activeGen,
      hostPidnsInum: this.#pidns,
      daemonTgid: daemon ? this.#daemonTgid : 0,
      daemonStart: daemon ? this.#daemonStart : 0,
    });
    return Buffer.from(e.value, 'hex');
  }
}
