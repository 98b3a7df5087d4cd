// A loaded bpfgate object on this kernel: the one place the daemon touches the
// libbpf binding. It loads every program this kernel accepts (so a reload that
// needs a new hook only attaches), exposes the object to the loader through
// ObjectPort, reads the ring buffer, and sums the per-CPU counters.
//
// With a pin layout (docs/persistence.md) every map is pinned (or, when a
// previous daemon left it pinned, reused: the new programs share it) and every
// link is pinned as it is attached; adoptPinned() hands the previous daemon's
// links and active generation to the loader.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GENERATION_CAPACITY } from '../abi/capacity.ts';
import type { FeatureSet } from '../abi/features.ts';
import { EXE_ID_MASK, EXE_MAX, MapName, Stat } from '../abi/layout.ts';
import type { AttachSpec } from '../abi/plan.ts';
import { availability, type BinaryInode, PROGRAMS, type ProgramName } from '../abi/programs.ts';
import { PrivilegeError } from '../errors.ts';
import type { RepeatCount, RepeatKey } from '../events/kernel-repeats.ts';
import {
  type BpfLink,
  BpfObject,
  isPrivilegeError,
  KernelError,
  type RecordBatch,
  RingBufferReader,
} from './binding.ts';
import { decodeRepeatCount, decodeRepeatKey, encodeRepeatKey } from './decoder.ts';
import { currentInode } from './elf.ts';
import { GEN_OFFSET } from './generations.ts';
import { type Attachment, attachmentKey, u32le } from './loader.ts';
import { ensurePinDirs, liveOwner, PinError, type PinLayout, PinnedLink, pinnedLinkKeys } from './pins.ts';
import type { LinkPort, MapPort, ObjectPort } from './port.ts';
import { failedProgram, ProgramRejectedError, verifierLines } from './verifier.ts';

/** const volatile in bpf/lib/event.h: records a second per repeating process and violation */
const REPEAT_RECORDS = 'bg_repeat_records';

/**
 * The programs wake the reader only when the ring fills past a mark
 * (bpf/lib/event.h): below it, the daemon takes the records this often. The
 * most an event waits in the ring before the daemon reads it.
 */
export const EVENT_DRAIN_MS = 25;

export const DEFAULT_OBJECT_PATH = fileURLToPath(new URL('../../bpf/build/bpfgate.bpf.o', import.meta.url));

export interface StatsSnapshot {
  events: bigint;
  ringbufDrops: bigint;
  denied: bigint;
  killed: bigint;
  /** dry runs: would-block or would-kill execs that followed one already reported for the same rule, by the same process or a child (counted, not recorded) */
  auditFollowups: bigint;
  /** cgroups made after the set was applied that a selector matched, left out of scope: a scope map was full */
  cgroupScopeFull: bigint;
  /** violations counted without a record (a process repeating one violation; bpf/lib/event.h) */
  repeats: bigint;
  /** keys in bg_repeats at the daemon's last sweep (a process and violation each; at REPEAT_KEYS_MAX (abi/layout.ts) new ones are not aggregated) */
  repeatKeys?: number;
}

/** What matched a packet rule (bg_pkt_counts, summed over CPUs). */
export interface PacketCount {
  packets: bigint;
  bytes: bigint;
  /** events written (at most one per second per CPU) */
  events: bigint;
  /** matches not written as events (the rate limit) */
  suppressed: bigint;
}

/** Programs worth loading on a kernel with these features. */
export function loadablePrograms(features: FeatureSet): ProgramName[] {
  return (Object.keys(PROGRAMS) as ProgramName[]).filter((p) => availability(p, features).available).sort();
}

export interface SessionOptions {
  /** pin every map and link under this layout; null or absent: nothing is pinned */
  pins?: PinLayout | null;
  /** programs to load beyond those the features allow for policies (self-protection's) */
  extraPrograms?: readonly string[];
  /** records a second per process repeating one violation, the rest counted (bg_repeat_records; 0: every attempt). Default 16 */
  repeatRecords?: number;
}

