// The figure a user feels, in the emulated guest: bench/macro.ts's workloads
// with and without bpfgate running the starter policies in enforce mode, on
// Debian's 6.1 kernel under QEMU TCG with BPF-LSM active (so exec, file and
// capability rules are decided in lsm/ programs, not in sys_enter or the exec
// tracepoint). A tenth of the host's sizes (1,000 execs, 10,000 opens, 1,000
// connects, untar of 2,000 files), 3 rounds: emulation makes each exec cost
// milliseconds. Emulated: compare the ratios, not the seconds, and never with
// the host's figures as absolute numbers.
//
// The host side (run) builds the load generator, makes the tarball and boots
// the guest with `node bench/macro-guest.ts --inner`; it writes
// bench/results/macro-guest.json from what the guest wrote to GUEST_OUT.
import { writeFileSync } from 'node:fs';
import { GUEST_OUT, guestNodeCommand, runInGuest } from '../test/support/guest.ts';
import { buildAll, builtPaths } from './lib/build.ts';
import { GUEST_NODE_ARGS, hostOrGuest } from './lib/entry.ts';
import { loadAverage, round, writeResult } from './lib/stats.ts';
import { HOST_SIZE, type MacroSize, measureMacro, tarball } from './macro.ts';

const GUEST_SIZE: MacroSize = {
  execs: HOST_SIZE.execs / 10,
  opens: HOST_SIZE.opens / 10,
  connects: HOST_SIZE.connects / 10,
  tarFiles: HOST_SIZE.tarFiles / 10,
  rounds: Number(process.env.BENCH_MACRO_GUEST_ROUNDS ?? 3),
  timeoutMs: 900_000,
};

/** In the guest: the measurement, one JSON document on GUEST_OUT/macro.json. */
async function inner(): Promise<void> {
  // the guest's root is read-only and its /tmp a tmpfs
  const scratch = '/tmp/bpfgate-bench-macro';
  const result = await measureMacro(
    builtPaths(),
    GUEST_SIZE,
    tarball(GUEST_SIZE.tarFiles),
    scratch,
    `${scratch}/untar-out`,
  );
  writeFileSync(`${GUEST_OUT}/macro.json`, JSON.stringify(result));
}

export async function run(): Promise<void> {
  buildAll();
  tarball(GUEST_SIZE.tarFiles);
  const load0 = loadAverage();
  const started = Date.now();
  const g = await runInGuest(guestNodeCommand('bench/macro-guest.ts', ['--inner'], GUEST_NODE_ARGS), {
    timeoutMs: 2_400_000,
    bootTimeoutMs: 300_000,
    streamConsole: process.env.BENCH_GUEST_CONSOLE === '1',
  });
  const out = g.outFiles['macro.json'];
  if (g.exitCode !== 0 || !out)
    throw new Error(
      `guest macro bench failed (exit ${g.exitCode}):\n${g.stdout.slice(-3000)}\n${g.stderr.slice(-3000)}`,
    );
  process.stdout.write(g.stdout.replace(/^macro /gm, 'macro-guest '));
  const result = JSON.parse(out) as { conditions: Record<string, unknown> };
  writeResult('macro-guest', {
    emulated: true,
    note: "QEMU TCG (software emulation) of Debian's 6.1 kernel with BPF-LSM active: compare the ratios; the seconds are emulated",
    ...result,
    conditions: {
      loadAverageBefore: load0,
      loadAverageAfter: loadAverage(),
      seconds: round((Date.now() - started) / 1000),
      bootMs: g.bootMs,
      ...result.conditions,
    },
  });
}

if (import.meta.main) await hostOrGuest({ inner, run });
