// Per-program cost of bpfgate's BPF-LSM programs, in ONE boot of the emulated
// guest (test/support/guest.ts runInGuest: Debian's 6.1 kernel under QEMU TCG,
// BPF-LSM active): lsm/bprm_check_security (exec), lsm/file_open and
// lsm/capable, bpfgate's program against the null LSM program of the same
// hook (bench/bpf/null.bpf.c), with 1 and 10,000 rules of each kind (the
// capability kind has 40 distinct targets), for a call that matches no rule
// and one that matches an audit rule. Kernel BPF statistics as bench/kernel.ts.
// Emulated: absolute ns are TCG's, not hardware's; compare ratios only.
//
// The host side (run) builds the load generator and the null object, writes
// the policies, boots the guest with `node bench/guest.ts --inner`, and
// writes bench/results/guest.json from what the guest wrote to GUEST_OUT.
// Everything in the guest lives and dies with the guest; the bench cgroup is
// the guest's own.
import { mkdirSync, writeFileSync } from 'node:fs';
import { BpfObject } from '../src/kernel/binding.ts';
import { GUEST_OUT, guestNodeCommand, runInGuest } from '../test/support/guest.ts';
import { costRounds, costSummary, enableStats, newProgs, progs } from './lib/bpfstats.ts';
import { BENCH_CACHE, buildAll, builtPaths, ROOT } from './lib/build.ts';
import { cleanup, onCleanup } from './lib/cleanup.ts';
import { startDaemon } from './lib/daemon.ts';
import { loadgen } from './lib/loadgen.ts';
import { writeKindPolicy } from './lib/policies.ts';
import { loadAverage, ratio, round, writeResult } from './lib/stats.ts';

/** BENCH_GUEST_RULES=1 to measure fewer sizes */
export const GUEST_RULE_COUNTS = (process.env.BENCH_GUEST_RULES ?? '1,10000').split(',').map(Number);
const ROUNDS = 3;
/** the guest's bench cgroup, under its cgroup2 root /sys/fs/cgroup */
const CGROUP_REL = '/bpfgate-bench-guest';
const FILE_MATCH = `${ROOT}bench/c/noop.c`;
const FILE_MISS = `${ROOT}bench/c/loadgen.c`;

interface LsmHook {
  kind: 'exec' | 'file' | 'capability';
  hook: string;
  bpfgate: string;
  null: string;
  miss: [string, string?];
  hit: [string, string?];
  iterations: number;
}

function hooks(noop: string, noopMatch: string): LsmHook[] {
  return [
    {
      kind: 'exec',
      hook: 'lsm/bprm_check_security',
      bpfgate: 'bg_lsm_bprm_check',
      null: 'null_lsm_bprm',
      miss: ['exec', noop],
      hit: ['exec', noopMatch],
      iterations: 200,
    },
    {
      kind: 'file',
      hook: 'lsm/file_open',
      bpfgate: 'bg_lsm_file_open',
      null: 'null_lsm_file_open',
      miss: ['open', FILE_MISS],
      hit: ['open', FILE_MATCH],
      iterations: 3000,
    },
    {
      kind: 'capability',
      hook: 'lsm/capable',
      bpfgate: 'bg_lsm_capable',
      null: 'null_lsm_capable',
      miss: ['socket-raw'],
      hit: ['sethostname'],
      iterations: 3000,
    },
  ];
}

const policyDir = (n: number) => `${BENCH_CACHE}/policies-guest-${n}`;

