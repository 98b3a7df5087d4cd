// Bench-time builds into .cache/bench/: the null BPF programs (clang, with a
// vmlinux.h from this kernel's BTF, as test/fixtures/bpf/build.sh does) and the
// C load generator (cc). Nothing here is committed output.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH_CACHE = `${ROOT}.cache/bench`;
const HERE = fileURLToPath(new URL('../', import.meta.url));

export interface Built {
  nullObject: string;
  loadgen: string;
  /** exits 0; exec'd by the exec benchmark for calls that match no rule */
  noop: string;
  /** the same program at another path, which the exec rules match */
  noopMatch: string;
}

function newer(out: string, src: string): boolean {
  return existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs;
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
  mkdirSync(BENCH_CACHE, { recursive: true });
  const vmlinux = `${BENCH_CACHE}/vmlinux.h`;
  if (!existsSync(vmlinux)) {
    const text = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], {
      maxBuffer: 256 << 20,
    });
    writeFileSync(`${vmlinux}.tmp`, text);
    renameSync(`${vmlinux}.tmp`, vmlinux);
  }
  const nullSrc = `${HERE}bpf/null.bpf.c`;
  const nullObject = `${BENCH_CACHE}/null.bpf.o`;
  if (!newer(nullObject, nullSrc)) {
    execFileSync('clang', [
      '-g',
      '-O2',
      '-target',
      'bpf',
      '-D__TARGET_ARCH_x86',
      `-I${BENCH_CACHE}`,
      '-c',
      nullSrc,
      '-o',
      nullObject,
    ]);
  }
  const cc = (src: string, out: string, extra: string[] = []) => {
    if (!newer(out, src)) execFileSync('cc', ['-O2', '-Wall', '-o', out, src, ...extra]);
  };
  const loadgen = `${BENCH_CACHE}/loadgen`;
  cc(`${HERE}c/loadgen.c`, loadgen);
  const noop = `${BENCH_CACHE}/noop`;
  cc(`${HERE}c/noop.c`, noop, ['-static']);
  const noopMatch = `${BENCH_CACHE}/noop-match`;
  if (!newer(noopMatch, noop)) copyFileSync(noop, noopMatch);
  execFileSync('chmod', ['755', noopMatch]);
  return { nullObject, loadgen, noop, noopMatch };
}
