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
//   untar    tar -xf of a tarball of 20,000 small files (made once in .cache/bench)
// Each round runs every workload without the daemon and with it (started for
// the round, stopped after), the order alternating between rounds; five
// rounds; the first three workloads are timed inside the load generator,
// untar by wall time around tar.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { BENCH_CACHE, buildAll, ROOT } from './lib/build.ts';
import { createBenchCgroup } from './lib/cgroup.ts';
import { cleanup } from './lib/cleanup.ts';
import { spawnDaemon } from './lib/daemon-proc.ts';
import { loadgen } from './lib/loadgen.ts';
import { loadAverage, median, round, writeResult } from './lib/stats.ts';

const ROUNDS = Number(process.env.BENCH_MACRO_ROUNDS ?? 5);
const TAR_FILES = 20_000;
const GOAL = 1.03;

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

/** A tarball of TAR_FILES small files in 200 folders, made once. */
function tarball(): string {
  const tar = join(BENCH_CACHE, `macro-${TAR_FILES}.tar`);
  if (existsSync(tar)) return tar;
  const src = join(BENCH_CACHE, 'macro-src');
  rmSync(src, { recursive: true, force: true });
  for (let d = 0; d < 200; d++) {
    const dir = join(src, `d${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < TAR_FILES / 200; f++)
      writeFileSync(join(dir, `f${f}.c`), `/* ${d}/${f} */\nint x${f};\n`);
  }
  execFileSync('tar', ['-cf', tar, '-C', src, '.']);
  rmSync(src, { recursive: true, force: true });
  return tar;
}

/** tar -xf in the cgroup (a shell moves itself in, then execs tar): seconds. */
function untar(tar: string, cgroupPath: string): number {
  const out = join(BENCH_CACHE, 'macro-out');
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
  const cg = createBenchCgroup('macro');
  try {
    const policyDir = `${BENCH_CACHE}/policies-macro`;
    const { used, left } = scopedStarterPolicies(policyDir, cg.rel);
    const tar = tarball();
    const openTarget = join(BENCH_CACHE, 'macro-open');
    writeFileSync(openTarget, 'x');
    const once = async (w: Workload): Promise<number> => {
      switch (w) {
        case 'exec': {
          const r = await loadgen(b.loadgen, 'exec', 10_000, { cgroup: cg.path, target: '/bin/true' });
          if (r.errors) throw new Error(`exec: ${r.errors} failed`);
          return r.seconds;
        }
        case 'open': {
          const r = await loadgen(b.loadgen, 'open', 100_000, { cgroup: cg.path, target: openTarget });
          if (r.errors) throw new Error(`open: ${r.errors} failed`);
          return r.seconds;
        }
        case 'connect': {
          const r = await loadgen(b.loadgen, 'tcp-connect', 10_000, { cgroup: cg.path });
          if (r.errors) throw new Error(`connect: ${r.errors} failed`);
          return r.seconds;
        }
        case 'untar':
          return untar(tar, cg.path);
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
    for (const row of rows)
      process.stdout.write(
        `macro ${row.workload.padEnd(8)} without ${row.withoutSeconds} s  with ${row.withSeconds} s  ratio ${row.ratio} (${row.met ? 'met' : 'missed'}, goal <= ${GOAL})\n`,
      );
    writeResult('macro', {
      conditions: { loadAverageBefore: load0, loadAverageAfter: loadAverage(), rounds: ROUNDS, goal: GOAL },
      setup: `workloads in the bench cgroup; the starter policies scoped to it, enforce mode (${used.length}: ${used.join(', ')}); left out (allowlists, the learning policy): ${left.join(', ') || 'none'}; median of ${ROUNDS} rounds, without and with the daemon in alternating order`,
      results: rows,
      daemonWarnings: warnings,
    });
  } finally {
    await cleanup();
  }
}

if (import.meta.main) await run();
