// The on-disk spool under damage and attack: a corrupt record costs only
// itself (the records after it are kept) and every record cut is counted,
// whatever was damaged (a payload, a header, a run of records, a torn tail);
// the cursor is synced before it replaces the old one; files and the folder
// are owner-only and never reached through a symbolic link.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PrivateFileError } from '../../../src/private-fs.ts';
import { Spool } from '../../../src/sinks/spool.ts';
import { PROJECT_ROOT } from '../../support/paths.ts';
import { scratch } from '../../support/tmp.ts';

const { fresh } = scratch('spool');

const options = (dir: string) => ({
  dir,
  maxBytes: 1 << 20,
  segmentBytes: 1 << 20,
  fsync: 'never' as const,
  fsyncIntervalMs: 1000,
});

/** A spool holding records "r0".."r<count-1>" (each `size` bytes), closed. */
async function filled(count: number, size = 50, o = {}): Promise<string> {
  const dir = fresh();
  const s = new Spool({ ...options(dir), ...o });
  await s.open();
  for (let i = 0; i < count; i++) await s.append([Buffer.from(`r${i}`.padEnd(size, '.'))]);
  await s.close();
  return dir;
}

const segments = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith('seg-'))
    .sort();

async function reopen(dir: string): Promise<{ spool: Spool; names: string[] }> {
  const spool = new Spool(options(dir));
  await spool.open();
  const { records } = await spool.read(1000);
  return { spool, names: records.map((r) => r.toString().replace(/\.+$/, '')) };
}

/** Offset in the segment of record i (records of `size` bytes, HEADER bytes each, after the segment's own header). */
const at = (i: number, size = 50) => Spool.SEGMENT_HEADER + i * (Spool.RECORD_HEADER + size);

function damage(file: string, offset: number, bytes: number): void {
  const b = readFileSync(file);
  for (let i = 0; i < bytes; i++) b[offset + i] = b[offset + i]! ^ 0xa5;
  writeFileSync(file, b);
}

