// The bench's own cgroup v2 directory under /sys/fs/cgroup/unified (the host's
// v2 tree; /sys/fs/cgroup in the guest). Only the bench's own load generators
// move into it; programs attach only to it; it is removed afterwards.
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { onCleanup } from './cleanup.ts';

export interface BenchCgroup {
  /** absolute directory */
  path: string;
  /** path from the cgroup2 root, for policy scopes */
  rel: string;
  id: bigint;
  remove(): Promise<void>;
}

export function cgroup2Root(): string {
  if (existsSync('/sys/fs/cgroup/unified/cgroup.procs')) return '/sys/fs/cgroup/unified';
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return '/sys/fs/cgroup';
  throw new Error('no cgroup v2 mount');
}

async function rmdirRetry(path: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      rmdirSync(path);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // a just-exited load generator may still be on its way out
      if (i >= 100) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export function createBenchCgroup(tag: string): BenchCgroup {
  const root = cgroup2Root();
  const rel = `/bpfgate-bench-${tag}-${process.pid}`;
  const path = `${root}${rel}`;
  mkdirSync(path);
  const id = statSync(path, { bigint: true }).ino;
  const remove = onCleanup(`cgroup ${path}`, () => rmdirRetry(path));
  return { path, rel, id, remove };
}

/** pids in the cgroup (should be empty between runs) */
export function cgroupPids(path: string): number[] {
  return readFileSync(`${path}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
}
