// Violations on stdout: JSON lines (the journal, a pipe) in the configured
// format, or one readable line each for a person at a terminal.
import { formatLine } from '../events/line.ts';
import type { BpfgateEvent } from '../events/types.ts';
import { type EventFormat, formatEvent, formatJson } from './format.ts';
import type { Sink } from './sink.ts';

export const STDOUT_VIEWS = ['auto', 'text', 'json'] as const;
/** auto: text when stdout is a terminal (the command decides), else json */
export type StdoutView = (typeof STDOUT_VIEWS)[number];

export interface StdoutOptions {
  format: EventFormat;
  /** text: one readable line per event (colours when `color`); json: JSON lines */
  view?: 'text' | 'json';
  color?: boolean;
  write?: (line: string) => void;
}

export class StdoutSink implements Sink {
  readonly #line: (event: BpfgateEvent) => string;
  readonly #write: (line: string) => void;
  constructor(o: StdoutOptions) {
    this.#write = o.write ?? ((l) => process.stdout.write(l));
    const color = o.color === true;
    this.#line =
      o.view === 'text'
        ? (e) => formatLine(formatEvent(e, o.format) as never, { color, host: false, shortTime: true })
        : (e) => formatJson(e, o.format);
  }
  async start(): Promise<void> {}
  publish(event: BpfgateEvent): void {
    this.#write(`${this.#line(event)}\n`);
  }
  async stop(): Promise<void> {}
}