describe('a corrupt spool', () => {
  it('a damaged payload cuts that record only, and counts it', async () => {
    const dir = await filled(10);
    damage(join(dir, segments(dir)[0]!), at(3) + Spool.RECORD_HEADER + 5, 1);
    const { spool, names } = await reopen(dir);
    expect(names).toEqual(['r0', 'r1', 'r2', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9']);
    expect(spool.stats()).toMatchObject({ corrupt: 1, pending: 9 });
  });

  it('a damaged length: the records after it are found again, the cut counted exactly', async () => {
    const dir = await filled(10);
    damage(join(dir, segments(dir)[0]!), at(4), 2);
    const { spool, names } = await reopen(dir);
    expect(names).toEqual(['r0', 'r1', 'r2', 'r3', 'r5', 'r6', 'r7', 'r8', 'r9']);
    expect(spool.stats().corrupt).toBe(1);
  });

  it('a damaged run of three records counts three', async () => {
    const dir = await filled(10);
    damage(join(dir, segments(dir)[0]!), at(3) + 10, at(6) - at(3) - 20);
    const { spool, names } = await reopen(dir);
    expect(names).toEqual(['r0', 'r1', 'r2', 'r6', 'r7', 'r8', 'r9']);
    expect(spool.stats().corrupt).toBe(3);
  });

  it('damage at the end of a segment is counted by the next segment', async () => {
    const dir = await filled(10, 50, { segmentBytes: at(5) });
    const segs = segments(dir);
    expect(segs.length).toBe(2);
    const first = join(dir, segs[0]!);
    damage(first, at(3) + 3, statSync(first).size - at(3) - 3);
    const { spool, names } = await reopen(dir);
    expect(names).toEqual(['r0', 'r1', 'r2', 'r5', 'r6', 'r7', 'r8', 'r9']);
    expect(spool.stats().corrupt).toBe(2);
  });

  it('a torn last record (a crash in the middle of a write) is counted', async () => {
    const dir = await filled(4);
    const seg = join(dir, segments(dir)[0]!);
    truncateSync(seg, at(3) + 20);
    const { spool, names } = await reopen(dir);
    expect(names).toEqual(['r0', 'r1', 'r2']);
    expect(spool.stats().corrupt).toBe(1);
    // appends go on after the cut, and survive the next open
    await spool.append([Buffer.from('r4')]);
    await spool.close();
    const again = await reopen(dir);
    expect(again.names).toEqual(['r0', 'r1', 'r2', 'r4']);
    expect(again.spool.stats().corrupt).toBe(0);
  });
});

describe('the cursor', () => {
  it('is written to a file that is synced, renamed over the old one, and the folder synced', () => {
    const dir = fresh();
    const script = `
      import { Spool } from ${JSON.stringify(join(PROJECT_ROOT, 'src/sinks/spool.ts'))};
      const s = new Spool({ dir: ${JSON.stringify(dir)}, maxBytes: 1 << 20, segmentBytes: 1 << 20, fsync: 'never', fsyncIntervalMs: 1000 });
      await s.open();
      await s.append([Buffer.from('a'), Buffer.from('b')]);
      const { records, next } = await s.read(1);
      process.stderr.write('COMMIT\\n');
      await s.commit(next, records.length);
      process.stderr.write('DONE\\n');
      await s.close();`;
    const log = `${fresh()}-strace`;
    const r = spawnSync(
      'strace',
      [
        '-f',
        '-o',
        log,
        '-e',
        'trace=openat,fsync,fdatasync,rename,renameat,renameat2,write',
        process.execPath,
        '--input-type=module',
        '-e',
        script,
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const lines = readFileSync(log, 'utf8').split('\n');
    const from = lines.findIndex((l) => l.includes('"COMMIT\\n"'));
    const to = lines.findIndex((l) => l.includes('"DONE\\n"'));
    const commit = lines.slice(from, to);
    const tmpOpen = commit.find((l) => /openat\(.*cursor\.json\.tmp".*= \d+$/.test(l));
    expect(tmpOpen, commit.join('\n')).toBeDefined();
    const fd = /= (\d+)$/.exec(tmpOpen!)![1];
    const synced = commit.findIndex((l) => new RegExp(`f(data)?sync\\(${fd}\\)`).test(l));
    const renamed = commit.findIndex((l) => /rename.*cursor\.json\.tmp.*cursor\.json"/.test(l));
    expect(synced, commit.join('\n')).toBeGreaterThan(-1);
    expect(renamed).toBeGreaterThan(synced);
    const dirOpen = commit
      .slice(renamed)
      .find((l) => l.includes(`"${dir}"`) && /O_DIRECTORY|O_RDONLY/.test(l));
    expect(dirOpen, commit.join('\n')).toBeDefined();
    const dirFd = /= (\d+)$/.exec(dirOpen!)![1];
    expect(commit.slice(renamed).some((l) => new RegExp(`fsync\\(${dirFd}\\)`).test(l))).toBe(true);
  });
});

describe('the counts', () => {
  it('a commit moves records from pending to committed in one step: no reader sees one without the other', async () => {
    // appended by this open (its writer open, as in a daemon that spooled while NATS was away)
    const s = new Spool(options(fresh()));
    await s.open();
    for (let i = 0; i < 558; i++) await s.append([Buffer.from(`r${i}`)]);
    const { records, next } = await s.read(8192);
    expect(records).toHaveLength(558);
    const before = s.stats();
    // the cursor write (synced, so slow on a loaded disk) is still under way: the counts already agree
    const committing = s.commit(next, records.length);
    const during = s.stats();
    expect([during.pending, during.committed]).toEqual([0, before.committed + 558]);
    await committing;
    expect([s.stats().pending, s.stats().committed]).toEqual([0, before.committed + 558]);
    await s.close();
  });
});

describe('files and the folder', () => {
  it('are owner-only whatever the umask', async () => {
    const dir = fresh();
    const old = process.umask(0);
    try {
      const s = new Spool(options(dir));
      await s.open();
      await s.append([Buffer.from('x')]);
      const { records, next } = await s.read(10);
      await s.commit(next, records.length);
      await s.append([Buffer.from('y')]);
      await s.close();
    } finally {
      process.umask(old);
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
  });

  it('an existing folder open to others is closed to them', async () => {
    const dir = fresh();
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    const s = new Spool(options(dir));
    await s.open();
    await s.close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('a folder that is a symbolic link is refused', async () => {
    const target = fresh();
    mkdirSync(target);
    const dir = fresh();
    symlinkSync(target, dir);
    await expect(new Spool(options(dir)).open()).rejects.toBeInstanceOf(PrivateFileError);
    expect(readdirSync(target)).toEqual([]);
  });

  it('a segment or a cursor planted as a symbolic link is never followed', async () => {
    const victim = `${fresh()}-victim`;
    writeFileSync(victim, 'precious\n');
    const dir = fresh();
    mkdirSync(dir, { mode: 0o700 });
    symlinkSync(victim, join(dir, 'seg-0000000000000000.log'));
    symlinkSync(victim, join(dir, 'cursor.json.tmp'));
    const s = new Spool(options(dir));
    await expect(
      (async () => {
        await s.open();
        await s.append([Buffer.from('x')]);
        const { records, next } = await s.read(10);
        await s.commit(next, records.length);
      })(),
    ).rejects.toBeInstanceOf(PrivateFileError);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(join(dir, 'seg-0000000000000000.log')).isSymbolicLink()).toBe(true);
  });

  it('a folder owned by another user is refused', async () => {
    if (process.getuid?.() !== 0) {
      // only root can hand a folder to another user; as another user the folder is simply not ours
      const dir = '/';
      await expect(new Spool(options(dir)).open()).rejects.toBeInstanceOf(PrivateFileError);
      return;
    }
    const dir = fresh();
    mkdirSync(dir, { mode: 0o700 });
    execFileSync('chown', ['65534:65534', dir]);
    await expect(new Spool(options(dir)).open()).rejects.toBeInstanceOf(PrivateFileError);
    expect(existsSync(join(dir, 'cursor.json'))).toBe(false);
  });
});
