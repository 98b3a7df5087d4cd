// Events as JSON lines on stdout (the journal, a pipe), in the configured format.
import type { BpfgateEvent } from '../events/types.ts';
import { type EventFormat, formatJson } from './format.ts';
import type { Sink } from './sink.ts';

export class StdoutSink implements Sink {
  readonly #format: EventFormat;
  readonly #write: (line: string) => void;
  constructor(format: EventFormat, write: (line: string) => void = (l) => process.stdout.write(l)) {
    this.#format = format;
    this.#write = write;
  }
  async start(): Promise<void> {}
  publish(event: BpfgateEvent): void {
    this.#write(`${formatJson(event, this.#format)}\n`);
  }
  async stop(): Promise<void> {}
}
