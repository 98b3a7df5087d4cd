// The last applied fleet policy set on disk, so that a daemon that cannot
// reach NATS at start enforces what it enforced before instead of nothing.
// One JSON file per bucket, replaced atomically (write, fsync, rename) after
// every successful apply, owner-only and never through a symbolic link
// (src/private-fs.ts). It holds the bucket's policy entries as read for that
// apply; selection by the host's labels is done again when it is used, and
// the sequences of the signed entries applied (./freshness.ts), so that a
// restarted host still refuses older entries and unsigned deletions.
import { join } from 'node:path';
import { ownFolder, readPrivate, replacePrivate } from '../private-fs.ts';
import type { KeySequence } from './freshness.ts';
import type { FleetEntry } from './select.ts';

export interface CachedSet {
  version: 1;
  bucket: string;
  host: string;
  labels: Record<string, string>;
  /** ISO time of the apply */
  savedAt: string;
  entries: FleetEntry[];
  /** per key, the sequence of the signed entry applied (absent in caches written before sequences) */
  sequences?: Record<string, KeySequence>;
}

export function cacheFile(dir: string, bucket: string): string {
  return join(dir, `${bucket}.json`);
}

export async function writeCache(dir: string, set: CachedSet): Promise<void> {
  await ownFolder(dir, 'fleet cache folder');
  await replacePrivate(dir, `${set.bucket}.json`, Buffer.from(`${JSON.stringify(set)}\n`));
}

function isEntry(e: unknown): e is FleetEntry {
  const x = e as FleetEntry;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.key === 'string' &&
    typeof x.text === 'string' &&
    Number.isInteger(x.revision)
  );
}

/** The cached set of a bucket; null when there is none. Throws when a cache file exists but is unreadable. */
export async function readCache(dir: string, bucket: string): Promise<CachedSet | null> {
  const file = cacheFile(dir, bucket);
  const buf = await readPrivate(file);
  if (!buf) return null;
  const set = JSON.parse(buf.toString('utf8')) as CachedSet;
  if (
    set?.version !== 1 ||
    set.bucket !== bucket ||
    !Array.isArray(set.entries) ||
    !set.entries.every(isEntry)
  )
    throw new Error(`${file} is not a bpfgate fleet cache of bucket ${bucket}`);
  return set;
}
