// The figure a user feels: everyday work with and without bpfgate running the
// starter policies in enforce mode, as a ratio of wall time (median of 5).
// The workloads run in the bench cgroup; the starter policies are rewritten
// to be scoped to it (on this host nothing is enforced outside a cgroup the
// bench made), every policy in enforce mode; allowlist policies
// (defaultAction: block, which would refuse everything else in their scope)
// and the learning policy (observe.yaml, which reports every exec and
// connection: run before `bpfgate learn`, not beside a workload) are left out
// and named in the result. Workloads:
//   exec     10,000 fork + execve of /bin/true (loadgen exec)
//   open     100,000 open + close of an existing file (loadgen open)
//   connect  10,000 loopback TCP connects, accepted and closed (loadgen tcp-connect)
//   untar    tar -xf of a tarball of 20,000 small files (made once in .cache/bench) into /dev/shm
// Each round runs every workload without the daemon and with it (started for
// the round, stopped after), the order alternating between rounds; five
// rounds; the first three workloads are timed inside the load generator,
// untar by wall time around tar.
// Where the time goes, after the rounds: each workload once more with the
// daemon and the kernel's BPF statistics on (ns per run of every bpfgate
// program, and per workload operation), and the open workload with only a
// null raw sys_enter program attached (what any program there costs every
// system call, before deciding anything), median of 5 against none.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { BpfObject } from '../src/kernel/binding.ts';
import { enableStats, progs } from './lib/bpfstats.ts';
import { BENCH_CACHE, buildAll, ROOT } from './lib/build.ts';
import { createBenchCgroup } from './lib/cgroup.ts';
import { cleanup } from './lib/cleanup.ts';
import { spawnDaemon } from './lib/daemon-proc.ts';
import { loadgen } from './lib/loadgen.ts';
import { loadAverage, median, round, writeResult } from './lib/stats.ts';

const ROUNDS = Number(process.env.BENCH_MACRO_ROUNDS ?? 5);
const GOAL = 1.03;

/** The workloads' sizes: the host's; the emulated guest runs a tenth of each (bench/macro-guest.ts). */
export interface MacroSize {
  execs: number;
  opens: number;
  connects: number;
  /** files in the tarball (200 folders of files / 200) */
  tarFiles: number;
  rounds: number;
  /** loadgen's limit per run */
  timeoutMs: number;
}

export const HOST_SIZE: MacroSize = {
  execs: 10_000,
  opens: 100_000,
  connects: 10_000,
  tarFiles: 20_000,
  rounds: ROUNDS,
  timeoutMs: 120_000,
};

/** The starter policies, each scoped to the bench cgroup and enforcing; allowlists left out. */
function scopedStarterPolicies(dir: string, cgroupRel: string): { used: string[]; left: string[] } {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const used: string[] = [];
  const left: string[] = [];
  for (const f of readdirSync(join(ROOT, 'policies'))
    .filter((x) => x.endsWith('.yaml'))
    .sort()) {
    const doc = parse(readFileSync(join(ROOT, 'policies', f), 'utf8')) as {
      metadata: { labels?: Record<string, string> };
      spec: { defaultAction?: string; mode?: string; scope?: unknown };
    };
    // an allowlist refuses everything else in its scope; the learning policy reports every exec and connection
    if (doc.spec.defaultAction === 'block' || doc.metadata.labels?.purpose === 'learn') {
      left.push(f);
      continue;
    }
    doc.spec.scope = { cgroups: [cgroupRel] };
    doc.spec.mode = 'enforce';
    writeFileSync(join(dir, f), stringify(doc));
    used.push(f);
  }
  return { used, left };
}

