// A pinned executable's measurement (src/kernel/exe-digest.ts): the digest
// of real files, and every state in which a measurement cannot be trusted.
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FRESH_NS,
  MeasureCache,
  type MeasureDeps,
  measureExecutable,
} from '../../../src/kernel/exe-digest.ts';

const dir = mkdtempSync(join(tmpdir(), 'bpfgate-digest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
/** a clock a minute after the file's change time, and no writer */
const calm = (): MeasureDeps => ({
  writers: () => 'no',
  nowNs: () => BigInt(Date.now() + 60_000) * 1_000_000n,
});

describe('measureExecutable', () => {
  it("gives the file's SHA-256 with the change time and size it had while read (larger than one read)", () => {
    const f = join(dir, 'big');
    const content = Buffer.alloc(3 * (1 << 20) + 17, 7);
    writeFileSync(f, content);
    const st = statSync(f, { bigint: true });
    const m = measureExecutable(f, calm());
    expect(m).toEqual({
      ok: true,
      sha256: sha(content),
      dev: st.dev,
      ino: st.ino,
      ctimeNs: st.ctimeNs,
      size: st.size,
    });
  });

  it('a file open for writing somewhere is not measured', () => {
    const f = join(dir, 'written');
    writeFileSync(f, 'x');
    expect(measureExecutable(f, { ...calm(), writers: () => 'yes' })).toEqual({
      ok: false,
      reason: 'being written (open for writing)',
    });
    expect(measureExecutable(f, { ...calm(), writers: () => 'unknown' })).toMatchObject({ ok: false });
  });

  it('a file changed less than a clock tick ago is not measured (a write in the same tick keeps the change time)', () => {
    const f = join(dir, 'fresh');
    writeFileSync(f, 'x');
    const ctime = statSync(f, { bigint: true }).ctimeNs;
    expect(measureExecutable(f, { ...calm(), nowNs: () => ctime + FRESH_NS - 1n })).toEqual({
      ok: false,
      reason: 'changing (changed just now)',
    });
    expect(measureExecutable(f, { ...calm(), nowNs: () => ctime + FRESH_NS })).toMatchObject({ ok: true });
  });

  it('a directory, a missing file: not measured, with the reason', () => {
    expect(measureExecutable(dir, calm())).toEqual({ ok: false, reason: 'not a regular file' });
    expect(measureExecutable(join(dir, 'none'), calm())).toEqual({
      ok: false,
      reason: 'cannot be read (ENOENT)',
    });
  });
});

describe('MeasureCache', () => {
  it('reads a file once per state, again once its change time moves', () => {
    const f = join(dir, 'cached');
    writeFileSync(f, 'one');
    let writersAsked = 0;
    const deps = calm();
    const cache = new MeasureCache({
      ...deps,
      writers: (fd) => {
        writersAsked++;
        return deps.writers(fd);
      },
    });
    const st = () => statSync(f, { bigint: true });
    expect(cache.measure(f, st())).toMatchObject({ ok: true, sha256: sha('one') });
    expect(cache.measure(f, st())).toMatchObject({ ok: true, sha256: sha('one') });
    expect(writersAsked).toBe(1);
    appendFileSync(f, 'two');
    expect(cache.measure(f, st())).toMatchObject({ ok: true, sha256: sha('onetwo') });
    expect(writersAsked).toBe(2);
  });

  it('a failed measurement is not kept', () => {
    const f = join(dir, 'flaky');
    writeFileSync(f, 'x');
    let busy = true;
    const cache = new MeasureCache({ ...calm(), writers: () => (busy ? 'yes' : 'no') });
    expect(cache.measure(f, statSync(f, { bigint: true }))).toMatchObject({ ok: false });
    busy = false;
    expect(cache.measure(f, statSync(f, { bigint: true }))).toMatchObject({ ok: true, sha256: sha('x') });
  });
});
