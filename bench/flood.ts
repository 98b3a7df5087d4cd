// A flood, as an intruder sends one: one process in the bench cgroup asks for
// a denied raw socket 200,000 times as fast as it can (the C load generator,
// socket-raw), against the daemon in a process of its own (no stdout, no
// NATS: the events reach the metrics counter). Twice in one run: with the
// kernel's repeat counting (the default, 16 records a second per process and
// target) and with a record for every attempt (--kernel-records 0), as before
// it existed. Per run: the attempts and the violations the events stand for
// (bpfgate_violations_total sums their counts) plus the losses, the records
// written and dropped, the daemon's CPU and resident memory before and at its
// peak, and /healthz's answer time polled every 20 ms through the flood and
// until the daemon has caught up.
import { mkdirSync, writeFileSync } from 'node:fs';
import { BENCH_CACHE, buildAll } from './lib/build.ts';
import { createBenchCgroup } from './lib/cgroup.ts';
import { cleanup } from './lib/cleanup.ts';
import { spawnDaemon } from './lib/daemon-proc.ts';
import { loadgen } from './lib/loadgen.ts';
import { loadAverage, round, writeResult } from './lib/stats.ts';

/** BENCH_FLOOD_ATTEMPTS=50000 for a shorter run */
const ATTEMPTS = Number(process.env.BENCH_FLOOD_ATTEMPTS ?? 200_000);
const SETTLE_LIMIT_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sample(text: string, name: string): number {
  let n = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(name)) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

async function once(kernelRecords: number, policyDir: string, cgPath: string, bin: string) {
  const d = await spawnDaemon([
    '--policies',
    policyDir,
    '--cgroup',
    cgPath,
    '--kernel-records',
    String(kernelRecords),
  ]);
  const base = await d.daemon.metricsUrl();
  const metrics = async () => {
    const t = await (await fetch(`${base}/metrics`)).text();
    return {
      violations: sample(t, 'bpfgate_violations_total{'),
      losses: sample(t, 'bpfgate_events_lost_total'),
      records: sample(t, 'bpfgate_kernel_events_total '),
      repeats: sample(t, 'bpfgate_kernel_repeats_total '),
      drops: sample(t, 'bpfgate_ringbuf_drops_total '),
      denied: sample(t, 'bpfgate_kernel_denied_total '),
    };
  };
  const before = await d.stats();
  const m0 = await metrics();
  const healthz: number[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const t = performance.now();
      await fetch(`${base}/healthz`).catch(() => null);
      healthz.push(performance.now() - t);
      await sleep(20);
    }
  })();
  const t0 = performance.now();
  const gen = await loadgen(bin, 'socket-raw', ATTEMPTS, { cgroup: cgPath });
  const genMs = performance.now() - t0;
  // until every attempt is accounted for (the sweep reports the last ones a second after the flood), or nothing moves
  let m = await metrics();
  const until = Date.now() + SETTLE_LIMIT_MS;
  let last = -1;
  let still = 0;
  while (Date.now() < until) {
    m = await metrics();
    const accounted = m.violations - m0.violations + (m.losses - m0.losses);
    if (accounted >= gen.errors) break;
    still = accounted === last ? still + 1 : 0;
    if (still >= 12) break;
    last = accounted;
    await sleep(250);
  }
  const settledMs = performance.now() - t0;
  polling = false;
  await poller;
  const after = await d.stats();
  await d.stop();
  healthz.sort((a, b) => a - b);
  const row = {
    kernelRecordsPerSecond: kernelRecords,
    attempts: gen.iterations,
    refused: gen.errors,
    attemptsPerSecond: Math.round(gen.iterations / gen.seconds),
    deniedInKernel: m.denied - m0.denied,
    recordsWritten: m.records - m0.records,
    countedInKernel: m.repeats - m0.repeats,
    ringbufDrops: m.drops - m0.drops,
    violationsReported: m.violations - m0.violations,
    lossesReported: m.losses - m0.losses,
    accountedExactly: m.violations - m0.violations + (m.losses - m0.losses) === gen.errors,
    generatorMs: round(genMs),
    untilAccountedMs: round(settledMs),
    daemonCpuMs: round((after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1000),
    daemonRssBeforeMiB: round(before.memory.rss / 2 ** 20),
    daemonPeakRssMiB: round(after.memory.hwm / 2 ** 20),
    healthzMs: {
      polls: healthz.length,
      median: round(healthz[Math.floor(healthz.length / 2)] ?? 0),
      p99: round(healthz[Math.floor(healthz.length * 0.99)] ?? 0),
      max: round(healthz.at(-1) ?? 0),
    },
  };
  process.stdout.write(
    `flood records/s ${String(kernelRecords).padStart(2)}: ${row.refused}/${row.attempts} refused (${row.attemptsPerSecond}/s)  records ${row.recordsWritten} + counted ${row.countedInKernel} (drops ${row.ringbufDrops})  reported ${row.violationsReported} + lost ${row.lossesReported} ${row.accountedExactly ? '= attempts' : '!= attempts'}  cpu ${row.daemonCpuMs} ms  rss ${row.daemonRssBeforeMiB} -> peak ${row.daemonPeakRssMiB} MiB  /healthz max ${row.healthzMs.max} ms (p99 ${row.healthzMs.p99})\n`,
  );
  return row;
}

export async function run(): Promise<void> {
  const b = buildAll();
  const load0 = loadAverage();
  const cg = createBenchCgroup('flood');
  try {
    const policyDir = `${BENCH_CACHE}/policies-flood`;
    mkdirSync(policyDir, { recursive: true });
    writeFileSync(
      `${policyDir}/flood.yaml`,
      `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: bench-flood }
spec:
  scope: { cgroups: [${cg.rel}] }
  rules:
    - { id: raw, kind: socket, action: block, match: { families: [inet], types: [raw] } }
`,
    );
    const rows = [
      await once(16, policyDir, cg.path, b.loadgen),
      await once(0, policyDir, cg.path, b.loadgen),
    ];
    writeResult('flood', {
      conditions: { loadAverageBefore: load0, loadAverageAfter: loadAverage(), attempts: ATTEMPTS },
      setup:
        'one loadgen process (socket-raw, unpaced) in the bench cgroup; a block rule on raw inet sockets scoped to it; the daemon in its own process with the /proc enricher, no stdout, no NATS (events reach the metrics counter); /healthz polled every 20 ms from the bench process',
      results: rows,
    });
  } finally {
    await cleanup();
  }
}

if (import.meta.main) await run();
