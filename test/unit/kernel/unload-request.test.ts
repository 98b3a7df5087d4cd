// Who asked a protected daemon to unload is taken from the kernel: the uid is
// the request file's owner, whatever the file says; the pid is the process
// that holds the request open (/proc/<pid>/fd), never the pid the file
// claims; a link is refused. Real files, real processes, real /proc; a file of
// another uid is made with chown (the tests run as root).
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chownSync,
  closeSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileHolders, openUnloadRequest, readUnloadRequest } from '../../../src/kernel/unload-request.ts';

const dir = mkdtempSync(join(tmpdir(), 'bpfgate-unload-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
const request = (body: string): string => {
  const f = join(dir, `req-${n++}`);
  writeFileSync(f, body);
  return f;
};

/** A child process that holds `file` open (fd 3) until killed; resolves once /proc shows it. */
async function holder(file: string): Promise<number> {
  const c = spawn('sh', ['-c', `exec 3<"$1"; exec sleep 60`, 'sh', file], { stdio: 'ignore' });
  children.push(c);
  const pid = c.pid!;
  for (let i = 0; i < 100; i++) {
    if (fileHolders(file).includes(pid)) return pid;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the child never held the file');
}

describe('the unload request', () => {
  it('takes the uid from the file owner, not from what the file claims', () => {
    const f = request(JSON.stringify({ pid: process.pid, uid: 4242, at: 'x' }));
    const r = readUnloadRequest(f);
    expect(r.uid).toBe(process.getuid!());
    expect(r.claimed).toEqual({ pid: process.pid, uid: 4242 });
    const other = request(JSON.stringify({ uid: 0 }));
    chownSync(other, 4242, 4242);
    expect(readUnloadRequest(other).uid).toBe(4242);
    expect(readUnloadRequest(request('not json')).uid).toBe(process.getuid!());
  });

  it('takes the pid from the process holding the request open, not the pid it claims', async () => {
    // pid 1 is alive and runs as root, like the requester: a claim the old check accepted
    const f = request(JSON.stringify({ pid: 1, uid: 0 }));
    expect(readUnloadRequest(f).pid).toBeNull(); // nobody holds it: unknown, not pid 1
    const pid = await holder(f);
    const r = readUnloadRequest(f);
    expect(r.pid).toBe(pid);
    expect(r.claimed.pid).toBe(1);
  });

  it('openUnloadRequest writes the request whole before it appears, keeps it open, and follows no link', () => {
    const f = join(dir, `req-${n++}`);
    const fd = openUnloadRequest(f);
    try {
      expect(JSON.parse(readFileSync(f, 'utf8')).pid).toBe(process.pid);
      expect(fileHolders(f)).not.toContain(process.pid); // this process is the reader's own
      // written under its own name and renamed into place: the daemon, which polls
      // for the name, never finds it empty; nothing of the first name is left
      expect(readdirSync(dir).filter((e) => e.startsWith(`${basename(f)}.`))).toEqual([]);
    } finally {
      closeSync(fd);
    }
    // a link planted at the request's name is replaced, never written through
    const target = request('{}');
    const link = join(dir, `link-${n++}`);
    symlinkSync(target, link);
    closeSync(openUnloadRequest(link));
    expect(readFileSync(target, 'utf8')).toBe('{}');
    expect(lstatSync(link).isFile()).toBe(true);
    // a link planted at the name it writes first is refused
    const planted = join(dir, `req-${n++}`);
    symlinkSync(target, `${planted}.${process.pid}`);
    expect(() => openUnloadRequest(planted)).toThrow(/EEXIST/);
    expect(readFileSync(target, 'utf8')).toBe('{}');
    const link2 = join(dir, `link-${n++}`);
    symlinkSync(target, link2);
    expect(() => readUnloadRequest(link2)).toThrow(/not a regular file/);
  });
});
