// The kernel's BPF statistics: kernel.bpf_stats_enabled turns on run_time_ns
// and run_cnt per program (bpftool prog show -j). enableStats() restores the
// previous value on cleanup (and when its returned function is called).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { onCleanup } from './cleanup.ts';
import { median, ratio, round } from './stats.ts';

const SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

export function enableStats(): () => Promise<void> {
  const before = readFileSync(SYSCTL, 'utf8').trim();
  writeFileSync(SYSCTL, '1');
  return onCleanup(`kernel.bpf_stats_enabled=${before}`, () => writeFileSync(SYSCTL, before));
}

/** A hook measured as bpfgate's program against the null program of the same hook, with a loadgen call that matches no rule and one that matches. */
export interface MeasuredHook<K extends string> {
  kind: K;
  hook: string;
  bpfgate: string;
  null: string;
  /** loadgen mode and target for the call that matches no rule, and for the one that matches */
  miss: [string, string?];
  hit: [string, string?];
  iterations: number;
}

export interface ProgInfo {
  id: number;
  name: string;
  type: string;
  run_time_ns?: number;
  run_cnt?: number;
  pids?: { pid: number; comm: string }[];
}

export function progs(): ProgInfo[] {
  return JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { maxBuffer: 64 << 20 }).toString());
}

export function prog(id: number): ProgInfo {
  return JSON.parse(execFileSync('bpftool', ['prog', 'show', 'id', String(id), '-j']).toString());
}

/** Programs attached directly to a cgroup directory: name → id. */
export function cgroupProgs(path: string): Map<string, number> {
  const out = JSON.parse(execFileSync('bpftool', ['cgroup', 'show', path, '-j']).toString()) as {
    id: number;
    name: string;
  }[];
  return new Map(out.map((p) => [p.name, p.id]));
}

/** Programs named `name` (or its first 15 characters) loaded since the snapshot `before`. */
export function newProgs(name: string, before: Set<number>): ProgInfo[] {
  return progs().filter((p) => (p.name === name || p.name === name.slice(0, 15)) && !before.has(p.id));
}

export interface Counter {
  runTimeNs: number;
  runCnt: number;
}

export function counters(ids: number[]): Map<number, Counter> {
  const all = new Map(progs().map((p) => [p.id, p]));
  const out = new Map<number, Counter>();
  for (const id of ids) {
    const p = all.get(id) ?? prog(id);
    out.set(id, { runTimeNs: p.run_time_ns ?? 0, runCnt: p.run_cnt ?? 0 });
  }
  return out;
}

/** ns per run between two readings */
export function perRun(a: Counter | undefined, b: Counter | undefined): { ns: number; runs: number } {
  if (!a || !b) return { ns: Number.NaN, runs: 0 };
  const runs = b.runCnt - a.runCnt;
  return { ns: runs > 0 ? (b.runTimeNs - a.runTimeNs) / runs : Number.NaN, runs };
}

export interface CostSamples {
  bpfgateNs: number[];
  nullNs: number[];
  runs: number;
  errors: number;
}

/**
 * bpfgate's program against the null program on the same hook: `rounds`
 * runs of `call`, each read as ns per run from the kernel's BPF statistics.
 */
export async function costRounds(
  ids: { bpfgate: number; null: number },
  rounds: number,
  call: () => Promise<{ errors: number }>,
): Promise<CostSamples> {
  const out: CostSamples = { bpfgateNs: [], nullNs: [], runs: 0, errors: 0 };
  for (let r = 0; r < rounds; r++) {
    const c0 = counters([ids.bpfgate, ids.null]);
    const res = await call();
    const c1 = counters([ids.bpfgate, ids.null]);
    const x = perRun(c0.get(ids.bpfgate), c1.get(ids.bpfgate));
    const y = perRun(c0.get(ids.null), c1.get(ids.null));
    out.bpfgateNs.push(x.ns);
    out.nullNs.push(y.ns);
    out.runs += x.runs;
    out.errors += res.errors;
  }
  return out;
}

/** The result fields of one measured call: medians, their ratio, and the samples. */
export function costSummary(m: CostSamples, callsIssued: number) {
  return {
    bpfgateNs: round(median(m.bpfgateNs)),
    nullNs: round(median(m.nullNs)),
    ratio: ratio(median(m.bpfgateNs), median(m.nullNs)),
    runs: m.runs,
    callsIssued,
    errors: m.errors,
    samples: { bpfgateNs: m.bpfgateNs.map((v) => round(v)), nullNs: m.nullNs.map((v) => round(v)) },
  };
}
