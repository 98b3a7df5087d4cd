// The fleet's policy cache holds what a host enforces when NATS is away: it is
// owner-only whatever the umask, replaced atomically, and never reached
// through a symbolic link (a link planted where the cache goes would turn the
// root daemon's write into a write anywhere).
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CachedSet, cacheFile, readCache, writeCache } from '../../../src/fleet/cache.ts';
import { PrivateFileError } from '../../../src/private-fs.ts';
import { scratch } from '../../support/tmp.ts';

const { fresh } = scratch('cache');

const set: CachedSet = {
  version: 1,
  bucket: 'b',
  host: 'h',
  labels: {},
  savedAt: '2026-01-01T00:00:00.000Z',
  entries: [{ key: 'policies.x', revision: 3, text: 'x' }],
};

describe('the fleet cache', () => {
  it('is owner-only whatever the umask, and reads back', async () => {
    const dir = fresh();
    const old = process.umask(0);
    try {
      await writeCache(dir, set);
      await writeCache(dir, set);
    } finally {
      process.umask(old);
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir)).toEqual(['b.json']);
    expect(statSync(cacheFile(dir, 'b')).mode & 0o777).toBe(0o600);
    expect(await readCache(dir, 'b')).toEqual(set);
  });

  it('never writes through a link planted where its file or its temporary file goes', async () => {
    const victim = `${fresh()}-victim`;
    writeFileSync(victim, 'precious\n');
    const dir = fresh();
    mkdirSync(dir, { mode: 0o700 });
    symlinkSync(victim, join(dir, 'b.json.tmp'));
    symlinkSync(victim, join(dir, `b.json.${process.pid}.tmp`));
    symlinkSync(victim, join(dir, 'b.json'));
    await writeCache(dir, set);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(join(dir, 'b.json')).isSymbolicLink()).toBe(false);
  });

  it('refuses to read its file through a link, and a folder that is a link', async () => {
    const victim = `${fresh()}-victim`;
    writeFileSync(victim, JSON.stringify(set));
    const dir = fresh();
    mkdirSync(dir, { mode: 0o700 });
    symlinkSync(victim, join(dir, 'b.json'));
    await expect(readCache(dir, 'b')).rejects.toBeInstanceOf(PrivateFileError);
    const link = fresh();
    symlinkSync(dir, link);
    await expect(writeCache(link, set)).rejects.toBeInstanceOf(PrivateFileError);
  });
});
