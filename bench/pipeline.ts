// Event pipeline: violations per second from the kernel to JetStream
// acknowledgement. A real nats-server (loopback, -js) and the stream
// docs/events.md describes; the daemon in a process of its own; a C load
// generator in the bench cgroup creating inet dgram sockets (an audit rule)
// at paced rates of 1k, 10k and 100k per second for a few seconds each. Per
// rate: offered, acknowledged in the stream, ringbuf drops (bg_stats), queue
// and spool drops, daemon CPU and peak RSS. After each rate, in the same run,
// the client's ceiling: a bare @nats-io/jetstream publisher sending as many
// pre-encoded messages of the same size with the same ack window (lib/bare.ts);
// the row reports bpfgate ÷ bare.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { WINDOW } from '../src/sinks/window.ts';
import { createStream } from '../test/support/nats.ts';
import { NatsServer } from '../test/support/nats-server.ts';
import { barePublish } from './lib/bare.ts';
import { BENCH_CACHE, buildAll } from './lib/build.ts';
import { createBenchCgroup } from './lib/cgroup.ts';
import { cleanup, onCleanup } from './lib/cleanup.ts';
import { spawnDaemon } from './lib/daemon-proc.ts';
import { loadgen } from './lib/loadgen.ts';
import { writeKindPolicy } from './lib/policies.ts';
import { loadAverage, round, writeResult } from './lib/stats.ts';

/** BENCH_PIPELINE_RATES=10000 to measure fewer rates */
export const RATES = (process.env.BENCH_PIPELINE_RATES ?? '1000,10000,100000').split(',').map(Number);
const SECONDS = 3;
const DRAIN_LIMIT_MS = 30_000;
const STREAM = 'BPFGATE_BENCH';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(): Promise<void> {
  const b = buildAll();
  const load0 = loadAverage();
  const cg = createBenchCgroup('pipeline');
  try {
    const server = await NatsServer.start();
    onCleanup('nats-server', () => server.dispose());
    const nc = await connect({ servers: server.url });
    onCleanup('nats connection', () => nc.close());
    await createStream(nc, { name: STREAM });
    const jsm = await jetstreamManager(nc);
    const inStream = async () => (await jsm.streams.info(STREAM)).state.messages;
    /** the first violation stored after sequence `after`: the bare publisher sends its size, on its subject */
    const sample = async (after: number) => {
      for (let seq = after + 1; seq <= after + 16; seq++) {
        const m = await jsm.streams.getMessage(STREAM, { seq }).catch(() => null);
        if (m && !m.subject.includes('._')) return m;
      }
      return null;
    };

    const policyDir = `${BENCH_CACHE}/policies-pipeline`;
    writeKindPolicy(policyDir, ['socket'], 1, cg.rel, { execMatch: '', fileMatch: '' });
    // one record per violation: the pipeline's own rate (a single generator process repeating one
    // violation is otherwise counted in the kernel: bench/flood.ts)
    const d = await spawnDaemon([
      '--policies',
      policyDir,
      '--cgroup',
      cg.path,
      '--nats',
      server.url,
      '--kernel-records',
      '0',
    ]);
    const rows = [];
    for (const rate of RATES) {
      const before = await d.stats();
      const stream0 = await inStream();
      const seq0 = (await jsm.streams.info(STREAM)).state.last_seq;
      const t0 = performance.now();
      const gen = await loadgen(b.loadgen, 'socket-dgram', rate * SECONDS, { cgroup: cg.path, rate });
      const genMs = performance.now() - t0;
      // wait until everything offered is acknowledged, or nothing moves any more
      let last = -1;
      let still = 0;
      const until = Date.now() + DRAIN_LIMIT_MS;
      let s = await d.stats();
      while (Date.now() < until) {
        s = await d.stats();
        const acked = s.sink?.published ?? 0;
        if (acked - (before.sink?.published ?? 0) >= gen.iterations && (s.sink?.queued ?? 0) === 0) break;
        still = acked === last ? still + 1 : 0;
        if (still >= 8) break;
        last = acked;
        await sleep(250);
      }
      const doneMs = performance.now() - t0;
      const stream = (await inStream()) - stream0;
      const cpuMs = (s.cpu.user + s.cpu.system - before.cpu.user - before.cpu.system) / 1000;
      const ringbufDrops = s.kernel.ringbufDrops - before.kernel.ringbufDrops;
      const kernelEvents = s.kernel.events - before.kernel.events;
      const queueDropped = (s.sink?.queueDropped ?? 0) - (before.sink?.queueDropped ?? 0);
      const spoolDropped = (s.sink?.spoolDropped ?? 0) - (before.sink?.spoolDropped ?? 0);
      const row = {
        offeredRate: rate,
        offered: gen.iterations,
        achievedOfferRate: Math.round(gen.iterations / gen.seconds),
        generatorErrors: gen.errors,
        kernelEvents,
        ringbufDrops,
        queueDropped,
        spoolDropped,
        // loss events the daemon publishes about drops land in the stream too
        inStream: stream,
        lost: gen.iterations - Math.min(gen.iterations, stream),
        ackedPerSecond: Math.round(stream / (doneMs / 1000)),
        generatorMs: round(genMs),
        untilAckedMs: round(doneMs),
        daemonCpuMs: round(cpuMs),
        daemonCpuPercentOfOneCore: round((cpuMs / doneMs) * 100),
        daemonRssBytes: s.memory.rss,
        daemonPeakRssBytes: s.memory.hwm,
        daemonCpuUsPerEvent: stream > 0 ? round((cpuMs * 1000) / stream) : null,
      };
      // the client's ceiling for the same count, size and window (the daemon is idle meanwhile)
      const m = await sample(seq0);
      const bare = m ? await barePublish(nc, m.subject, m.data, gen.iterations, WINDOW) : null;
      rows.push({
        ...row,
        bare,
        bpfgateOverBare: bare ? round(row.ackedPerSecond / bare.ackedPerSecond, 2) : null,
      });
      process.stdout.write(
        `pipeline ${String(rate).padStart(6)}/s offered ${row.offered} (${row.achievedOfferRate}/s)  in stream ${row.inStream}  lost ${row.lost} (ringbuf ${ringbufDrops}, queue ${queueDropped})  ${row.ackedPerSecond} acked/s  cpu ${row.daemonCpuPercentOfOneCore}% (${row.daemonCpuUsPerEvent} µs/event)  peak rss ${round(row.daemonPeakRssBytes / 2 ** 20)} MiB  bare ${bare?.ackedPerSecond ?? 'n/a'} acked/s (${bare?.messageBytes ?? 0} B, ${bare?.cpuUsPerMessage ?? 0} µs/msg)  bpfgate÷bare ${bare ? round(row.ackedPerSecond / bare.ackedPerSecond, 2) : 'n/a'}\n`,
      );
    }
    await d.stop();
    writeResult('pipeline', {
      conditions: { loadAverageBefore: load0, loadAverageAfter: loadAverage(), secondsPerRate: SECONDS },
      setup:
        'nats-server -js on loopback (file storage), JetStream publish with Nats-Msg-Id; daemon with the /proc enricher, no stdout; bare: @nats-io/jetstream js.publish of pre-encoded copies of a stored event (same subject and size, own ids), the same ack window, unpaced',
      results: rows,
      daemonWarnings: d
        .log()
        .filter((l) => /"level":[4-6]0/.test(l))
        .slice(0, 20),
    });
  } finally {
    await cleanup();
  }
}

if (import.meta.main) await run();
