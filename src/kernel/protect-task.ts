// What self-protection (bpf/lib/protect.h) needs to know about the daemon's
// task beyond its pid, and the names of what it refuses:
//   - the kernfs ids of the daemon's cgroup and its ancestors but the root
//     (writes to their files, cgroup.kill and cgroup.freeze included, are
//     refused to every process but the daemon and pid 1);
//   - its oom_score_adj, set to -1000 so that the OOM killer passes it by;
//   - one counter per kind of refusal, reported by the daemon as it changes.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { findCgroup2Mount } from './cgroups.ts';

/** struct bg_protect_cfg's cgroup_ids[] */
export const PROTECT_CGROUPS = 8;

/** bg_protect_cfg.denied_by[], by index (enum bg_protect_what) */
export const PROTECT_REFUSALS = [
  'bpf-object', // detach or replace a link, write a map
  'signal',
  'ptrace',
  'pin', // remove or rename a pin
  'umount',
  'rlimit', // prlimit on the daemon
  'sigio', // F_SETOWN toward the daemon, SIGIO/SIGURG delivery to it
  'cgroup', // a write to the daemon's cgroup (or an ancestor's) files
  'oom', // its oom_score_adj or oom_adj
  'sched', // its nice value, I/O priority or scheduling class
] as const;
export type ProtectRefusal = (typeof PROTECT_REFUSALS)[number];
export const PROTECT_WHATS = 16;

/**
 * The kernfs ids (the folders' inode numbers on cgroup2) of the daemon's
 * cgroup and its ancestors below the root, the deepest PROTECT_CGROUPS of
 * them, deepest first; empty when it runs in the root cgroup or without
 * cgroup v2.
 */
export function daemonCgroupIds(
  procSelfCgroup = '/proc/self/cgroup',
  mountinfo = '/proc/self/mountinfo',
): bigint[] {
  const line = readFileSync(procSelfCgroup, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('0::'));
  const mnt = findCgroup2Mount(readFileSync(mountinfo, 'utf8'));
  if (!line || !mnt) return [];
  const parts = line.slice(3).split('/').filter(Boolean);
  const ids: bigint[] = [];
  for (let n = parts.length; n > 0 && ids.length < PROTECT_CGROUPS; n--)
    ids.push(statSync(`${mnt}/${parts.slice(0, n).join('/')}`, { bigint: true }).ino);
  return ids;
}

/** Set this process's oom_score_adj; the error's message when the kernel refused, else null. */
export function setOomScoreAdj(value: number, file = '/proc/self/oom_score_adj'): string | null {
  try {
    writeFileSync(file, `${value}\n`);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** What was refused since `before`, by name (counters that grew). */
export function refusalsSince(
  before: readonly bigint[],
  now: readonly bigint[],
): Partial<Record<ProtectRefusal, number>> {
  const out: Partial<Record<ProtectRefusal, number>> = {};
  PROTECT_REFUSALS.forEach((what, i) => {
    const d = (now[i] ?? 0n) - (before[i] ?? 0n);
    if (d > 0n) out[what] = Number(d);
  });
  return out;
}
