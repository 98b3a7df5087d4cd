// A BPF ring buffer read on the event loop: the addon watches the ring's
// epoll fd with uv_poll and calls back once per wake-up with a batch of
// records (at most maxBatch; the rest follow on the next loop turn). The
// records are copies: keep them as long as needed.
import { call, closedError, KernelError, toKernelError } from './errors.ts';
import type { BpfMap } from './map.ts';
import { type Handle, native } from './native.ts';

export const DEFAULT_MAX_BATCH = 4096;

/** Records of one wake-up: one Buffer, records back to back. */
export class RecordBatch {
  readonly data: Buffer;
  /** ends[i + 1] is the end of record i; ends[0] = 0 */
  readonly ends: Uint32Array;

  constructor(data: Buffer, ends: Uint32Array) {
    this.data = data;
    this.ends = ends;
  }

  get count(): number {
    return this.ends.length - 1;
  }

  /** Record i, a view into data. */
  at(i: number): Buffer {
    return this.data.subarray(this.ends[i]!, this.ends[i + 1]!);
  }

  *[Symbol.iterator](): IterableIterator<Buffer> {
    for (let i = 0; i < this.count; i++) yield this.at(i);
  }

  toArray(): Buffer[] {
    return [...this];
  }
}

export interface RingBufferOptions {
  /** records per callback at most (default 4096) */
  maxBatch?: number;
  /** a failing read (the reader keeps going unless the fd broke); default: throw (uncaught) */
  onError?: (err: KernelError) => void;
  /** keep the event loop alive while open (default true) */
  ref?: boolean;
}

export class RingBufferReader {
  readonly map: BpfMap;
  #h: Handle | null;

  private constructor(map: BpfMap, h: Handle) {
    this.map = map;
    this.#h = h;
  }

  /** Start reading: onBatch runs on the event loop for every wake-up with records. */
  static open(
    map: BpfMap,
    onBatch: (batch: RecordBatch) => void,
    options: RingBufferOptions = {},
  ): RingBufferReader {
    const onError =
      options.onError ??
      ((err: KernelError) => {
        throw err;
      });
    const h = call(() =>
      native().ringOpen(
        map.fd,
        (err, data, ends) => {
          if (err) {
            const e = toKernelError(err);
            onError(e instanceof KernelError ? e : new KernelError('ring_buffer_consume', 5, String(err)));
          } else if (data && ends) {
            onBatch(new RecordBatch(data, ends));
          }
        },
        options.maxBatch ?? DEFAULT_MAX_BATCH,
      ),
    );
    const reader = new RingBufferReader(map, h);
    if (options.ref === false) reader.unref();
    return reader;
  }

  get closed(): boolean {
    return this.#h === null;
  }

  /** Take what is in the ring now, synchronously (at most maxBatch records); e.g. a last drain before close. */
  consume(): RecordBatch {
    const h = this.#handle('ring_consume');
    const { data, ends } = call(() => native().ringConsume(h));
    return new RecordBatch(data, ends);
  }

  /** records handed out since open */
  get delivered(): number {
    if (!this.#h) return 0;
    const h = this.#h;
    return call(() => native().ringStats(h)).delivered;
  }

  ref(): void {
    const h = this.#handle('ring_ref');
    native().ringRef(h, true);
  }

  unref(): void {
    const h = this.#handle('ring_ref');
    native().ringRef(h, false);
  }

  /** Stop reading at once (also from inside the callback). Idempotent. */
  close(): void {
    if (!this.#h) return;
    const h = this.#h;
    this.#h = null;
    native().ringClose(h);
  }

  #handle(op: string): Handle {
    if (!this.#h) throw closedError(op, `ring buffer ${this.map.name}`);
    return this.#h;
  }
}
