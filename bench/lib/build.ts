// Bench-time builds into .cache/bench/ (test/support/build.ts): the null BPF
// programs and the C load generator. Nothing here is committed output.
import { chmodSync, copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileBpf, compileC, isFresh } from '../../test/support/build.ts';
import { CACHE, ROOT } from '../../test/support/paths.ts';

export { ROOT };
export const BENCH_CACHE = `${CACHE}/bench`;
const HERE = fileURLToPath(new URL('../', import.meta.url));

export interface Built {
  nullObject: string;
  loadgen: string;
  /** exits 0; exec'd by the exec benchmark for calls that match no rule */
  noop: string;
  /** the same program at another path, which the exec rules match */
  noopMatch: string;
}

/** Where buildAll() puts everything (in the guest, whose root is read-only: built on the host before the boot). */
export function builtPaths(): Built {
  return {
    nullObject: `${BENCH_CACHE}/null.bpf.o`,
    loadgen: `${BENCH_CACHE}/loadgen`,
    noop: `${BENCH_CACHE}/noop`,
    noopMatch: `${BENCH_CACHE}/noop-match`,
  };
}

export function buildAll(): Built {
  const b = builtPaths();
  compileBpf(`${HERE}bpf/null.bpf.c`, b.nullObject);
  compileC(`${HERE}c/loadgen.c`, b.loadgen);
  compileC(`${HERE}c/noop.c`, b.noop, ['-static']);
  if (!isFresh(b.noopMatch, b.noop)) copyFileSync(b.noop, b.noopMatch);
  chmodSync(b.noopMatch, 0o755);
  return b;
}
