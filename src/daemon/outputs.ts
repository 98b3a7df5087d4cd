// Event outputs: JSON lines on stdout, and the NATS sink.
import type { BpfgateEvent } from '../events/types.ts';
import { type EventFormat, formatJson } from '../sinks/format.ts';
import type { NatsSink } from '../sinks/nats.ts';
import type { EventOutput } from './pipeline.ts';

export class StdoutOutput implements EventOutput {
  readonly #format: EventFormat;
  readonly #write: (line: string) => void;
  constructor(format: EventFormat, write: (line: string) => void = (l) => process.stdout.write(l)) {
    this.#format = format;
    this.#write = write;
  }
  publish(event: BpfgateEvent): void {
    this.#write(`${formatJson(event, this.#format)}\n`);
  }
}

export class NatsOutput implements EventOutput {
  readonly #sink: NatsSink;
  constructor(sink: NatsSink) {
    this.#sink = sink;
  }
  publish(event: BpfgateEvent): void {
    this.#sink.publish(event);
  }
}
