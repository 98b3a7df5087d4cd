// The last applied fleet policy set on disk, so that a daemon that cannot
// reach NATS at start enforces what it enforced before instead of nothing.
// One JSON file per bucket, replaced atomically (write, fsync, rename) after
// every successful apply. It holds the bucket's policy entries as read for
// that apply; selection by the host's labels is done again when it is used.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { FleetEntry } from './select.ts';

export interface CachedSet {
  version: 1;
  bucket: string;
  host: string;
  labels: Record<string, string>;
  /** ISO time of the apply */
  savedAt: string;
  entries: FleetEntry[];
}

export function cacheFile(dir: string, bucket: string): string {
  return join(dir, `${bucket}.json`);
}

export async function writeCache(dir: string, set: CachedSet): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = cacheFile(dir, set.bucket);
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(set)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
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
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const set = JSON.parse(text) as CachedSet;
  if (
    set?.version !== 1 ||
    set.bucket !== bucket ||
    !Array.isArray(set.entries) ||
    !set.entries.every(isEntry)
  )
    throw new Error(`${file} is not a bpfgate fleet cache of bucket ${bucket}`);
  return set;
}