/** A tarball of `files` small files in 200 folders, made once (on the host: the guest reads the same file). */
export function tarball(files: number): string {
  const tar = join(BENCH_CACHE, `macro-${files}.tar`);
  if (existsSync(tar)) return tar;
  const src = join(BENCH_CACHE, 'macro-src');
  rmSync(src, { recursive: true, force: true });
  for (let d = 0; d < 200; d++) {
    const dir = join(src, `d${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < files / 200; f++)
      writeFileSync(join(dir, `f${f}.c`), `/* ${d}/${f} */\nint x${f};\n`);
  }
  execFileSync('tar', ['-cf', tar, '-C', src, '.']);
  rmSync(src, { recursive: true, force: true });
  return tar;
}

/**
 * tar -xf in the cgroup (a shell moves itself in, then execs tar): seconds.
 * Into memory (/dev/shm when it is a tmpfs): on disk, the previous
 * extraction's writeback made the same run take from 3.6 to 6.1 s.
 */
function untar(tar: string, cgroupPath: string, out: string): number {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const t0 = performance.now();
  const r = spawnSync('sh', [
    '-c',
    'echo $$ > "$0/cgroup.procs" && exec tar -xf "$1" -C "$2"',
    cgroupPath,
    tar,
    out,
  ]);
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`tar -xf failed: ${String(r.stderr)}`);
  rmSync(out, { recursive: true, force: true });
  return s;
}

type Workload = 'exec' | 'open' | 'connect' | 'untar';
const WORKLOADS: Workload[] = ['exec', 'open', 'connect', 'untar'];

export async function run(): Promise<void> {
  const b = buildAll();
  const load0 = loadAverage();
  const result = await measureMacro(b, HOST_SIZE, tarball(HOST_SIZE.tarFiles));
  writeResult('macro', {
    ...result,
    conditions: { loadAverageBefore: load0, loadAverageAfter: loadAverage(), ...result.conditions },
  });
}

/**
 * The rounds, the kernel-time profile and the sys_enter floor, in a bench
 * cgroup of this machine (the host, or the guest: bench/macro-guest.ts).
 */
export async function measureMacro(
  b: Pick<ReturnType<typeof buildAll>, 'loadgen' | 'nullObject'>,
  size: MacroSize,
  tar: string,
  /** a writable folder for the policies and the file opened (the guest's root is read-only) */
  scratch = BENCH_CACHE,
  /** where tar extracts: in memory (a tmpfs) */
  untarTo = existsSync('/dev/shm') ? '/dev/shm/bpfgate-bench-macro-out' : join(scratch, 'macro-out'),
) {
  const ROUNDS = size.rounds;
  const cg = createBenchCgroup('macro');
  try {
    mkdirSync(scratch, { recursive: true });
    const policyDir = join(scratch, 'policies-macro');
    const { used, left } = scopedStarterPolicies(policyDir, cg.rel);
    const openTarget = join(scratch, 'macro-open');
    writeFileSync(openTarget, 'x');
    const timeoutMs = size.timeoutMs;
    const once = async (w: Workload): Promise<number> => {
      switch (w) {
        case 'exec': {
          const r = await loadgen(b.loadgen, 'exec', size.execs, {
            cgroup: cg.path,
            target: '/bin/true',
            timeoutMs,
          });
          if (r.errors) throw new Error(`exec: ${r.errors} failed`);
          return r.seconds;
        }
        case 'open': {
          const r = await loadgen(b.loadgen, 'open', size.opens, {
            cgroup: cg.path,
            target: openTarget,
            timeoutMs,
          });
          if (r.errors) throw new Error(`open: ${r.errors} failed`);
          return r.seconds;
        }
        case 'connect': {
          const r = await loadgen(b.loadgen, 'tcp-connect', size.connects, { cgroup: cg.path, timeoutMs });
          if (r.errors) throw new Error(`connect: ${r.errors} failed`);
          return r.seconds;
        }
        case 'untar':
          return untar(tar, cg.path, untarTo);
      }
    };
    const without: Record<Workload, number[]> = { exec: [], open: [], connect: [], untar: [] };
    const withBpfgate: Record<Workload, number[]> = { exec: [], open: [], connect: [], untar: [] };
    let warnings: string[] = [];
    const plain = async () => {
      for (const w of WORKLOADS) without[w].push(await once(w));
    };
    const guarded = async (first: boolean) => {
      const d = await spawnDaemon(['--policies', policyDir, '--cgroup', cg.path]);
      for (const w of WORKLOADS) withBpfgate[w].push(await once(w));
      if (first)
        warnings = d
          .log()
          .filter((l) => /"level":[4-6]0/.test(l))
          .slice(0, 20);
      await d.stop();
    };
    // the order alternates: what ran just before (a warm page cache, writeback of the last
    // extraction) favours neither side
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        await plain();
        await guarded(r === 0);
      } else {
        await guarded(false);
        await plain();
      }
    }
    const rows = WORKLOADS.map((w) => {
      const a = median(without[w]);
      const b2 = median(withBpfgate[w]);
      const ratio = round(b2 / a, 3);
      return {
        workload: w,
        withoutSeconds: round(a, 4),
        withSeconds: round(b2, 4),
        ratio,
        met: ratio <= GOAL,
        samplesWithout: without[w].map((x) => round(x, 4)),
        samplesWith: withBpfgate[w].map((x) => round(x, 4)),
      };
    });
    // where the time goes: the kernel's statistics for every bpfgate program, per workload
    const kernelTime: Record<string, unknown> = {};
    {
      const d = await spawnDaemon(['--policies', policyDir, '--cgroup', cg.path]);
      const restore = enableStats();
      const ops: Record<Workload, number> = {
        exec: size.execs,
        open: size.opens,
        connect: size.connects,
        untar: size.tarFiles,
      };
      const snap = () =>
        new Map(
          progs()
            .filter((p) => p.name.startsWith('bg_'))
            .map((p) => [p.id, p]),
        );
      for (const w of WORKLOADS) {
        const a = snap();
        await once(w);
        const programs = [];
        let total = 0;
        for (const [id, p] of snap()) {
          const runs = (p.run_cnt ?? 0) - (a.get(id)?.run_cnt ?? 0);
          const ns = (p.run_time_ns ?? 0) - (a.get(id)?.run_time_ns ?? 0);
          if (runs <= 0) continue;
          total += ns;
          programs.push({ program: p.name, runs, nsPerRun: round(ns / runs), nsPerOp: round(ns / ops[w]) });
        }
        programs.sort((x, y) => y.nsPerOp - x.nsPerOp);
        kernelTime[w] = { operations: ops[w], bpfNsPerOp: round(total / ops[w]), programs };
        process.stdout.write(
          `macro ${w.padEnd(8)} in bpfgate's programs ${round(total / ops[w])} ns per operation: ${programs
            .slice(0, 4)
            .map((x) => `${x.program} ${x.nsPerOp}`)
            .join(', ')}\n`,
        );
      }
      await restore();
      await d.stop();
    }
    // the floor of the sys_enter rung: a null raw sys_enter program, open workload
    const floor: { without: number[]; nullSysEnter: number[] } = { without: [], nullSysEnter: [] };
    {
      const nul = BpfObject.open(b.nullObject);
      try {
        nul.loadOnly(['null_sys_enter']);
        nul.load();
        for (let r = 0; r < ROUNDS; r++) {
          floor.without.push(await once('open'));
          const link = nul.attachAuto('null_sys_enter');
          try {
            floor.nullSysEnter.push(await once('open'));
          } finally {
            link.destroy();
          }
        }
      } finally {
        nul.close();
      }
    }
    const floorRatio = round(median(floor.nullSysEnter) / median(floor.without), 3);
    process.stdout.write(`macro open     with a null raw sys_enter program only: ratio ${floorRatio}\n`);
    for (const row of rows)
      process.stdout.write(
        `macro ${row.workload.padEnd(8)} without ${row.withoutSeconds} s  with ${row.withSeconds} s  ratio ${row.ratio} (${row.met ? 'met' : 'missed'}, goal <= ${GOAL})\n`,
      );
    return {
      conditions: { rounds: ROUNDS, goal: GOAL, size },
      setup: `workloads in the bench cgroup (${size.execs} execs, ${size.opens} opens, ${size.connects} connects, untar of ${size.tarFiles} files); the starter policies scoped to it, enforce mode (${used.length}: ${used.join(', ')}); left out (allowlists, the learning policy): ${left.join(', ') || 'none'}; median of ${ROUNDS} rounds, without and with the daemon in alternating order`,
      results: rows,
      kernelTime,
      openWithNullSysEnter: {
        ratio: floorRatio,
        withoutSeconds: round(median(floor.without), 4),
        withSeconds: round(median(floor.nullSysEnter), 4),
        note: 'the open workload with only a null raw_tracepoint/sys_enter program attached: what the sys_enter rung costs before any decision',
      },
      daemonWarnings: warnings,
    };
  } finally {
    await cleanup();
  }
}

if (import.meta.main) await run();
