// Per-program cost of bpfgate's programs on the security_* hooks, in the
// emulated guest (test/support/guest.ts runInGuest: Debian's 6.1 kernel under
// QEMU TCG), one boot per rung: BPF-LSM active (lsm/bprm_check_security,
// lsm/file_open, lsm/capable), and the same kernel booted without bpf in lsm=
// (the fmod_ret rung: fmod_ret/security_bprm_check, security_file_open,
// security_capable). In each boot bpfgate's program is measured against the
// null program of the same hook and attach type (bench/bpf/null.bpf.c), with
// 1 and 10,000 rules of each kind (the capability kind has 40 distinct
// targets), for a call that matches no rule and one that matches an audit
// rule. Kernel BPF statistics as bench/kernel.ts. Emulated: absolute ns are
// TCG's, not hardware's; compare ratios within one boot only.
//
// The host side (run) builds the load generator and the null object, writes
// the policies, boots the guest with `node bench/guest.ts --inner`, and
// writes bench/results/guest.json from what the guest wrote to GUEST_OUT.
// Everything in the guest lives and dies with the guest; the bench cgroup is
// the guest's own.
import { mkdirSync, writeFileSync } from 'node:fs';
import { BpfObject } from '../src/kernel/binding.ts';
import { GUEST_OUT, guestNodeCommand, LSM_WITHOUT_BPF, runInGuest } from '../test/support/guest.ts';
import { costRounds, costSummary, enableStats, type MeasuredHook, newProgs, progs } from './lib/bpfstats.ts';
import { BENCH_CACHE, buildAll, builtPaths, ROOT } from './lib/build.ts';
import { cleanup, onCleanup } from './lib/cleanup.ts';
import { startDaemon } from './lib/daemon.ts';
import { GUEST_NODE_ARGS, hostOrGuest } from './lib/entry.ts';
import { loadgen } from './lib/loadgen.ts';
import { writeKindPolicy } from './lib/policies.ts';
import { loadAverage, ratio, round, writeResult } from './lib/stats.ts';

/**
 * Rules per kind (BENCH_GUEST_RULES=1 to measure fewer sizes). The rules of all
 * kinds are one policy (one slot), and one policy file is refused above 1 MiB
 * of YAML (src/policy/limits.ts): 3,000 per kind is about 650 KiB.
 */
export const GUEST_RULE_COUNTS = (process.env.BENCH_GUEST_RULES ?? '1,3000').split(',').map(Number);
/** The rungs measured, one boot each (BENCH_GUEST_RUNGS=fmod_ret for one). */
type Rung = 'lsm' | 'fmod_ret';
const RUNGS = (process.env.BENCH_GUEST_RUNGS ?? 'lsm,fmod_ret').split(',') as Rung[];
const ROUNDS = 3;
/** the guest's bench cgroup, under its cgroup2 root /sys/fs/cgroup */
const CGROUP_REL = '/bpfgate-bench-guest';
const FILE_MATCH = `${ROOT}bench/c/noop.c`;
const FILE_MISS = `${ROOT}bench/c/loadgen.c`;

type SecurityHook = MeasuredHook<'exec' | 'file' | 'capability'>;

/** The hooks of a rung: the program names follow bpf/security.bpf.c (bg_lsm_<name>, bg_fmr_<name>). */
function hooks(rung: Rung, noop: string, noopMatch: string): SecurityHook[] {
  const lsm = rung === 'lsm';
  const at = (hook: string, fn: string) => (lsm ? `lsm/${hook}` : `fmod_ret/${fn}`);
  const p = lsm ? 'lsm' : 'fmr';
  return [
    {
      kind: 'exec',
      hook: at('bprm_check_security', 'security_bprm_check'),
      bpfgate: `bg_${p}_bprm_check`,
      null: `null_${p}_bprm`,
      miss: ['exec', noop],
      hit: ['exec', noopMatch],
      iterations: 200,
    },
    {
      kind: 'file',
      hook: at('file_open', 'security_file_open'),
      bpfgate: `bg_${p}_file_open`,
      null: `null_${p}_file_open`,
      miss: ['open', FILE_MISS],
      hit: ['open', FILE_MATCH],
      iterations: 3000,
    },
    {
      kind: 'capability',
      hook: at('capable', 'security_capable'),
      bpfgate: `bg_${p}_capable`,
      null: `null_${p}_capable`,
      miss: ['socket-raw'],
      hit: ['sethostname'],
      iterations: 3000,
    },
  ];
}

