// Event outputs: JSON lines on stdout, and the NATS sink.
import { toOcsf } from '../events/ocsf.ts';
import type { BpfgateEvent } from '../events/types.ts';
import type { NatsSink } from '../sinks/nats.ts';
import type { EventOutput } from './pipeline.ts';

export type EventFormat = 'native' | 'ocsf';

/** OCSF has no class for bpfgate's own loss and policy-error events: those stay native in both formats. */
export function formatEvent(event: BpfgateEvent, format: EventFormat): unknown {
  return format === 'ocsf' && event.type === 'violation' ? toOcsf(event) : event;
}

export class StdoutOutput implements EventOutput {
  readonly #format: EventFormat;
  readonly #write: (line: string) => void;
  constructor(format: EventFormat, write: (line: string) => void = (l) => process.stdout.write(l)) {
    this.#format = format;
    this.#write = write;
  }
  publish(event: BpfgateEvent): void {
    this.#write(`${JSON.stringify(formatEvent(event, this.#format))}\n`);
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
