// Load every program of bpf/build/bpfgate.bpf.o in Debian's 6.1 kernel under
// QEMU (test/support/guest.ts), one at a time and without attaching, and print
// bgload's report. Needs `make -C bpf all tools` first.
//   node bpf/tools/guest-load.ts [bgload args...]
import path from 'node:path';
import { PROJECT_ROOT, runInGuest, shellQuote } from '../../test/support/guest.ts';

const bpfDir = path.join(PROJECT_ROOT, 'bpf');
const args = process.argv.slice(2).map(shellQuote).join(' ');
const res = await runInGuest(
  `${shellQuote(path.join(bpfDir, 'build/bgload'))} ${shellQuote(path.join(bpfDir, 'build/bpfgate.bpf.o'))} ${args}`,
  { timeoutMs: 600_000 },
);
process.stdout.write(res.stdout);
process.stderr.write(res.stderr);
process.stdout.write(`guest exit ${res.exitCode} (boot ${res.bootMs} ms, total ${res.durationMs} ms)\n`);
process.exitCode = res.exitCode;
