// A bpfgate daemon in a process of its own, as `bpfgate run` starts it (the
// same Daemon, the same JSON logger on stderr, the /proc enricher), but with
// nothing pinned so that it never shares the default pin root with a daemon or
// a test running beside the bench. The parent (bench/lib/daemon-proc.ts)
// talks to it over the IPC channel: {cmd:'stats'} and {cmd:'stop'}.
//
// usage: node bench/lib/daemon-process.ts --policies DIR --cgroup DIR [--nats URL] [--reload-policies DIR]
import { parseArgs } from 'node:util';
import { defaultDaemonOptions } from '../../src/config/daemon.ts';
import { composeDaemon } from '../../src/daemon/compose.ts';
import { Enricher } from '../../src/events/enrich.ts';
import { createLogger } from '../../src/log.ts';
import { parseSinkOptions } from '../../src/sinks/options.ts';

const { values: v } = parseArgs({
  options: {
    policies: { type: 'string' },
    cgroup: { type: 'string' },
    nats: { type: 'string' },
  },
});
if (!v.policies || !v.cgroup) throw new Error('--policies and --cgroup are required');

const log = createLogger({ level: 'info', pretty: false });
const enricher = new Enricher();
await enricher.start();
const daemon = composeDaemon(
  {
    ...defaultDaemonOptions(),
    policyPaths: [v.policies],
    cgroupAttach: v.cgroup,
    stdout: false,
    host: 'bench',
    pinRoot: null,
    keepEnforcing: false,
    nats: v.nats ? parseSinkOptions({ servers: [v.nats] }) : null,
  },
  {
    log,
    enricher,
    probe: () => import('../../src/kernel/probe.ts').then((m) => m.probeFeatures()),
  },
);

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await saveProfile();
    await daemon.stop();
  } finally {
    enricher.stop();
    process.exit(code);
  }
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
// the parent went away: detach everything
process.on('disconnect', () => void stop(0));

try {
  await daemon.start();
} catch (err) {
  log.error({ err }, 'start failed');
  await stop(1);
}

// BENCH_PROFILE=file.cpuprofile: a CPU profile from "enforcing" to stop (the event path, not start-up)
const profileFile = process.env.BENCH_PROFILE;
let profiler: import('node:inspector/promises').Session | null = null;
if (profileFile) {
  const { Session } = await import('node:inspector/promises');
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
async function saveProfile(): Promise<void> {
  if (!profiler || !profileFile) return;
  const { profile } = await profiler.post('Profiler.stop');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(profileFile, JSON.stringify(profile));
  profiler = null;
}

process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stop') void stop(0);
  else if (m.cmd === 'stats') {
    const k = daemon.kernelStats();
    process.send?.({
      kernel: k ? { events: Number(k.events), ringbufDrops: Number(k.ringbufDrops) } : null,
      sink: daemon.sinkStats(),
      pipeline: daemon.pipelineCounters(),
      memory: process.memoryUsage(),
      maxRssKiB: process.resourceUsage().maxRSS,
      cpu: process.cpuUsage(),
    });
  }
});
