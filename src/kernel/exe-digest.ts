// The SHA-256 of a named executable, measured so that the exec tracepoint can
// trust it (bg_exe_verified, bpf/tracepoint.bpf.c bg_exe_verified_bit): the
// kernel compares the file's change time and size at each exec with those
// measured here, so a measurement holds only when it proves that the content
// read is the content the file has at that change time:
//   - nobody has the file open for writing (a read lease is refused while a
//     descriptor or a shared writable mapping is open for writing): a writer
//     that exists now could change the content later without another change
//     time (pages it already made dirty); one that opens later changes the
//     change time with its first write;
//   - the change time is at least FRESH_NS old when the reading starts: a
//     write within the same clock tick as the last change leaves the change
//     time as it was;
//   - the change time and size are the same after the reading.
// Anything else is not a measurement ("changing", "being written", "cannot
// tell"): the file is not verified, and an exception that pins a digest does
// not apply to it (fail closed) until a later measurement succeeds.
import { createHash } from 'node:crypto';
import { type BigIntStats, closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { openForWrite } from './binding/native.ts';

/** How old the change time must be when the reading starts: more than a clock tick (10 ms at HZ=100). */
export const FRESH_NS = 50_000_000n;

export type Measurement =
  | { ok: true; sha256: string; dev: bigint; ino: bigint; ctimeNs: bigint; size: bigint }
  | { ok: false; reason: string };

export interface MeasureDeps {
  /** whether a read-only descriptor's file is open for writing anywhere (the addon's lease test) */
  writers: (fd: number) => 'no' | 'yes' | 'unknown';
  /** now, ns since the epoch (the clock the change time is on) */
  nowNs: () => bigint;
}

const liveDeps: MeasureDeps = {
  writers: openForWrite,
  nowNs: () => BigInt(Date.now()) * 1_000_000n,
};

const same = (a: BigIntStats, b: BigIntStats) =>
  a.dev === b.dev && a.ino === b.ino && a.ctimeNs === b.ctimeNs && a.size === b.size;

/** Measure the regular file at `path` (symbolic links followed, as exec follows them). */
export function measureExecutable(path: string, deps: MeasureDeps = liveDeps): Measurement {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return { ok: false, reason: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  try {
    const before = fstatSync(fd, { bigint: true });
    if (!before.isFile()) return { ok: false, reason: 'not a regular file' };
    if (deps.nowNs() - before.ctimeNs < FRESH_NS) return { ok: false, reason: 'changing (changed just now)' };
    const w = deps.writers(fd);
    if (w === 'yes') return { ok: false, reason: 'being written (open for writing)' };
    if (w === 'unknown')
      return { ok: false, reason: 'cannot tell whether it is being written (no leases here)' };
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
    const after = fstatSync(fd, { bigint: true });
    if (!same(before, after)) return { ok: false, reason: 'changing (changed while it was read)' };
    return {
      ok: true,
      sha256: hash.digest('hex'),
      dev: after.dev,
      ino: after.ino,
      ctimeNs: after.ctimeNs,
      size: after.size,
    };
  } catch (err) {
    return { ok: false, reason: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  } finally {
    closeSync(fd);
  }
}

/**
 * Measurements kept by (device, inode, change time, size): a file whose
 * change time has not moved has the content measured (every write since
 * moves it), so the periodic resolution reads each file once per change.
 */
export class MeasureCache {
  readonly #deps: MeasureDeps;
  readonly #byState = new Map<string, Measurement & { ok: true }>();

  constructor(deps: MeasureDeps = liveDeps) {
    this.#deps = deps;
  }

  measure(
    path: string,
    st: Pick<BigIntStats, 'dev' | 'ino'> & Partial<Pick<BigIntStats, 'ctimeNs' | 'size'>>,
  ): Measurement {
    const key =
      st.ctimeNs !== undefined && st.size !== undefined
        ? `${st.dev}:${st.ino}:${st.ctimeNs}:${st.size}`
        : undefined;
    const hit = key ? this.#byState.get(key) : undefined;
    if (hit) return hit;
    const m = measureExecutable(path, this.#deps);
    if (m.ok) {
      if (this.#byState.size >= 4096) this.#byState.clear();
      this.#byState.set(`${m.dev}:${m.ino}:${m.ctimeNs}:${m.size}`, m);
    }
    return m;
  }
}
