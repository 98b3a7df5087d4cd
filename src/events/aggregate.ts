// Aggregation: identical violations (same policy, rule, user, executable,
// comm, target and cgroup) within a window become one event carrying count, firstTime and
// lastTime (an event the kernel already aggregated, with its own count, adds
// that count). The first occurrence opens a group; the group is emitted when the
// window after that first occurrence closes (or on stop()). windowMs = 0
// turns aggregation off: every event is passed on at once. The number of
// open groups is bounded; past the bound the oldest group is emitted early.
import { formatTimeNs } from './build.ts';
import type { BpfgateEvent, ViolationEvent } from './types.ts';

export const DEFAULT_AGGREGATE_WINDOW_MS = 0;
export const DEFAULT_AGGREGATE_MAX_GROUPS = 10_000;

export interface AggregatorOptions {
  windowMs: number;
  maxGroups?: number;
}

interface Group {
  first: ViolationEvent;
  count: number;
  lastNs: string;
  timer: NodeJS.Timeout | undefined;
}

/** The identity of a violation for aggregation. */
export function aggregationKey(e: ViolationEvent): string {
  return JSON.stringify([
    e.policy.name,
    e.policy.rule,
    e.process.uid,
    e.process.euid,
    e.process.executable ?? null,
    e.process.comm,
    e.kind,
    e.outcome,
    e.target,
    e.process.cgroup.id,
  ]);
}

export class Aggregator {
  readonly #windowMs: number;
  readonly #maxGroups: number;
  readonly #emit: (e: BpfgateEvent) => void;
  readonly #groups = new Map<string, Group>();
  #stopped = false;

  constructor(options: AggregatorOptions, emit: (e: BpfgateEvent) => void) {
    if (!Number.isInteger(options.windowMs) || options.windowMs < 0) {
      throw new RangeError('aggregation windowMs must be an integer >= 0');
    }
    this.#windowMs = options.windowMs;
    this.#maxGroups = options.maxGroups ?? DEFAULT_AGGREGATE_MAX_GROUPS;
    this.#emit = emit;
  }

  start(): void {
    this.#stopped = false;
  }

  get openGroups(): number {
    return this.#groups.size;
  }

  push(e: BpfgateEvent): void {
    if (this.#windowMs === 0 || e.type !== 'violation' || this.#stopped) {
      this.#emit(e);
      return;
    }
    const key = aggregationKey(e);
    const g = this.#groups.get(key);
    if (g) {
      // an event the kernel already aggregated stands for its count
      g.count += e.count ?? 1;
      const last = e.lastTimeNs ?? e.timeNs;
      if (BigInt(last) > BigInt(g.lastNs)) g.lastNs = last;
      return;
    }
    if (this.#groups.size >= this.#maxGroups) {
      const oldest = this.#groups.keys().next().value as string;
      this.#flush(oldest);
    }
    const group: Group = {
      first: e,
      count: e.count ?? 1,
      lastNs: e.lastTimeNs ?? e.timeNs,
      timer: undefined,
    };
    group.timer = setTimeout(() => this.#flush(key), this.#windowMs);
    group.timer.unref();
    this.#groups.set(key, group);
  }

  #flush(key: string): void {
    const g = this.#groups.get(key);
    if (!g) return;
    this.#groups.delete(key);
    clearTimeout(g.timer);
    if (g.count === (g.first.count ?? 1)) {
      this.#emit(g.first);
      return;
    }
    this.#emit({
      ...g.first,
      count: g.count,
      firstTimeNs: g.first.firstTimeNs ?? g.first.timeNs,
      firstTime: g.first.firstTime ?? g.first.time,
      lastTimeNs: g.lastNs,
      lastTime: formatTimeNs(BigInt(g.lastNs)),
    });
  }

  /** Emit every open group now. */
  flush(): void {
    for (const key of [...this.#groups.keys()]) this.#flush(key);
  }

  /** Emit every open group; later events pass straight through. */
  stop(): void {
    this.flush();
    this.#stopped = true;
  }
}
