// Per-program cost on this host, from the kernel's BPF statistics
// (kernel.bpf_stats_enabled=1 while measuring; the previous value is restored):
// for each cgroup hook bpfgate uses here (sock_create, connect4, sysctl,
// device) and tp_btf/sched_process_exec, bpfgate's program versus a null
// program on the same hook (bench/bpf/null.bpf.c), with 1, 100 and 10,000
// rules of that kind, for a call that matches no rule and one that matches an
// audit rule. Then end-to-end latency of socket()+close() in the bench cgroup
// (C load generator) with no program, the null program and bpfgate.
//
// Safety: every cgroup program attaches only to the bench's own cgroup; the
// exec tracepoint is global, but the policy's scope is the bench cgroup and
// the null program does nothing. Everything is detached and removed on exit.
import { writeFileSync } from 'node:fs';
import { type BpfLink, BpfObject } from '../src/kernel/binding.ts';
import {
  cgroupProgs,
  costRounds,
  costSummary,
  enableStats,
  type MeasuredHook,
  newProgs,
  progs,
} from './lib/bpfstats.ts';
import { BENCH_CACHE, type Built, buildAll } from './lib/build.ts';
import { createBenchCgroup } from './lib/cgroup.ts';
import { cleanup, onCleanup } from './lib/cleanup.ts';
import { startDaemon } from './lib/daemon.ts';
import { loadgen } from './lib/loadgen.ts';
import { type HostKind, writeKindPolicy } from './lib/policies.ts';
import { loadAverage, ratio, round, writeResult } from './lib/stats.ts';

/** BENCH_KERNEL_RULES=1,10000 to measure fewer sizes */
export const RULE_COUNTS = (process.env.BENCH_KERNEL_RULES ?? '1,100,10000').split(',').map(Number);
const ROUNDS = 3;

type Hook = MeasuredHook<HostKind>;

function hooks(b: Built): Hook[] {
  return [
    {
      kind: 'socket',
      hook: 'cgroup/sock_create',
      bpfgate: 'bg_cg_sock_create',
      null: 'null_sock_create',
      miss: ['socket-stream'],
      hit: ['socket-dgram'],
      iterations: 40_000,
    },
    {
      kind: 'connect',
      hook: 'cgroup/connect4',
      bpfgate: 'bg_cg_connect4',
      null: 'null_connect4',
      miss: ['connect', '127.0.0.2:9'],
      hit: ['connect', '127.0.0.1:9'],
      iterations: 40_000,
    },
    {
      kind: 'sysctl',
      hook: 'cgroup/sysctl',
      bpfgate: 'bg_cg_sysctl',
      null: 'null_sysctl',
      miss: ['read', '/proc/sys/kernel/ostype'],
      hit: ['read', '/proc/sys/kernel/hostname'],
      iterations: 20_000,
    },
    {
      kind: 'device',
      hook: 'cgroup/dev',
      bpfgate: 'bg_cg_dev',
      null: 'null_dev',
      miss: ['open', '/dev/zero'],
      hit: ['open', '/dev/null'],
      iterations: 40_000,
    },
    {
      kind: 'exec',
      hook: 'tp_btf/sched_process_exec',
      bpfgate: 'bg_tp_exec',
      null: 'null_tp_exec',
      miss: ['exec', b.noop],
      hit: ['exec', b.noopMatch],
      iterations: 1_000,
    },
  ];
}

/** Attach the null programs to the bench cgroup (and the exec tracepoint). */
function attachNull(
  obj: BpfObject,
  cgroupPath: string,
  which: string[],
): { ids: Map<string, number>; detach: () => Promise<void> } {
  const links: BpfLink[] = [];
  const ids = new Map<string, number>();
  const undo = onCleanup('null programs', () => {
    for (const l of links.splice(0)) l.destroy();
  });
  try {
    for (const p of which) {
      const link = p === 'null_tp_exec' ? obj.attachTrace(p) : obj.attachCgroup(p, cgroupPath);
      links.push(link);
      ids.set(p, link.info().progId);
    }
  } catch (err) {
    void undo();
    throw err;
  }
  return { ids, detach: undo };
}

/** bpfgate's program of that name: attached to the bench cgroup, or loaded since `before` (the exec tracepoint). */
function progId(name: string, cgroupPath: string, before: Set<number>): number {
  const attached = cgroupProgs(cgroupPath);
  const inCgroup = attached.get(name) ?? attached.get(name.slice(0, 15));
  if (inCgroup !== undefined) return inCgroup;
  const fresh = newProgs(name, before);
  if (fresh.length === 0) throw new Error(`cannot find the id of ${name}`);
  // another bpfgate started at the same moment on this machine: take the newest, and say so
  if (fresh.length > 1)
    process.stderr.write(`kernel: ${fresh.length} new programs named ${name}; taking the newest\n`);
  return Math.max(...fresh.map((p) => p.id));
}

const E2E_ITERATIONS = 100_000;

