// A loaded bpfgate object on this kernel: the one place the daemon touches the
// libbpf binding. It loads every program this kernel accepts (so a reload that
// needs a new hook only attaches), exposes the object to the loader through
// ObjectPort, reads the ring buffer, and sums the per-CPU counters.
import { fileURLToPath } from 'node:url';
import { GENERATION_CAPACITY } from '../compiler/capacity.ts';
import type { FeatureSet } from '../compiler/features.ts';
import { availability } from '../compiler/ladder.ts';
import type { AttachSpec } from '../compiler/plan.ts';
import { PrivilegeError } from '../errors.ts';
import { MapName, Stat } from './abi.ts';
import { BpfObject, isPrivilegeError, type RecordBatch, RingBufferReader } from './binding.ts';
import { GEN_OFFSET } from './generations.ts';
import type { LinkPort, MapPort, ObjectPort } from './port.ts';
import { PROGRAMS, type ProgramName } from './programs.ts';

export const DEFAULT_OBJECT_PATH = fileURLToPath(new URL('../../bpf/build/bpfgate.bpf.o', import.meta.url));

export interface StatsSnapshot {
  events: bigint;
  ringbufDrops: bigint;
  denied: bigint;
  killed: bigint;
}

/** Programs worth loading on a kernel with these features. */
export function loadablePrograms(features: FeatureSet): ProgramName[] {
  return (Object.keys(PROGRAMS) as ProgramName[]).filter((p) => availability(p, features).available).sort();
}

export class KernelSession implements ObjectPort {
  readonly #obj: BpfObject;
  readonly #loaded: string[];
  #reader: RingBufferReader | null = null;

  private constructor(obj: BpfObject, loaded: string[]) {
    this.#obj = obj;
    this.#loaded = loaded;
  }

  static open(features: FeatureSet, objectPath = DEFAULT_OBJECT_PATH): KernelSession {
    const programs = loadablePrograms(features);
    const obj = BpfObject.open(objectPath);
    try {
      // both generations live in a generation-keyed map during a swap
      for (const [map, cap] of Object.entries(GENERATION_CAPACITY)) {
        if (map === MapName.genConfig) continue;
        obj.setMaxEntries(map, map in GEN_OFFSET ? 2 * cap : cap);
      }
      obj.loadOnly(programs);
      obj.load();
    } catch (err) {
      obj.close();
      if (isPrivilegeError(err)) {
        throw new PrivilegeError(
          'the kernel refused to load bpfgate programs (EPERM): run as root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN and CAP_NET_ADMIN are needed)',
          { cause: err },
        );
      }
      throw err;
    }
    return new KernelSession(obj, programs);
  }

  loadedPrograms(): string[] {
    return this.#loaded;
  }

  map(name: string): MapPort {
    return this.#obj.map(name);
  }

  attach(program: string, spec: AttachSpec, cgroupPath: string): LinkPort {
    return this.#obj.attach(program, spec, { cgroup: cgroupPath });
  }

  /** Start delivering ring-buffer records in batches on the event loop. */
  readEvents(onBatch: (batch: RecordBatch) => void, onError: (err: Error) => void): void {
    if (this.#reader) throw new Error('already reading events');
    this.#reader = RingBufferReader.open(this.#obj.map(MapName.events), onBatch, { onError });
  }

  /** Whatever is still in the ring (a last drain before stop). */
  drainEvents(): RecordBatch | null {
    return this.#reader && !this.#reader.closed ? this.#reader.consume() : null;
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
    };
  }

  close(): void {
    this.#reader?.close();
    this.#reader = null;
    this.#obj.close();
  }
}
