// bpfgate's daemon in the bench process, with its cgroup programs attached to
// the bench cgroup only. Registered for cleanup: it is always stopped (every
// program detached) even when a benchmark fails.
import pino from 'pino';
import type { FeatureSet } from '../../src/abi/features.ts';
import { defaultDaemonOptions } from '../../src/config/daemon.ts';
import { composeDaemon } from '../../src/daemon/compose.ts';
import type { Daemon } from '../../src/daemon/daemon.ts';
import type { BpfgateEvent } from '../../src/events/types.ts';
import type { SinkOptions } from '../../src/sinks/options.ts';
import type { EventOutput } from '../../src/sinks/sink.ts';
import { onCleanup } from './cleanup.ts';

let cached: Promise<FeatureSet> | null = null;

/** The kernel probe, once per bench process. */
export function features(): Promise<FeatureSet> {
  cached ??= import('../../src/kernel/probe.ts').then((m) => m.probeFeatures());
  return cached;
}

/** Counts events by type (and keeps nothing). */
export class CountingOutput implements EventOutput {
  violations = 0;
  other = 0;
  publish(event: BpfgateEvent): void {
    if (event.type === 'violation') this.violations++;
    else this.other++;
  }
}

export interface BenchDaemon {
  daemon: Daemon;
  counter: CountingOutput;
  /** Daemon.start() in milliseconds */
  startMs: number;
  stop(): Promise<void>;
}

export async function startDaemon(o: {
  policyDir: string;
  cgroupAttach: string;
  nats?: Readonly<SinkOptions> | null;
  /** pino level; 'info' writes the start-up log (one line per rule) to /dev/null, as a daemon would to its log */
  logLevel?: 'silent' | 'info';
}): Promise<BenchDaemon> {
  const options = {
    ...defaultDaemonOptions(),
    policyPaths: [o.policyDir],
    cgroupAttach: o.cgroupAttach,
    stdout: false,
    nats: o.nats ?? null,
    host: 'bench',
    // nothing pinned: the bench never shares (adopts or removes) the default pin root with a daemon or test
    // running beside it, and a bench that dies leaves nothing attached
    pinRoot: null,
    keepEnforcing: false,
    // BENCH_OBJECT=path: measure another build of bpf/ (e.g. a candidate fix) with the same bench
    ...(process.env.BENCH_OBJECT ? { objectPath: process.env.BENCH_OBJECT } : {}),
  };
  const log = pino({ level: o.logLevel ?? 'silent' }, pino.destination({ dest: '/dev/null', sync: true }));
  const counter = new CountingOutput();
  const daemon = composeDaemon(options, { log, probe: features, enricher: null, outputs: [counter] });
  const t0 = performance.now();
  const stop = onCleanup('bpfgate daemon', () => daemon.stop());
  try {
    await daemon.start();
  } catch (err) {
    await stop();
    throw err;
  }
  return { daemon, counter, startMs: performance.now() - t0, stop };
}
