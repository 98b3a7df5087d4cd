// A sink in a child process, for the crash test. Environment:
//   NATS_URL, SPOOL_DIR, COUNT (events to publish), PHASE ("outage" or "resume").
// outage: publishes COUNT events, waits until all are in the spool, prints
//   "SPOOLED <ids json>", then keeps publishing ("EXTRA <id>") until killed.
// resume: publishes COUNT new events, waits until everything (the old spool
//   included) is acknowledged, prints "DONE <ids json>" and exits.
import { buildEvent } from '../../src/events/build.ts';
import { IdGenerator } from '../../src/events/id.ts';
import { NatsSink } from '../../src/sinks/nats.ts';
import { parseSinkOptions } from '../../src/sinks/options.ts';
import { ctx, record, rule } from '../support/events.ts';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`${k} not set`);
  return v;
};
const ids = new IdGenerator();
const host = 'crash-host';
const sink = new NatsSink(
  parseSinkOptions({
    servers: [env('NATS_URL')],
    spoolDir: env('SPOOL_DIR'),
    publishTimeoutMs: 1000,
    reconnectWaitMs: 200,
    fsync: 'never',
  }),
  { host, ids },
);
await sink.start();
const event = () => buildEvent(record('exec'), rule('exec'), ctx({ host, ids }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const count = Number(env('COUNT'));
const sent: string[] = [];
for (let i = 0; i < count; i++) {
  const e = event();
  sink.publish(e);
  sent.push(e.id);
  if (i % 10 === 9) await sleep(5);
}
if (env('PHASE') === 'outage') {
  while ((sink.stats().spool?.pending ?? 0) < count) await sleep(10);
  process.stdout.write(`SPOOLED ${JSON.stringify(sent)}\n`);
  for (;;) {
    const e = event();
    sink.publish(e);
    process.stdout.write(`EXTRA ${e.id}\n`);
    await sleep(5);
  }
} else {
  await sink.idle(30_000);
  await sink.stop();
  process.stdout.write(`DONE ${JSON.stringify(sent)}\n`);
}
