// Freshness of signed fleet entries (docs/fleet.md, "Signed policies"). A
// signature proves who wrote an entry, not that it is the latest one nor
// that the set is complete. Each signed entry carries a sequence bound to
// its key by the signature; a host keeps, per key, the sequence of the entry
// it last applied (and whether that entry was a live policy, a tombstone or
// the empty-set marker), and refuses:
//   - an entry older than the one it applied for that key (FLEET_REPLAY):
//     an older revision, an older tombstone, an older empty-set marker put
//     back by a writer of the bucket;
//   - a policy it applied that is gone from the bucket (FLEET_DELETED): a
//     deletion takes a signed tombstone (`bpfgate fleet push --delete`).
// Either way the running set stays. Pure: no I/O.
import type { Diagnostic } from '../errors.ts';
import { kvSourceName } from './select.ts';

/** The sequence of the entry a host applied for a key; live: a policy (not a tombstone or the marker). */
export interface KeySequence {
  seq: number;
  live: boolean;
}

export type Sequences = ReadonlyMap<string, KeySequence>;

/**
 * Check the signed entries of one read (key → sequence, revision) against
 * what was applied; `present`: every key the read found, signed or not.
 * Returns the errors and the sequences to keep once this read is applied.
 */
export function checkFreshness(
  bucket: string,
  read: ReadonlyMap<string, KeySequence & { revision: number }>,
  present: readonly string[],
  applied: Sequences,
): { diagnostics: Diagnostic[]; sequences: Map<string, KeySequence> } {
  const diagnostics: Diagnostic[] = [];
  const sequences = new Map(applied);
  for (const [key, r] of read) {
    const before = applied.get(key);
    if (before && r.seq < before.seq) {
      diagnostics.push({
        code: 'FLEET_REPLAY',
        message: `${key}: signed with sequence ${r.seq}, older than sequence ${before.seq} this host applied for it (an older entry put back?); the entry is refused and the running set stays`,
        severity: 'error',
        pos: { file: kvSourceName(bucket, key, r.revision), line: 1, column: 1 },
      });
      continue;
    }
    sequences.set(key, { seq: r.seq, live: r.live });
  }
  const found = new Set(present);
  for (const [key, before] of applied) {
    if (!before.live || found.has(key)) continue;
    diagnostics.push({
      code: 'FLEET_DELETED',
      message: `${key}: this host applies it (sequence ${before.seq}) and it is gone from the bucket without a signed deletion (bpfgate fleet push --delete); the running set stays`,
      severity: 'error',
      pos: { file: `kv://${bucket}/${key}`, line: 1, column: 1 },
    });
  }
  return { diagnostics, sequences };
}

/** Sequences as JSON (the fleet cache) and back; null when the value is not such a record. */
export function sequencesToJson(s: Sequences): Record<string, KeySequence> {
  return Object.fromEntries([...s].map(([k, v]) => [k, { seq: v.seq, live: v.live }]));
}

export function sequencesFromJson(v: unknown): Map<string, KeySequence> | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const out = new Map<string, KeySequence>();
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const e = x as Partial<KeySequence> | null;
    if (typeof e !== 'object' || e === null || !Number.isSafeInteger(e.seq) || typeof e.live !== 'boolean')
      return null;
    out.set(k, { seq: e.seq as number, live: e.live });
  }
  return out;
}
