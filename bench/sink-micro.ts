// The NATS sink alone: N synthetic violation events through NatsSink.publish()
// to a loopback nats-server -js (file storage), timed to the last
// acknowledgement. Not part of bench/run.ts; a quick check of the sink's own
// ceiling: `node bench/sink-micro.ts [N]`.

import { execFileSync } from 'node:child_process';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { buildEvent } from '../src/events/build.ts';
import { IdGenerator } from '../src/events/id.ts';
import type { DecodedRecord } from '../src/kernel/record.ts';
import { NatsSink } from '../src/sinks/nats.ts';
import { parseSinkOptions } from '../src/sinks/options.ts';
import { NatsServer } from '../test/support/nats-server.ts';

/** CPU seconds of the nats-server processes using this store */
function serverCpu(dir: string): number {
  const out = execFileSync('ps', ['-eo', 'pid,times,args'], { encoding: 'utf8' });
  let t = 0;
  for (const l of out.split('\n'))
    if (l.includes('nats-server') && l.includes(dir)) t += Number(l.trim().split(/\s+/)[1]);
  return t;
}

const N = Number(process.argv[2] ?? 100_000);
const server = await NatsServer.start();
try {
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'MICRO', subjects: ['bpfgate.v1.>'], storage: 'file' } as Parameters<
    typeof jsm.streams.add
  >[0]);
  const ids = new IdGenerator();
  const sink = new NatsSink(
    { ...parseSinkOptions({ servers: [server.url] }), queueMax: N + 10 },
    { host: 'micro', ids },
  );
  await sink.start();
  while (!sink.stats().connected) await new Promise((r) => setTimeout(r, 10));
  const record = {
    kind: 'socket',
    gen: 0,
    ruleId: 0,
    outcome: 'would-block',
    action: 'block',
    mechanism: 'cgroup/sock_create',
    bootNs: 1n,
    pid: 1,
    tgid: 1,
    ppid: 0,
    uid: 0,
    gid: 0,
    euid: 0,
    comm: 'loadgen',
    cgroupId: 1n,
    flags: 0,
    ret: 0,
    args: [2n, 2n, 0n, 0n],
    path: '',
  } as unknown as DecodedRecord;
  const rule = {
    policy: 'p',
    rule: 'r',
    severity: 'high',
    tags: [],
    action: 'audit',
    dryRun: false,
  } as never;
  const t0 = performance.now();
  const s0 = serverCpu(server.dir);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const e = buildEvent(record, rule, {
      host: 'micro',
      mode: 'enforce',
      enrichment: {},
      clock: { offsetNs: 0n },
      ids,
    });
    sink.publish(e);
    if (i % 5000 === 4999) await new Promise((r) => setImmediate(r));
  }
  await sink.idle(120_000);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const s = sink.stats();
  const info = await jsm.streams.info('MICRO');
  process.stdout.write(
    `sink ${N} events: ${Math.round(N / (ms / 1000))}/s acked, published ${s.published}, in stream ${info.state.messages}, cpu ${Math.round(((cpu.user + cpu.system) / 1000 / ms) * 100)}% of a core, server ${Math.round((((serverCpu(server.dir) - s0) * 1000) / ms) * 100)}%\n`,
  );
  await sink.stop();
  await nc.close();
} finally {
  await server.dispose();
}
