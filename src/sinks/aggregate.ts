// The aggregator (src/events/aggregate.ts) as a sink in front of the others:
// identical violations within the window reach `next` as one event with a
// count. stop() emits every open group, then stops `next`.
import { Aggregator } from '../events/aggregate.ts';
import type { BpfgateEvent } from '../events/types.ts';
import type { Sink } from './sink.ts';

export class AggregatingSink implements Sink {
  readonly #aggregator: Aggregator;
  readonly #next: Sink;
  constructor(windowMs: number, next: Sink) {
    this.#next = next;
    this.#aggregator = new Aggregator({ windowMs }, (e) => next.publish(e));
  }
  async start(): Promise<void> {
    await this.#next.start();
    this.#aggregator.start();
  }
  publish(event: BpfgateEvent): void {
    this.#aggregator.push(event);
  }
  async stop(): Promise<void> {
    this.#aggregator.stop();
    await this.#next.stop();
  }
}
