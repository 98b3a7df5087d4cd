// `npm run bench`: runs the benchmarks in turn; `--only NAME[,NAME]` picks some.
//   policy    parse + validate and compile of generated sets (bench/policy.ts)
//   kernel    per-program cost against null programs, socket() latency (bench/kernel.ts)
//   pipeline  violations/s to JetStream acknowledgement, loss, CPU, RSS (bench/pipeline.ts)
//   flood     200,000 denied attempts from one process: counted in the kernel or one record each, /healthz, RSS (bench/flood.ts)
//   macro     everyday work (execs, opens, connects, untar) with and without the starter policies enforcing (bench/macro.ts)
//   load      start/reload to enforcing, RSS (bench/load.ts)
//   guest     per-program cost of the BPF-LSM and the fmod_ret programs in the emulated guest, one boot per rung (bench/guest.ts)
//   macro-guest  the macro workloads (a tenth of each) in the emulated guest with BPF-LSM active (bench/macro-guest.ts)
//   targets   the targets table from the results: bench/results/targets.md (bench/targets.ts)
// Each writes bench/results/<name>.json; docs/performance.md has the full tables.
// Everything a benchmark attaches or creates is removed when it ends, fails or
// is interrupted (bench/lib/cleanup.ts). Loopback only.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cleanup } from './lib/cleanup.ts';

const ALL = ['policy', 'kernel', 'pipeline', 'flood', 'macro', 'load', 'guest', 'macro-guest', 'targets'];

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const wanted = values.only ? values.only.split(',') : ALL;
for (const w of wanted) if (!ALL.includes(w)) throw new Error(`--only: one of ${ALL.join(', ')}, not '${w}'`);

const t0 = Date.now();
try {
  for (const name of ALL.filter((n) => wanted.includes(n))) {
    const url = new URL(`./${name}.ts`, import.meta.url);
    if (!existsSync(url)) {
      process.stdout.write(`# ${name}: not present, skipped\n`);
      continue;
    }
    const mod = (await import(url.href)) as { run?: () => Promise<void> };
    if (typeof mod.run !== 'function') throw new Error(`bench/${name}.ts exports no run()`);
    process.stdout.write(`# ${name}\n`);
    const t = Date.now();
    await mod.run();
    process.stdout.write(`# ${name}: ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
  }
} finally {
  await cleanup();
}
process.stdout.write(`# bench: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
