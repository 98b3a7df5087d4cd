// Policy load: from process start to "bpfgate is enforcing" for 10, 1,000,
// 10,000 and 100,000 rules (the daemon in a process of its own, as `bpfgate
// run` starts it), the daemon's resident memory once enforcing, and in-process
// Daemon.start() and reload() times. The rules are bench/policy.ts's rotation
// (exec, file, connect, device over 64 policies), scoped to the bench cgroup.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { BENCH_CACHE } from './lib/build.ts';
import { createBenchCgroup } from './lib/cgroup.ts';
import { cleanup } from './lib/cleanup.ts';
import { startDaemon } from './lib/daemon.ts';
import { spawnDaemon } from './lib/daemon-proc.ts';
import { loadAverage, round, writeResult } from './lib/stats.ts';
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
      await d.stop();

      // in process: start, then a reload of the same set (the other generation);
      // not for the largest set, which would double the suite's time
      if (rules > 10_000) {
        const row = {
          rules,
          processToEnforcingMs: round(d.enforcingMs),
          rssBytes: mem.rss,
          peakRssBytes: mem.hwm,
        };
        rows.push(row);
        process.stdout.write(
          `load ${String(rules).padStart(7)} rules  process→enforcing ${String(row.processToEnforcingMs).padStart(9)} ms  rss ${round(mem.rss / 2 ** 20)} MiB (peak ${round(mem.hwm / 2 ** 20)})\n`,
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
      };
      rows.push(row);
      process.stdout.write(
        `load ${String(rules).padStart(7)} rules  process→enforcing ${String(row.processToEnforcingMs).padStart(9)} ms  Daemon.start ${String(row.daemonStartMs).padStart(9)} ms  reload ${String(row.reloadMs).padStart(9)} ms  rss ${round(mem.rss / 2 ** 20)} MiB (peak ${round(mem.hwm / 2 ** 20)})\n`,
      );
    }
    writeResult('load', {
      conditions: { loadAverageBefore: load0, loadAverageAfter: loadAverage() },
      setup:
        'rules as bench/policy.ts (exec, file, connect, device; 64 policies) scoped to the bench cgroup; in-process start/reload log at info to /dev/null',
      results: rows,
    });
  } finally {
    await cleanup();
  }
}

if (import.meta.main) await run();