const policyDir = (n: number) => `${BENCH_CACHE}/policies-guest-${n}`;

/** In the guest: every measurement of one rung (BENCH_GUEST_RUNG), one JSON document on GUEST_OUT/guest.json. */
async function inner(): Promise<void> {
  const b = builtPaths();
  const rung = (process.env.BENCH_GUEST_RUNG ?? 'lsm') as Rung;
  const HOOKS = hooks(rung, b.noop, b.noopMatch);
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
    const links = HOOKS.map((h) =>
      rung === 'lsm' ? nullObj.attachLsm(h.null) : nullObj.attachTrace(h.null),
    );
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
          rung,
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

interface GuestRows {
  starts: { rulesPerKind: number; startMs: number }[];
  perProgram: { rung: Rung; kind: string; call: string; bpfgateNs: number; rules: number }[];
}

/** One boot: the rung's kernel (without bpf in lsm= for fmod_ret), its measurements. */
async function boot(rung: Rung): Promise<GuestRows & { bootMs: number }> {
  const g = await runInGuest(guestNodeCommand('bench/guest.ts', ['--inner'], GUEST_NODE_ARGS), {
    timeoutMs: 1_800_000,
    bootTimeoutMs: 300_000,
    env: { BENCH_GUEST_RULES: GUEST_RULE_COUNTS.join(','), BENCH_GUEST_RUNG: rung },
    ...(rung === 'fmod_ret' ? { lsm: LSM_WITHOUT_BPF } : {}),
    // the serial console shows the guest's progress (QEMU TCG is slow on a busy host)
    streamConsole: process.env.BENCH_GUEST_CONSOLE === '1',
  });
  const out = g.outFiles['guest.json'];
  if (g.exitCode !== 0 || !out)
    throw new Error(
      `guest bench (${rung}) failed (exit ${g.exitCode}):\n${g.stdout.slice(-3000)}\n${g.stderr.slice(-3000)}`,
    );
  process.stdout.write(g.stdout);
  return { ...(JSON.parse(out) as GuestRows), bootMs: g.bootMs };
}

/** On the host: prepare, boot once per rung, collect. */
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
    const boots = [];
    for (const rung of RUNGS) boots.push({ rung, ...(await boot(rung)) });
    const perProgram = boots.flatMap((x) => x.perProgram);
    const scaling = [];
    for (const rung of RUNGS)
      for (const kind of ['exec', 'file', 'capability'])
        for (const call of ['miss', 'hit']) {
          const rows = perProgram.filter((r) => r.rung === rung && r.kind === kind && r.call === call);
          const [one, last] = [rows[0], rows.at(-1)];
          if (one && last && one !== last)
            scaling.push({
              rung,
              kind,
              call,
              rulesFew: one.rules,
              rulesMany: last.rules,
              ratio: ratio(last.bpfgateNs, one.bpfgateNs),
            });
        }
    writeResult('guest', {
      emulated: true,
      note: 'QEMU TCG (software emulation): absolute ns are not hardware figures; compare ratios measured within one boot (one boot per rung)',
      conditions: {
        loadAverageBefore: load0,
        loadAverageAfter: loadAverage(),
        seconds: round((Date.now() - started) / 1000),
        boots: boots.map((x) => ({ rung: x.rung, bootMs: x.bootMs })),
        rounds: ROUNDS,
        rules: generated.map((x) => x.rules),
      },
      starts: boots.map((x) => ({ rung: x.rung, starts: x.starts })),
      perProgram,
      scaling,
    });
  } finally {
    await cleanup();
  }
}

if (import.meta.main) await hostOrGuest({ inner, run });
