// Starts bench/lib/daemon-process.ts as a child and waits for "bpfgate is
// enforcing" in its log. Registered for cleanup: the child is always stopped
// (it detaches everything), and killed if it does not stop.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { onCleanup } from './cleanup.ts';

const SCRIPT = fileURLToPath(new URL('./daemon-process.ts', import.meta.url));

export interface DaemonStats {
  kernel: { events: number; ringbufDrops: number } | null;
  sink: {
    received: number;
    published: number;
    queueDropped: number;
    spoolDropped: number;
    queued: number;
  } | null;
  pipeline: { records: number; events: number; losses: number } | null;
  memory: NodeJS.MemoryUsage;
  maxRssKiB: number;
  cpu: { user: number; system: number };
}

export interface DaemonProc {
  child: ChildProcess;
  pid: number;
  /** spawn to the "bpfgate is enforcing" line, ms */
  enforcingMs: number;
  log: string[];
  stats(): Promise<DaemonStats>;
  /** VmRSS and VmHWM from /proc, bytes */
  rss(): { rss: number; hwm: number };
  stop(): Promise<void>;
}

export async function spawnDaemon(args: string[], timeoutMs = 120_000): Promise<DaemonProc> {
  const t0 = performance.now();
  // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p": profile the daemon process
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, SCRIPT, ...args], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const log: string[] = [];
  const stop = onCleanup(`daemon process ${child.pid}`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  });
  const enforcingMs = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`daemon not enforcing after ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.stderr?.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (log.length < 200 || /"level":[4-6]0/.test(line)) log.push(line);
        if (line.includes('bpfgate is enforcing')) {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        }
        nl = buf.indexOf('\n');
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited (${code}) before enforcing: ${log.slice(-5).join('\n')}`));
    });
  });
  const pid = child.pid as number;
  return {
    child,
    pid,
    enforcingMs,
    log,
    stats: () =>
      new Promise<DaemonStats>((resolve) => {
        child.once('message', (m) => resolve(m as DaemonStats));
        child.send({ cmd: 'stats' });
      }),
    rss: () => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
      return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
    },
    stop,
  };
}
