// npm run coverage: Atomic Red Team's Linux tests that need no internet,
// run in the QEMU guest (Debian 6.1, BPF-LSM) against the starter policies in
// enforce mode, each test classified by what bpfgate did, written to
// docs/coverage.md (a table per technique and the totals) and
// docs/coverage.json (every test, its result and its events). Not part of the
// test suite: it takes half an hour or more under emulation.
//
// A run may be split: `--only T1053,T1548` runs those techniques in a guest
// of their own and keeps their results in .cache/coverage/runs/<list>/; the
// pages are then written from every kept run (the newest run of a test wins),
// so techniques can be run in slices and a slice run again after a policy
// change. `--render` writes the pages from the kept runs without a guest.
//   node test/coverage/run.ts [--only T1053.003,T1548] [--render]
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GUEST_IN, GUEST_OUT, runInGuest } from '../support/guest.ts';
import { PROJECT_ROOT } from '../support/paths.ts';
import { type PlannedTest, planTests } from './atomics.ts';
import type { TestRun } from './guest-run.ts';
import { classify, renderCoverage, summaryJson, type TestResult } from './render.ts';

const { values } = parseArgs({
  options: { only: { type: 'string' }, render: { type: 'boolean' } },
});
const RUNS = path.join(PROJECT_ROOT, '.cache', 'coverage', 'runs');
const all = planTests();
const only = values.only?.split(',').filter(Boolean);
const inSlice = (t: PlannedTest) =>
  !only || only.some((o) => t.technique === o || t.technique.startsWith(`${o}.`));

if (!values.render) await runSlice(all.filter(inSlice));
writePages();

async function runSlice(plan: PlannedTest[]): Promise<void> {
  const toRun = plan.filter((t) => !t.notRun).length;
  process.stderr.write(`coverage: ${plan.length} Linux tests, ${toRun} to run\n`);
  if (toRun === 0) return;
  // the guest's root is the host's, read-only: the tests get a writable overlay of it (tmpfs upper)
  const command = `set -e
  mkdir -p /tmp/ov/up /tmp/ov/work /tmp/ov/root
  mount -t overlay overlay -o lowerdir=/,upperdir=/tmp/ov/up,workdir=/tmp/ov/work /tmp/ov/root
  for d in proc sys dev run media; do mount --rbind /$d /tmp/ov/root/$d; done
  mount -t tmpfs -o mode=1777 tmpfs /tmp/ov/root/tmp
  cd /
  exec chroot /tmp/ov/root /bin/sh -c 'cd "$0" && exec node test/coverage/guest-run.ts "$1" "$2"' \\
    ${PROJECT_ROOT} ${GUEST_IN}/plan.json ${GUEST_OUT}
  `;
  const started = Date.now();
  const r = await runInGuest(command, {
    extraModules: ['overlay'],
    files: { 'plan.json': JSON.stringify(plan) },
    timeoutMs: 150 * 60_000,
    memoryMiB: 3072,
    streamConsole: false,
  });
  const outDir = path.join(RUNS, only ? only.join(',') : 'all');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const [f, text] of Object.entries(r.outFiles)) writeFileSync(path.join(outDir, f), text);
  writeFileSync(path.join(outDir, 'guest-stderr.txt'), r.stderr);
  if (r.exitCode !== 0 || !r.outFiles['runs.json']) {
    process.stderr.write(`coverage: the guest run failed (exit ${r.exitCode}):\n${r.stderr.slice(-4000)}\n`);
    process.exit(1);
  }
  writeFileSync(path.join(outDir, 'plan.json'), JSON.stringify(plan));
  writeFileSync(path.join(outDir, 'minutes'), String((Date.now() - started) / 60_000));
}

/** Every kept run, oldest first, classified on its own events (cgroup ids are per guest boot). */
function writePages(): void {
  const byId = new Map<string, TestResult>();
  let minutes = 0;
  const dirs = existsSync(RUNS)
    ? readdirSync(RUNS)
        .map((d) => path.join(RUNS, d))
        .filter((d) => existsSync(path.join(d, 'plan.json')) && existsSync(path.join(d, 'runs.json')))
        .sort(
          (a, b) => statSync(path.join(a, 'runs.json')).mtimeMs - statSync(path.join(b, 'runs.json')).mtimeMs,
        )
    : [];
  for (const d of dirs) {
    const read = (f: string) => (existsSync(path.join(d, f)) ? readFileSync(path.join(d, f), 'utf8') : '');
    const runs = JSON.parse(read('runs.json')) as TestRun[];
    const ran = new Set(runs.map((r) => r.id));
    for (const r of classify(JSON.parse(read('plan.json')) as PlannedTest[], runs, read('events.jsonl'))) {
      if (ran.has(r.test.id)) byId.set(r.test.id, r);
    }
    minutes += Number(read('minutes')) || 0;
  }
  const results = classify(all, [], '').map((r) => byId.get(r.test.id) ?? r);
  writeFileSync(
    path.join(PROJECT_ROOT, 'docs', 'coverage.md'),
    renderCoverage(results, { minutes: Math.round(minutes) }),
  );
  writeFileSync(
    path.join(PROJECT_ROOT, 'docs', 'coverage.json'),
    `${JSON.stringify(summaryJson(results), null, 1)}\n`,
  );
  process.stderr.write(
    `coverage: ${byId.size} tests from ${dirs.length} runs; docs/coverage.md and docs/coverage.json written\n`,
  );
}
