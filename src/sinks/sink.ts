// The one interface every event output implements (stdout, NATS, the
// aggregator in front of them, the metrics counter), and the fan-out that
// hands each event to several. Sinks are components: start() before the
// first event, stop() publishes or flushes what they hold; a chain stops in
// reverse order of starting.
import type { BpfgateEvent } from '../events/types.ts';

/** Where events go. publish() never throws and never waits. */
export interface EventOutput {
  publish(event: BpfgateEvent): void;
}

export interface Sink extends EventOutput {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** An output with nothing to start or stop (a counter, a test's collector) as a sink. */
export function asSink(output: EventOutput): Sink {
  if ('start' in output && 'stop' in output) return output as Sink;
  return { publish: (e) => output.publish(e), start: async () => {}, stop: async () => {} };
}

/** Every event to each sink, in order; started in order, stopped in reverse. */
export class Fanout implements Sink {
  readonly #sinks: readonly Sink[];
  constructor(sinks: readonly Sink[]) {
    this.#sinks = sinks;
  }
  publish(event: BpfgateEvent): void {
    for (const s of this.#sinks) s.publish(event);
  }
  async start(): Promise<void> {
    for (const s of this.#sinks) await s.start();
  }
  async stop(): Promise<void> {
    for (const s of [...this.#sinks].reverse()) await s.stop();
  }
}