/** What a previous daemon left pinned, as the loader adopts it. */
export interface Adoption {
  /** bg_state.active_gen: the generation that is enforcing now */
  activeGen: 0 | 1;
  /** bg_state.daemon_tgid: the daemon that wrote it */
  daemonTgid: number;
  /** the pinned links, still running the previous daemon's programs */
  attachments: Attachment[];
  /** bg_exe_ids: path → exe id, so the next plan keeps the ids running processes carry */
  exeIds: Record<string, number>;
  /** maps that were reused from pins */
  maps: string[];
}

export class KernelSession implements ObjectPort {
  readonly #obj: BpfObject;
  readonly #loaded: string[];
  readonly #pins: PinLayout | null;
  readonly #reusedMaps: string[];
  #reader: RingBufferReader | null = null;

  private constructor(obj: BpfObject, loaded: string[], pins: PinLayout | null, reusedMaps: string[]) {
    this.#obj = obj;
    this.#loaded = loaded;
    this.#pins = pins;
    this.#reusedMaps = reusedMaps;
  }

  static open(
    features: FeatureSet,
    objectPath = DEFAULT_OBJECT_PATH,
    options: SessionOptions = {},
  ): KernelSession {
    const programs: string[] = [...loadablePrograms(features), ...(options.extraPrograms ?? [])];
    const pins = options.pins ?? null;
    if (pins) ensurePinDirs(pins);
    const obj = BpfObject.open(objectPath);
    const reused: string[] = [];
    try {
      // both generations live in a generation-keyed map during a swap
      for (const [map, cap] of Object.entries(GENERATION_CAPACITY)) {
        if (map === MapName.genConfig) continue;
        obj.setMaxEntries(map, map in GEN_OFFSET ? 2 * cap : cap);
      }
      if (pins) {
        // libbpf reuses a compatible pinned map, or creates the map and pins it at load
        for (const m of obj.maps()) {
          if (m.internal) continue;
          if (existsSync(pins.mapPath(m.name))) reused.push(m.name);
          obj.setPinPath(m.name, pins.mapPath(m.name));
        }
      }
      if (options.repeatRecords !== undefined) obj.setGlobal(REPEAT_RECORDS, u32le(options.repeatRecords));
      obj.loadOnly(programs);
      obj.load();
    } catch (err) {
      obj.close();
      if (pins && reused.length > 0 && err instanceof KernelError && !isPrivilegeError(err)) {
        throw new PinError(
          'PIN_INCOMPATIBLE',
          `the maps pinned under ${pins.maps} do not fit this object (${(err as Error).message}); 'bpfgate unload' removes them (enforcement stops until the next start)`,
          { cause: err },
        );
      }
      if (isPrivilegeError(err)) {
        throw new PrivilegeError(
          'the kernel refused to load bpfgate programs (EPERM): run as root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN and CAP_NET_ADMIN are needed)',
          { cause: err },
        );
      }
      const program = err instanceof KernelError ? failedProgram(err.libbpfLog) : null;
      if (program && err instanceof KernelError)
        throw new ProgramRejectedError(program, verifierLines(err.libbpfLog), { cause: err });
      throw err;
    }
    return new KernelSession(obj, programs, pins, reused.sort());
  }

  loadedPrograms(): string[] {
    return this.#loaded;
  }

  /** the pin layout, or null when nothing is pinned */
  get pins(): PinLayout | null {
    return this.#pins;
  }

  map(name: string): MapPort {
    return this.#obj.map(name);
  }

