// The client's own ceiling: a bare @nats-io/jetstream publisher sending N
// pre-encoded messages (same subject, same size as the daemon's events, each
// with its own Nats-Msg-Id) with at most `window` publishes awaiting their
// acknowledgement, as fast as the stream acknowledges them. The pipeline bench
// runs it beside the daemon, in the same run, and reports bpfgate ÷ bare.
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { IdGenerator } from '../../src/events/id.ts';

export interface BareResult {
  messages: number;
  messageBytes: number;
  window: number;
  acked: number;
  failed: number;
  ms: number;
  ackedPerSecond: number;
  /** this process's CPU time (user + system) per acknowledged message, µs */
  cpuUsPerMessage: number;
}

/** Publish `count` copies of `payload` (distinct ids) to `subject`, `window` outstanding at most. */
export async function barePublish(
  nc: NatsConnection,
  subject: string,
  payload: Uint8Array,
  count: number,
  window: number,
): Promise<BareResult> {
  const js = jetstream(nc);
  const idGen = new IdGenerator();
  const ids = Array.from({ length: count }, () => idGen.next());
  let sent = 0;
  let acked = 0;
  let failed = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    if (count === 0) resolve();
    const settled = () => {
      if (acked + failed === count) resolve();
      else fill();
    };
    const fill = () => {
      while (sent - acked - failed < window && sent < count) {
        const id = ids[sent++]!;
        js.publish(subject, payload, { msgID: id }).then(
          () => {
            acked++;
            settled();
          },
          () => {
            failed++;
            settled();
          },
        );
      }
    };
    fill();
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    messages: count,
    messageBytes: payload.length,
    window,
    acked,
    failed,
    ms: Math.round(ms),
    ackedPerSecond: Math.round(acked / (ms / 1000)),
    cpuUsPerMessage: acked > 0 ? Math.round(((cpu.user + cpu.system) / acked) * 10) / 10 : 0,
  };
}
