// Who asked a protected daemon to unload is taken from the kernel: the uid is
// the request file's owner, whatever the file says; the pid is kept only when
// that process is alive and runs as that uid; a link is refused. Real files,
// real /proc; a file of another uid is made with chown (the tests run as root).
import { chownSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readUnloadRequest } from '../../../src/kernel/protect.ts';

const dir = mkdtempSync(join(tmpdir(), 'bpfgate-unload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const request = (body: string): string => {
  const f = join(dir, `req-${n++}`);
  writeFileSync(f, body);
  return f;
};

describe('the unload request', () => {
  it('takes the uid from the file owner, not from what the file claims', () => {
    const f = request(JSON.stringify({ pid: process.pid, uid: 4242, at: 'x' }));
    const r = readUnloadRequest(f);
    expect(r.uid).toBe(process.getuid!());
    expect(r.pid).toBe(process.pid);
    expect(r.claimed).toEqual({ pid: process.pid, uid: 4242 });
  });

  it('keeps the pid only when the kernel agrees: alive, and running as the owner', () => {
    expect(readUnloadRequest(request(JSON.stringify({ pid: 2 ** 30 }))).pid).toBeNull();
    const other = request(JSON.stringify({ pid: process.pid }));
    chownSync(other, 4242, 4242); // owned by a uid this process does not run as
    const r = readUnloadRequest(other);
    expect(r.uid).toBe(4242);
    expect(r.pid).toBeNull();
    expect(readUnloadRequest(request('not json')).uid).toBe(process.getuid!());
  });

  it('refuses a symbolic link', () => {
    const target = request('{}');
    const link = join(dir, `link-${n++}`);
    symlinkSync(target, link);
    expect(() => readUnloadRequest(link)).toThrow(/not a regular file/);
  });
});