async function e2e(b: Built, cg: string, label: string, mode: string, target?: string) {
  const r = await loadgen(b.loadgen, mode, E2E_ITERATIONS, {
    cgroup: cg,
    lat: true,
    ...(target ? { target } : {}),
  });
  const row = {
    label,
    call: mode,
    iterations: r.iterations,
    errors: r.errors,
    medianNs: r.medianNs,
    p99Ns: r.p99Ns,
  };
  process.stdout.write(
    `e2e  ${label.padEnd(34)} ${mode.padEnd(14)} median ${String(r.medianNs).padStart(6)} ns  p99 ${String(r.p99Ns).padStart(7)} ns\n`,
  );
  return row;
}

export async function run(): Promise<void> {
  const b = buildAll();
  const cg = createBenchCgroup('kernel');
  const started = Date.now();
  const load0 = loadAverage();
  try {
    const nullObj = BpfObject.open(b.nullObject);
    onCleanup('null object', () => nullObj.close());
    const HOOKS = hooks(b);
    nullObj.loadOnly(HOOKS.map((h) => h.null));
    nullObj.load();

    // end to end, no program and the null program (bpf statistics off)
    const latency = [];
    latency.push(await e2e(b, cg.path, 'no program', 'socket-dgram'));
    {
      const nul = attachNull(nullObj, cg.path, ['null_sock_create']);
      latency.push(await e2e(b, cg.path, 'null program', 'socket-dgram'));
      await nul.detach();
    }

    const perProgram = [];
    for (const n of RULE_COUNTS) {
      const policyDir = `${BENCH_CACHE}/policies-kernel-${n}`;
      const gen = writeKindPolicy(
        policyDir,
        HOOKS.map((h) => h.kind),
        n,
        cg.rel,
        { execMatch: b.noopMatch, fileMatch: '' },
      );
      const before = new Set(progs().map((p) => p.id));
      const d = await startDaemon({ policyDir, cgroupAttach: cg.path });
      process.stdout.write(
        `kernel: ${n} rules per kind (${gen.total} rules) enforcing in ${round(d.startMs)} ms\n`,
      );
      // bpfgate's programs first (attached by the daemon), then the null ones
      const nul = attachNull(
        nullObj,
        cg.path,
        HOOKS.map((h) => h.null),
      );
      const restoreStats = enableStats();
      for (const h of HOOKS) {
        const ids = { bpfgate: progId(h.bpfgate, cg.path, before), null: nul.ids.get(h.null) as number };
        for (const [call, [mode, target]] of [
          ['miss', h.miss],
          ['hit', h.hit],
        ] as const) {
          const m = await costRounds(ids, ROUNDS, () =>
            loadgen(b.loadgen, mode, h.iterations, { cgroup: cg.path, ...(target ? { target } : {}) }),
          );
          const row = {
            hook: h.hook,
            kind: h.kind,
            rules: gen.rules[h.kind],
            call,
            ...costSummary(m, h.iterations * ROUNDS),
          };
          perProgram.push(row);
          process.stdout.write(
            `cost ${h.hook.padEnd(26)} ${String(row.rules).padStart(6)} rules ${call.padEnd(4)} bpfgate ${String(row.bpfgateNs).padStart(7)} ns  null ${String(row.nullNs).padStart(6)} ns  ×${row.ratio}\n`,
          );
        }
      }
      await restoreStats();
      await nul.detach();
      latency.push(await e2e(b, cg.path, `bpfgate, ${n} rules, miss`, 'socket-stream'));
      latency.push(await e2e(b, cg.path, `bpfgate, ${n} rules, hit (audit)`, 'socket-dgram'));
      await d.stop();
    }

    // cost(10,000 rules) ÷ cost(1 rule), per hook and call
    const scaling = [];
    for (const h of hooks(b)) {
      for (const call of ['miss', 'hit']) {
        const one = perProgram.filter((r) => r.kind === h.kind && r.call === call)[0];
        const last = perProgram.filter((r) => r.kind === h.kind && r.call === call).at(-1);
        if (one && last)
          scaling.push({
            hook: h.hook,
            call,
            rulesFew: one.rules,
            rulesMany: last.rules,
            ratio: ratio(last.bpfgateNs, one.bpfgateNs),
          });
      }
    }
    const file = writeResult(process.env.BENCH_OBJECT ? 'kernel-candidate' : 'kernel', {
      object: process.env.BENCH_OBJECT ?? 'bpf/build/bpfgate.bpf.o',
      conditions: {
        loadAverageBefore: load0,
        loadAverageAfter: loadAverage(),
        seconds: round((Date.now() - started) / 1000),
        rounds: ROUNDS,
        note: 'null programs run after bpfgate on the same hook (attached later); ns per run = median over rounds of Δrun_time_ns/Δrun_cnt',
      },
      perProgram,
      scaling,
      latency,
    });
    writeFileSync(`${BENCH_CACHE}/last-kernel`, file);
  } finally {
    await cleanup();
  }
}

if (import.meta.main) await run();
