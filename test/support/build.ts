// Builds what tests and benchmarks run but never commit, into .cache/: C
// programs with the host's `cc` and BPF objects with clang against a
// vmlinux.h from this kernel's BTF. Each output is rebuilt only when its
// source is newer, and written under a temporary name then renamed into
// place, so several test files or processes may build at once.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** `out` exists and is at least as new as `src`. */
export function isFresh(out: string, src: string): boolean {
  return existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs;
}

/** Run `make(tmp)` to write a temporary file, then rename it to `out`. */
function atomically(out: string, make: (tmp: string) => void): void {
  mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  make(tmp);
  renameSync(tmp, out);
}

/** Compile one C file with `cc -O2 -Wall -Wextra -Werror` (plus `flags`) unless `out` is fresh; returns `out`. */
export function compileC(src: string, out: string, flags: string[] = []): string {
  if (!isFresh(out, src)) {
    atomically(out, (tmp) =>
      execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, src, ...flags], {
        stdio: 'inherit',
      }),
    );
  }
  return out;
}

/** `dir/vmlinux.h` from this kernel's BTF (made once; never committed). */
export function vmlinuxHeader(dir: string): string {
  const file = path.join(dir, 'vmlinux.h');
  if (!existsSync(file)) {
    const text = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], {
      maxBuffer: 256 << 20,
    });
    atomically(file, (tmp) => writeFileSync(tmp, text));
  }
  return file;
}

/** Compile one BPF C file (CO-RE, x86) into `out` unless it is fresh; the vmlinux.h lives beside `out`. */
export function compileBpf(src: string, out: string): string {
  const dir = path.dirname(out);
  vmlinuxHeader(dir);
  if (!isFresh(out, src)) {
    atomically(out, (tmp) =>
      execFileSync(
        'clang',
        ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', `-I${dir}`, '-c', src, '-o', tmp],
        {
          stdio: 'inherit',
        },
      ),
    );
  }
  return out;
}