/** In the guest: every measurement, one JSON document on GUEST_OUT/guest.json. */
async function inner(): Promise<void> {
  const b = builtPaths();
  const HOOKS = hooks(b.noop, b.noopMatch);
  const cgPath = `/sys/fs/cgroup${CGROUP_REL}`;
  mkdirSync(cgPath, { recursive: true });
  const nullObj = BpfObject.open(b.nullObject);
  onCleanup('null object', () => nullObj.close());
  nullObj.loadOnly(HOOKS.map((h) => h.null));
  nullObj.load();
  const perProgram = [];
  const starts = [];
  for (const n of GUEST_RULE_COUNTS) {
    process.stderr.write(`guest: starting bpfgate with ${n} rule(s) per kind\n`);
    const before = new Set(progs().map((p) => p.id));
    const d = await startDaemon({ policyDir: policyDir(n), cgroupAttach: cgPath });
    starts.push({ rulesPerKind: n, startMs: round(d.startMs) });
    process.stdout.write(`guest: ${n} rules per kind enforcing in ${round(d.startMs)} ms\n`);
    const links = HOOKS.map((h) => nullObj.attachLsm(h.null));
    const detach = onCleanup('null LSM programs', () => {
      for (const l of links.splice(0)) l.destroy();
    });
    const nullIds = new Map(HOOKS.map((h, i) => [h.null, links[i]!.info().progId]));
    const restoreStats = enableStats();
    for (const h of HOOKS) {
      const fresh = newProgs(h.bpfgate, before);
      if (fresh.length === 0) throw new Error(`bpfgate's ${h.bpfgate} is not loaded in the guest`);
      const ids = { bpfgate: Math.max(...fresh.map((p) => p.id)), null: nullIds.get(h.null)! };
      for (const [call, [mode, target]] of [
        ['miss', h.miss],
        ['hit', h.hit],
      ] as const) {
        const m = await costRounds(ids, ROUNDS, () =>
          loadgen(b.loadgen, mode, h.iterations, {
            cgroup: cgPath,
            ...(target ? { target } : {}),
            timeoutMs: 600_000,
          }),
        );
        const row = {
          hook: h.hook,
          kind: h.kind,
          rules: d.daemon.plan?.rules.filter((r) => r.kind === h.kind).length ?? 0,
          rulesPerKindAsked: n,
          call,
          ...costSummary(m, h.iterations * ROUNDS),
        };
        perProgram.push(row);
        process.stdout.write(
          `guest cost ${h.hook.padEnd(24)} ${String(row.rules).padStart(6)} rules ${call.padEnd(4)} bpfgate ${String(row.bpfgateNs).padStart(8)} ns  null ${String(row.nullNs).padStart(7)} ns  ×${row.ratio}\n`,
        );
      }
    }
    await restoreStats();
    await detach();
    await d.stop();
  }
  writeFileSync(`${GUEST_OUT}/guest.json`, JSON.stringify({ starts, perProgram }));
}

/** On the host: prepare, boot once, collect. */
export async function run(): Promise<void> {
  const b = buildAll();
  const load0 = loadAverage();
  const started = Date.now();
  const generated = GUEST_RULE_COUNTS.map((n) =>
    writeKindPolicy(policyDir(n), ['exec', 'file', 'capability'], n, CGROUP_REL, {
      execMatch: b.noopMatch,
      fileMatch: FILE_MATCH,
    }),
  );
  try {
    const g = await runInGuest(guestNodeCommand('bench/guest.ts', ['--inner']), {
      timeoutMs: 1_800_000,
      bootTimeoutMs: 300_000,
      env: { BENCH_GUEST_RULES: GUEST_RULE_COUNTS.join(',') },
      // the serial console shows the guest's progress (QEMU TCG is slow on a busy host)
      streamConsole: process.env.BENCH_GUEST_CONSOLE === '1',
    });
    const out = g.outFiles['guest.json'];
    if (g.exitCode !== 0 || !out)
      throw new Error(
        `guest bench failed (exit ${g.exitCode}):\n${g.stdout.slice(-3000)}\n${g.stderr.slice(-3000)}`,
      );
    process.stdout.write(g.stdout);
    const inGuest = JSON.parse(out) as {
      starts: unknown[];
      perProgram: { kind: string; call: string; bpfgateNs: number; rules: number }[];
    };
    const scaling = [];
    for (const kind of ['exec', 'file', 'capability'])
      for (const call of ['miss', 'hit']) {
        const rows = inGuest.perProgram.filter((r) => r.kind === kind && r.call === call);
        const [one, last] = [rows[0], rows.at(-1)];
        if (one && last && one !== last)
          scaling.push({
            kind,
            call,
            rulesFew: one.rules,
            rulesMany: last.rules,
            ratio: ratio(last.bpfgateNs, one.bpfgateNs),
          });
      }
    writeResult('guest', {
      emulated: true,
      note: 'QEMU TCG (software emulation): absolute ns are not hardware figures; compare ratios measured in this one boot',
      conditions: {
        loadAverageBefore: load0,
        loadAverageAfter: loadAverage(),
        seconds: round((Date.now() - started) / 1000),
        bootMs: g.bootMs,
        rounds: ROUNDS,
        rules: generated.map((x) => x.rules),
      },
      ...inGuest,
      scaling,
    });
  } finally {
    await cleanup();
  }
}

if (import.meta.main) {
  if (process.argv.includes('--inner')) {
    try {
      await inner();
    } finally {
      await cleanup();
    }
  } else await run();
}
