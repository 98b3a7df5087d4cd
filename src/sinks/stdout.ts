// Events on stdout: JSON lines (the journal, a pipe) in the configured
// format, or one readable line each for a person at a terminal.
//
// stdout is written with fs.write on its file descriptor, one write in flight,
// never through process.stdout: a pipe whose reader stopped reading would
// block a synchronous write (and with it the event loop and the ring buffer),
// and a reader that went away (EPIPE) would end the process through an
// unhandled stream error. Here a full pipe keeps lines in a bounded buffer
// (a blocking descriptor waits in libuv's thread pool, a non-blocking one is
// retried), lines beyond the bound are dropped, and a descriptor that fails
// for good drops everything from then on. Every violation that could not be
// written is counted (stats().dropped); the daemon reports the count as a
// loss event through its other outputs. A loss event that cannot be written
// is not counted again: the loss it reports reaches the other outputs.
import { write } from 'node:fs';
import { formatLine } from '../events/line.ts';
import type { BpfgateEvent } from '../events/types.ts';
import { type EventFormat, formatEvent, formatJson } from './format.ts';
import type { Sink } from './sink.ts';

export const STDOUT_VIEWS = ['auto', 'text', 'json'] as const;
/** auto: text when stdout is a terminal (the command decides), else json */
export type StdoutView = (typeof STDOUT_VIEWS)[number];

export const DEFAULT_STDOUT_BUFFER_BYTES = 8 * 1024 * 1024;
/** a non-blocking descriptor that is full: try again after this long */
const RETRY_MS = 20;

export interface StdoutOptions {
  format: EventFormat;
  /** text: one readable line per event (colours when `color`); json: JSON lines */
  view?: 'text' | 'json';
  color?: boolean;
  /** the descriptor (default 1) */
  fd?: number;
  /** bytes waiting for the reader at most; beyond, new lines are dropped (default 8 MiB) */
  maxBufferBytes?: number;
}

export interface StdoutStats {
  /** violations written */
  written: number;
  /** violations that could not be written: buffer full, or stdout failed */
  dropped: number;
  /** lines waiting to be written */
  pending: number;
  /** why stdout stopped taking lines (EPIPE, EBADF...), or null */
  closed: string | null;
}

interface Line {
  buf: Buffer;
  /** a violation: counted when written or dropped */
  counted: boolean;
}

export class StdoutSink implements Sink {
  readonly #line: (event: BpfgateEvent) => string;
  readonly #fd: number;
  readonly #max: number;
  #queue: Line[] = [];
  #bytes = 0;
  /** bytes of the head line already written (a pipe may take part of a write) */
  #offset = 0;
  #writing = false;
  #retry: NodeJS.Timeout | null = null;
  #idle: (() => void) | null = null;
  #s: StdoutStats = { written: 0, dropped: 0, pending: 0, closed: null };

  constructor(o: StdoutOptions) {
    this.#fd = o.fd ?? 1;
    this.#max = o.maxBufferBytes ?? DEFAULT_STDOUT_BUFFER_BYTES;
    const color = o.color === true;
    this.#line =
      o.view === 'text'
        ? (e) => formatLine(formatEvent(e, o.format) as never, { color, host: false, shortTime: true })
        : (e) => formatJson(e, o.format);
  }

  async start(): Promise<void> {}

  /** Never blocks and never throws. */
  publish(event: BpfgateEvent): void {
    const counted = event.type !== 'loss';
    if (this.#s.closed !== null) {
      if (counted) this.#s.dropped += 1;
      return;
    }
    let buf: Buffer;
    try {
      buf = Buffer.from(`${this.#line(event)}\n`);
    } catch {
      if (counted) this.#s.dropped += 1;
      return;
    }
    if (this.#bytes + buf.length > this.#max) {
      if (counted) this.#s.dropped += 1;
      return;
    }
    this.#queue.push({ buf, counted });
    this.#bytes += buf.length;
    this.#pump();
  }

  stats(): StdoutStats {
    return { ...this.#s, pending: this.#queue.filter((l) => l.counted).length };
  }

  /** Wait up to timeoutMs for what is buffered to be written; what is left then is counted as dropped. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.#queue.length > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        this.#idle = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    this.#idle = null;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    // a write still in the thread pool (a blocking descriptor nobody reads) never returns: count it
    this.#fail('stopped');
    this.#s.closed = this.#s.closed === 'stopped' ? null : this.#s.closed;
  }

  #pump(): void {
    if (this.#writing || this.#retry || this.#s.closed !== null) return;
    const head = this.#queue[0];
    if (!head) {
      this.#idle?.();
      return;
    }
    this.#writing = true;
    write(this.#fd, head.buf, this.#offset, head.buf.length - this.#offset, null, (err, n) => {
      this.#writing = false;
      if (this.#s.closed !== null) return;
      if (err) {
        if (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK' || err.code === 'EINTR') {
          this.#retry = setTimeout(() => {
            this.#retry = null;
            this.#pump();
          }, RETRY_MS);
          this.#retry.unref();
          return;
        }
        this.#fail(err.code ?? err.message);
        return;
      }
      this.#offset += n;
      if (this.#offset >= head.buf.length) {
        this.#queue.shift();
        this.#bytes -= head.buf.length;
        this.#offset = 0;
        if (head.counted) this.#s.written += 1;
      }
      this.#pump();
    });
  }

  /** stdout failed for good: drop what waits, and everything from now on. */
  #fail(why: string): void {
    for (const l of this.#queue) if (l.counted) this.#s.dropped += 1;
    this.#queue = [];
    this.#bytes = 0;
    this.#offset = 0;
    if (this.#s.closed === null) this.#s.closed = why;
    this.#idle?.();
  }
}
