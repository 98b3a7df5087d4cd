// bpfgate's daemon in a process of its own, as an operator starts it: the real
// `bpfgate run` through the test launcher (test/support/daemon.ts), with
// nothing pinned (it never shares the default pin root with a daemon or a test
// running beside the bench), no stdout, and a metrics endpoint on a free
// loopback port from which stats() reads the daemon's /status. Registered for
// cleanup: the child is always stopped (it detaches everything), and killed
// if it does not stop.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { StatusDocument } from '../../src/daemon/metrics.ts';
import { DaemonProcess } from '../../test/support/daemon.ts';
import { onCleanup } from './cleanup.ts';

export interface DaemonStats {
  kernel: { events: number; ringbufDrops: number };
  sink: { published: number; queueDropped: number; spoolDropped: number; queued: number } | null;
  /** VmRSS and VmHWM from /proc, bytes */
  memory: { rss: number; hwm: number };
  /** user and system CPU time from /proc, microseconds */
  cpu: { user: number; system: number };
}

export interface DaemonProc {
  daemon: DaemonProcess;
  pid: number;
  /** spawn to the "bpfgate is enforcing" line, ms */
  enforcingMs: number;
  /** the daemon's log lines (stderr) */
  log(): readonly string[];
  stats(): Promise<DaemonStats>;
  /** VmRSS and VmHWM from /proc, bytes */
  rss(): { rss: number; hwm: number };
  stop(): Promise<void>;
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux x86). */
const USER_HZ = 100;

function procCpu(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the fields after the command name (which may hold spaces) start at the state
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const us = (ticks: string | undefined) => (Number(ticks) * 1e6) / USER_HZ;
  return { user: us(f[11]), system: us(f[12]) };
}

function procRss(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/**
 * `bpfgate run ARGS` (e.g. --policies DIR --cgroup DIR [--nats URL]) until it enforces.
 * BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p" passes flags to its node;
 * BENCH_PROFILE=file.cpuprofile writes a CPU profile of the daemon (start-up to stop).
 */
export async function spawnDaemon(args: string[], timeoutMs = 120_000): Promise<DaemonProc> {
  const t0 = performance.now();
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const profile = process.env.BENCH_PROFILE;
  if (profile) {
    const file = path.resolve(profile);
    nodeArgs.push(
      '--cpu-prof',
      `--cpu-prof-dir=${path.dirname(file)}`,
      `--cpu-prof-name=${path.basename(file)}`,
    );
  }
  const daemon = new DaemonProcess(
    [
      '--no-stdout',
      '--pin-root',
      'off',
      '--no-policy-watch',
      '--host',
      'bench',
      '--metrics',
      '127.0.0.1:0',
      ...args,
    ],
    { nodeArgs, stdout: 'ignore' },
  );
  const stop = onCleanup(`daemon process ${daemon.pid}`, async () => {
    await daemon.stop('SIGTERM', 10_000);
  });
  try {
    await daemon.ready(timeoutMs);
  } catch (err) {
    await stop();
    throw err;
  }
  const enforcingMs = performance.now() - t0;
  const statusUrl = `${await daemon.metricsUrl()}/status`;
  const pid = daemon.pid;
  return {
    daemon,
    pid,
    enforcingMs,
    log: () => daemon.proc.stderrLines(),
    stats: async () => {
      const s = (await (await fetch(statusUrl)).json()) as StatusDocument;
      return {
        kernel: { events: s.counters.kernelEvents ?? 0, ringbufDrops: s.counters.ringbufDrops ?? 0 },
        sink: s.nats
          ? {
              published: s.nats.published,
              queued: s.nats.queued,
              queueDropped: s.nats.queueDropped,
              spoolDropped: s.nats.spoolDropped,
            }
          : null,
        memory: procRss(pid),
        cpu: procCpu(pid),
      };
    },
    rss: () => procRss(pid),
    stop,
  };
}
