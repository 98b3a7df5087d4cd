// Policy load: from process start to "bpfgate is enforcing" for 10, 1,000,
// 10,000 and 100,000 rules (the daemon in a process of its own, as `bpfgate
// run` starts it), the daemon's resident memory once enforcing, and in-process
// Daemon.start() and reload() times. The rules are bench/policy.ts's rotation
// (exec, file, connect, device over 64 policies), scoped to the bench cgroup.
// The process daemon is then reloaded (SIGHUP) BENCH_LOAD_RELOADS times (10)
// with the same set, and its resident memory measured again after the last.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { BENCH_CACHE } from './lib/build.ts';
import { createBenchCgroup } from './lib/cgroup.ts';
import { cleanup } from './lib/cleanup.ts';
import { startDaemon } from './lib/daemon.ts';
import { type DaemonProc, spawnDaemon } from './lib/daemon-proc.ts';
import { loadAverage, median, round, writeResult } from './lib/stats.ts';
import { generateSources } from './policy.ts';

/** BENCH_LOAD_SIZES=10000 to measure fewer sizes */
export const LOAD_SIZES = (process.env.BENCH_LOAD_SIZES ?? '10,1000,10000,100000').split(',').map(Number);

/** bench/policy.ts's generated set, every policy scoped to the bench cgroup. */
function writeSet(dir: string, rules: number, cgroupRel: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const s of generateSources(rules)) {
    writeFileSync(
      `${dir}/${s.file}`,
      s.text.replace('spec:\n', `spec:\n  scope:\n    cgroups: [${cgroupRel}]\n`),
    );
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** how long the process daemon idles after its reloads before its memory is read again */
const SETTLE_MS = 12_000;

/** SIGHUP reloads of the process daemon after start (BENCH_LOAD_RELOADS, 10) */
const RELOADS = Number(process.env.BENCH_LOAD_RELOADS ?? 10);

/** `n` reloads of the daemon by SIGHUP, one after the other; the ms each took (to its "policies reloaded" line). */
async function reloadByHup(d: DaemonProc, n: number, timeoutMs: number): Promise<number[]> {
  const done = () => d.log().filter((l) => l.includes('"policies reloaded"')).length;
  const failed = () => d.log().filter((l) => l.includes('reload') && /"level":[45]0/.test(l)).length;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const before = done();
    const bad = failed();
    const t0 = performance.now();
    process.kill(d.pid, 'SIGHUP');
    while (done() === before) {
      if (failed() > bad) throw new Error(`reload ${i + 1} failed: ${d.log().slice(-3).join(' | ')}`);
      if (performance.now() - t0 > timeoutMs) throw new Error(`reload ${i + 1} took over ${timeoutMs} ms`);
      await sleep(20);
    }
    times.push(round(performance.now() - t0));
  }
  return times;
}

export async function run(): Promise<void> {
  const load0 = loadAverage();
  const cg = createBenchCgroup('load');
  try {
    const rows = [];
    for (const rules of LOAD_SIZES) {
      const dir = `${BENCH_CACHE}/policies-load-${rules}`;
      writeSet(dir, rules, cg.rel);
      const d = await spawnDaemon(['--policies', dir, '--cgroup', cg.path], 300_000);
      await sleep(1000);
      const mem = d.rss();
      const reloadsMs = await reloadByHup(d, RELOADS, 300_000);
      await sleep(1000);
      const afterReloads = d.rss();
      // V8 returns the pages it pooled once the process has been idle a while (its memory reducer)
      await sleep(SETTLE_MS);
      const settled = d.rss();
      await d.stop();
      const reloaded = {
        reloads: reloadsMs.length,
        hupReloadMedianMs: reloadsMs.length ? round(median(reloadsMs)) : null,
        rssAfterReloadsBytes: afterReloads.rss,
        peakRssAfterReloadsBytes: afterReloads.hwm,
        settledMs: SETTLE_MS,
        rssSettledBytes: settled.rss,
      };
      const mib = (b: number) => round(b / 2 ** 20);
      const reloadText = `  after ${reloaded.reloads} reloads (median ${reloaded.hupReloadMedianMs} ms) rss ${mib(afterReloads.rss)} MiB (peak ${mib(afterReloads.hwm)}), ${SETTLE_MS / 1000} s later ${mib(settled.rss)} MiB`;

      // in process: start, then a reload of the same set (the other generation);
      // not for the largest set, which would double the suite's time
      if (rules > 10_000) {
        const row = {
          rules,
          processToEnforcingMs: round(d.enforcingMs),
          rssBytes: mem.rss,
          peakRssBytes: mem.hwm,
          ...reloaded,
        };
        rows.push(row);
        process.stdout.write(
          `load ${String(rules).padStart(7)} rules  process→enforcing ${String(row.processToEnforcingMs).padStart(9)} ms  rss ${mib(mem.rss)} MiB (peak ${mib(mem.hwm)})${reloadText}\n`,
        );
        continue;
      }
      const inproc = await startDaemon({ policyDir: dir, cgroupAttach: cg.path, logLevel: 'info' });
      const t0 = performance.now();
      const ok = await inproc.daemon.reload();
      const reloadMs = performance.now() - t0;
      await inproc.stop();
      const row = {
        rules,
        processToEnforcingMs: round(d.enforcingMs),
        daemonStartMs: round(inproc.startMs),
        reloadMs: round(reloadMs),
        reloadOk: ok,
        rssBytes: mem.rss,
        peakRssBytes: mem.hwm,
        ...reloaded,
      };
      rows.push(row);
      process.stdout.write(
        `load ${String(rules).padStart(7)} rules  process→enforcing ${String(row.processToEnforcingMs).padStart(9)} ms  Daemon.start ${String(row.daemonStartMs).padStart(9)} ms  reload ${String(row.reloadMs).padStart(9)} ms  rss ${mib(mem.rss)} MiB (peak ${mib(mem.hwm)})${reloadText}\n`,
      );
    }
    writeResult('load', {
      conditions: { loadAverageBefore: load0, loadAverageAfter: loadAverage() },
      setup:
        'rules as bench/policy.ts (exec, file, connect, device; 64 policies) scoped to the bench cgroup; in-process start/reload log at info to /dev/null; the process daemon reloaded by SIGHUP, rss 1 s after start, 1 s after the last reload and 12 s after that (idle)',
      results: rows,
    });
  } finally {
    await cleanup();
  }
}

if (import.meta.main) await run();