  attach(program: string, spec: AttachSpec, cgroupPath: string): LinkPort {
    const link = this.#obj.attach(program, spec, { cgroup: cgroupPath });
    if (!this.#pins) return link;
    try {
      return PinnedLink.pin(link, this.#pins, attachmentKey({ program, attach: spec }));
    } catch (err) {
      link.destroy();
      throw err;
    }
  }

  inodeOf(spec: AttachSpec): BinaryInode | undefined {
    return spec.type === 'uprobe' ? currentInode(spec.binary) : undefined;
  }

  /** Attach a program without a pin (self-protection: it lasts as long as this process). */
  attachUnpinned(program: string, spec: AttachSpec): BpfLink {
    return this.#obj.attach(program, spec);
  }

  replace(old: LinkPort, program: string, spec: AttachSpec, cgroupPath: string): LinkPort {
    if (old instanceof PinnedLink) {
      try {
        // cgroup links: the hook switches programs in one step
        old.link.updateProgram(this.#obj.programFd(program));
        return old;
      } catch (err) {
        // tracing, LSM, raw tracepoint and kprobe links cannot be updated (EINVAL/EOPNOTSUPP)
        if (!(err instanceof KernelError)) throw err;
      }
    }
    // attach the new program first (its pin is renamed over the old one), then let the old go
    const fresh = this.attach(program, spec, cgroupPath);
    if (old instanceof PinnedLink) old.detachAndClose();
    else old.destroy();
    return fresh;
  }

  /**
   * What a previous daemon left pinned: null when nothing was (a first start).
   * Call after open(), before the loader applies anything.
   */
  adoptPinned(): Adoption | null {
    const pins = this.#pins;
    if (!pins) return null;
    const keys = pinnedLinkKeys(pins);
    if (keys.length === 0 && !this.#reusedMaps.includes(MapName.state)) return null;
    const owner = liveOwner(pins);
    if (owner !== null)
      throw new PinError(
        'PIN_IN_USE',
        `another bpfgate daemon (pid ${owner}) enforces from ${pins.root}: stop it first (one daemon per pin root)`,
      );
    const state = this.#obj.map(MapName.state).lookup(u32le(0));
    const activeGen = state && state.readUInt32LE(0) === 1 ? 1 : 0;
    const daemonTgid = state ? state.readUInt32LE(8) : 0;
    const exeIds: Record<string, number> = {};
    const exeMap = this.#obj.map(MapName.exeIds);
    for (const key of exeMap.keys()) {
      const v = exeMap.lookup(key);
      if (!v) continue;
      const end = key.indexOf(0);
      // the id without BG_EXE_ID_BOUND (the loader binds the paths again when it applies a plan)
      exeIds[key.subarray(0, end < 0 ? Math.min(key.length, EXE_MAX) : end).toString('utf8')] =
        v.readUInt32LE(0) & EXE_ID_MASK;
    }
    const attachments: Attachment[] = [];
    for (const key of keys) {
      try {
        attachments.push({ key, link: PinnedLink.open(pins, key) });
      } catch (err) {
        // a pin removed meanwhile (bpfgate unload) is not ours to adopt
        if (!(err instanceof KernelError && err.errnoName === 'ENOENT')) throw err;
      }
    }
    return { activeGen, daemonTgid, attachments, exeIds, maps: this.#reusedMaps };
  }

  /**
   * Start delivering ring-buffer records in batches on the event loop. A poll
   * error stops reading; it starts again after a back-off (onError says when,
   * onResume when it did).
   */
  readEvents(
    onBatch: (batch: RecordBatch) => void,
    onError: (err: Error, stopped: { resumeInMs: number } | null) => void,
    onResume: () => void = () => {},
  ): void {
    if (this.#reader) throw new Error('already reading events');
    this.#reader = RingBufferReader.open(this.#obj.map(MapName.events), onBatch, {
      onError,
      onResume,
      drainMs: EVENT_DRAIN_MS,
    });
  }

  /** The reader: records read but lost (never handed out) since start, and why reading is stopped (null: reading). */
  readerState(): { lost: number; stoppedBy: Error | null } {
    const r = this.#reader;
    if (!r || r.closed) return { lost: 0, stoppedBy: null };
    return { lost: r.lost, stoppedBy: r.stoppedBy };
  }

  /** Whatever is still in the ring (a last drain before stop). */
  drainEvents(): RecordBatch | null {
    return this.#reader && !this.#reader.closed ? this.#reader.consume() : null;
  }

  /** The ring-buffer drops a daemon has reported (bg_stats[dropsReported], kept with the pins). */
  dropsReported(): bigint {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(Stat.dropsReported);
    const perCpu = this.#obj.map(MapName.stats).lookupPercpu(key) ?? [];
    return perCpu.reduce((acc, v) => acc + v.readBigUInt64LE(0), 0n);
  }

  /** Record that the drops up to `n` have been reported (CPU 0's slot; the programs never write it). */
  noteDropsReported(n: bigint): void {
    const map = this.#obj.map(MapName.stats);
    const key = Buffer.alloc(4);
    key.writeUInt32LE(Stat.dropsReported);
    const value = Buffer.alloc(map.valueBytes);
    value.writeBigUInt64LE(n, 0);
    map.update(key, value);
  }

  stats(): StatsSnapshot {
    const map = this.#obj.map(MapName.stats);
    const sum = (index: number): bigint => {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(index);
      const perCpu = map.lookupPercpu(key) ?? [];
      return perCpu.reduce((acc, v) => acc + v.readBigUInt64LE(0), 0n);
    };
    return {
      events: sum(Stat.events),
      ringbufDrops: sum(Stat.ringbufDrops),
      denied: sum(Stat.denied),
      killed: sum(Stat.killed),
      auditFollowups: sum(Stat.auditFollowups),
      cgroupScopeFull: sum(Stat.cgroupScopeFull),
      repeats: sum(Stat.repeats),
    };
  }

  /** The counters of packet rules, by rule id (bpf/kinds/packet.h). */
  packetCounts(ruleIds: readonly number[]): Map<number, PacketCount> {
    const map = this.#obj.map(MapName.packetCounts);
    const out = new Map<number, PacketCount>();
    for (const id of ruleIds) {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(id);
      const c: PacketCount = { packets: 0n, bytes: 0n, events: 0n, suppressed: 0n };
      for (const v of map.lookupPercpu(key) ?? []) {
        c.packets += v.readBigUInt64LE(0);
        c.bytes += v.readBigUInt64LE(8);
        c.events += v.readBigUInt64LE(16);
        c.suppressed += v.readBigUInt64LE(24);
      }
      out.set(id, c);
    }
    return out;
  }

  /**
   * bg_repeats: the violations counted without a record, per process, rule,
   * op and outcome (bpf/lib/event.h), each with its raw key for deleteRepeats().
   * Entries whose key does not decode are left out.
   */
  repeatCounts(): { count: RepeatCount; raw: Buffer }[] {
    const { keys, values } = this.#obj.map(MapName.repeats).entries();
    const out: { count: RepeatCount; raw: Buffer }[] = [];
    keys.forEach((raw, i) => {
      const count = decodeRepeatCount(raw, values[i]!);
      if (count) out.push({ count, raw });
    });
    return out;
  }

  /**
   * Delete bg_repeats entries whose count has not changed since they were
   * read (a process that is gone adds to none), with their reported counts;
   * returns those deleted.
   */
  deleteRepeats(entries: readonly { count: RepeatCount; raw: Buffer }[]): RepeatCount[] {
    const map = this.#obj.map(MapName.repeats);
    const reported = this.#obj.map(MapName.repeatsReported);
    const deleted: RepeatCount[] = [];
    for (const e of entries) {
      const value = map.lookup(e.raw);
      const now = value ? decodeRepeatCount(e.raw, value) : null;
      if (now && now.counted === e.count.counted && map.delete(e.raw)) {
        reported.delete(e.raw);
        deleted.push(e.count);
      }
    }
    return deleted;
  }

  /** bg_repeats_reported: what the daemon reported of each key (read by a daemon adopting the pins). */
  repeatsReported(): RepeatCount[] {
    const { keys, values } = this.#obj.map(MapName.repeatsReported).entries();
    const out: RepeatCount[] = [];
    keys.forEach((raw, i) => {
      const key = decodeRepeatKey(raw);
      if (key) out.push({ key, counted: values[i]!.readBigUInt64LE(0), sec: 0n });
    });
    return out;
  }

  /** Keep what the daemon reported of these keys (bg_repeats_reported). */
  writeRepeatsReported(list: readonly { key: RepeatKey; reported: bigint }[]): void {
    if (list.length === 0) return;
    this.#obj.map(MapName.repeatsReported).updateBatch(
      list.map(({ key, reported }) => {
        const v = Buffer.alloc(8);
        v.writeBigUInt64LE(reported);
        return [encodeRepeatKey(key), v] as const;
      }),
    );
  }

  close(): void {
    this.#reader?.close();
    this.#reader = null;
    this.#obj.close();
  }
}
