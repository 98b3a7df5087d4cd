// A BPF ring buffer read on the event loop: the addon watches the ring's
// epoll fd with uv_poll and calls back once per wake-up with a batch of
// records (at most maxBatch; the rest follow on the next loop turn), and with
// drainMs a timer does the same for records written without a wake-up. The
// records are copies: keep them as long as needed.
//
// Nothing read is dropped without a count: a record the addon could not
// stage, or a batch it could not hand over, is counted in `lost`. A poll
// error stops the watcher; the reader starts it again after a back-off
// (doubling up to retryMaxMs, reset by the next batch) and says meanwhile
// why it is not reading (`stoppedBy`).
import { Backoff } from '../../backoff.ts';
import { call, closedError, KernelError, toKernelError } from './errors.ts';
import type { BpfMap } from './map.ts';
import { type Handle, native } from './native.ts';

export const DEFAULT_MAX_BATCH = 4096;
export const DEFAULT_RETRY_MS = 100;
export const DEFAULT_RETRY_MAX_MS = 30_000;

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
  /** a failing read; stopped: reading stopped until the retry (resumeInMs later); default: throw (uncaught) */
  onError?: (err: KernelError, stopped: { resumeInMs: number } | null) => void;
  /** reading started again after a stop */
  onResume?: () => void;
  /** first delay before reading again after a poll error (default 100 ms), doubling up to retryMaxMs (30 s) */
  retryMs?: number;
  retryMaxMs?: number;
  /** keep the event loop alive while open (default true) */
  ref?: boolean;
  /**
   * Also take what waits in the ring every drainMs, woken or not (default:
   * only when woken). bpfgate's programs wake the reader only when the ring
   * fills past a mark (bpf/lib/event.h, BG_RINGBUF_WAKE_BYTES): its reader
   * sets this, or records below the mark wait until the next wake-up.
   */
  drainMs?: number;
}

export class RingBufferReader {
  readonly map: BpfMap;
  #h: Handle | null;
  readonly #o: RingBufferOptions;
  #refd = true;
  #stoppedBy: KernelError | null = null;
  #retry: NodeJS.Timeout | null = null;
  #drain: NodeJS.Timeout | null = null;
  readonly #wait: Backoff;

  private constructor(map: BpfMap, options: RingBufferOptions) {
    this.map = map;
    this.#h = null;
    this.#o = options;
    this.#wait = new Backoff(options.retryMs ?? DEFAULT_RETRY_MS, options.retryMaxMs ?? DEFAULT_RETRY_MAX_MS);
  }

  /** Start reading: onBatch runs on the event loop for every wake-up with records. */
  static open(
    map: BpfMap,
    onBatch: (batch: RecordBatch) => void,
    options: RingBufferOptions = {},
  ): RingBufferReader {
    const reader = new RingBufferReader(map, options);
    reader.#h = call(() =>
      native().ringOpen(
        map.fd,
        (err, data, ends, stopped) => {
          if (err) reader.#failed(err, stopped);
          else if (data && ends) {
            reader.#wait.reset();
            onBatch(new RecordBatch(data, ends));
          }
        },
        options.maxBatch ?? DEFAULT_MAX_BATCH,
      ),
    );
    if (options.ref === false) reader.unref();
    if (options.drainMs) {
      reader.#drain = setInterval(() => reader.#poke(), options.drainMs);
      // the uv_poll watcher keeps the loop alive (or not, unref): the timer never does
      reader.#drain.unref();
    }
    return reader;
  }

  /** The drain timer: what a wake-up does (the same callback, errors and counts), unless stopped or closed. */
  #poke(): void {
    const h = this.#h;
    if (!h || this.#stoppedBy) return;
    try {
      call(() => native().ringPoke(h));
    } catch (err) {
      this.#failed(err, false);
    }
  }

  get closed(): boolean {
    return this.#h === null;
  }

  /** Why reading is stopped (a poll error; a retry is scheduled), or null while reading. */
  get stoppedBy(): KernelError | null {
    return this.#stoppedBy;
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

  /** records read from the ring since open but never handed out (staging or copying failed) */
  get lost(): number {
    if (!this.#h) return 0;
    const h = this.#h;
    return call(() => native().ringStats(h)).lost;
  }

  ref(): void {
    const h = this.#handle('ring_ref');
    native().ringRef(h, true);
    this.#refd = true;
    this.#retry?.ref();
  }

  unref(): void {
    const h = this.#handle('ring_ref');
    native().ringRef(h, false);
    this.#refd = false;
    this.#retry?.unref();
  }

  /** Stop reading at once (also from inside the callback). Idempotent. */
  close(): void {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    if (this.#drain) clearInterval(this.#drain);
    this.#drain = null;
    if (!this.#h) return;
    const h = this.#h;
    this.#h = null;
    native().ringClose(h);
  }

  #failed(err: unknown, stopped: boolean): void {
    const e = toKernelError(err);
    const error = e instanceof KernelError ? e : new KernelError('ring_buffer_consume', 5, String(err));
    const onError =
      this.#o.onError ??
      ((x: KernelError) => {
        throw x;
      });
    if (!stopped || !this.#h) {
      onError(error, null);
      return;
    }
    this.#stoppedBy = error;
    const resumeInMs = this.#wait.next();
    this.#retry = setTimeout(() => this.#resume(), resumeInMs);
    if (!this.#refd) this.#retry.unref();
    onError(error, { resumeInMs });
  }

  #resume(): void {
    this.#retry = null;
    const h = this.#h;
    if (!h) return;
    try {
      call(() => native().ringResume(h));
    } catch (err) {
      this.#failed(err, true);
      return;
    }
    this.#stoppedBy = null;
    this.#o.onResume?.();
  }

  #handle(op: string): Handle {
    if (!this.#h) throw closedError(op, `ring buffer ${this.map.name}`);
    return this.#h;
  }
}
