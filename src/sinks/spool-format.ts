// The spool's on-disk records (./spool.ts), and how damage is found. Pure: no I/O.
//
// A segment starts with the 8 bytes "bgspool2". A record: u32 LE payload
// length, u32 LE CRC-32 of the sequence number and the payload, u64 LE
// sequence number (one more than the record before it), the payload (the
// native event as JSON).
//
// Damage is found on open: a record whose CRC does not match is cut, the scan
// finds the next intact record (a plausible length and sequence number, and a
// matching CRC), and the gap in sequence numbers says exactly how many records
// were cut (also across segments, and before the cursor's first record). A
// damaged or torn tail of the last segment (a crash in the middle of a write)
// counts as at least one record, or as many as its lengths chain.
import { crc32 } from 'node:zlib';

export const SEGMENT_MAGIC = Buffer.from('bgspool2');
/** bytes at the start of every segment */
export const SEGMENT_HEADER = SEGMENT_MAGIC.length;
/** bytes before every record's payload */
export const RECORD_HEADER = 16;
export const SEG_RE = /^seg-(\d{16})\.log$/;
/** how far ahead of the expected sequence number a record found by the scan may be */
const SEQ_WINDOW = 1n << 32n;
const HEADER = RECORD_HEADER;

export const segName = (seq: number): string => `seg-${String(seq).padStart(16, '0')}.log`;

/** The record header for a payload and its sequence number. */
export function recordHeader(payload: Uint8Array, seq: bigint): Buffer {
  const h = Buffer.alloc(HEADER);
  h.writeUInt32LE(payload.length, 0);
  h.writeBigUInt64LE(seq, 8);
  h.writeUInt32LE(crc32(payload, crc32(h.subarray(8, 16))), 4);
  return h;
}

/** An intact record at `off`: its end and sequence number, or null. `expect`: the sequence number it should have. */
function recordAt(buf: Buffer, off: number, expect: bigint | null): { end: number; seq: bigint } | null {
  if (off + HEADER > buf.length) return null;
  const len = buf.readUInt32LE(off);
  if (len === 0 || off + HEADER + len > buf.length) return null;
  const seq = buf.readBigUInt64LE(off + 8);
  if (seq === 0n || (expect !== null && (seq < expect || seq - expect > SEQ_WINDOW))) return null;
  const sum = crc32(buf.subarray(off + HEADER, off + HEADER + len), crc32(buf.subarray(off + 8, off + 16)));
  return sum === buf.readUInt32LE(off + 4) ? { end: off + HEADER + len, seq } : null;
}

/** Records in damaged bytes at the end of a segment: as many as their lengths chain, at least one. */
function chained(buf: Buffer, off: number): number {
  let count = 0;
  while (off + HEADER <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len === 0 || off + HEADER + len > buf.length) break;
    off += HEADER + len;
    count++;
  }
  return Math.max(1, count + (off < buf.length ? 1 : 0));
}

/** The records in buf[a, b), a run of intact records. */
function countRecords(buf: Buffer, a: number, b: number): number {
  let n = 0;
  for (let off = a; off < b; n++) off += HEADER + buf.readUInt32LE(off);
  return n;
}

export interface Scanned {
  /** runs of intact records, [start, end) */
  keep: [number, number][];
  /** records were cut between runs (the segment must be rewritten) */
  holes: boolean;
  /** the end of the last intact record */
  tail: number;
  /** records in the damaged bytes after `tail` (counted for the last segment only) */
  tailCut: number;
  /** intact records */
  records: number;
  /** the sequence number after the last intact record */
  next: bigint | null;
}

/**
 * The intact records of a segment's bytes from `from` on. `cut(first, last)`
 * is called for every gap in sequence numbers; `expect`: the sequence number
 * of the next record (null: unknown).
 */
export function scanRecords(
  buf: Buffer,
  from: number,
  expect: bigint | null,
  cut: (first: bigint, last: bigint) => void,
): Scanned {
  const keep: [number, number][] = [];
  let off = Math.max(SEGMENT_HEADER, Math.min(from, buf.length));
  let holes = false;
  while (off + HEADER <= buf.length) {
    let r = recordAt(buf, off, expect);
    if (!r) {
      // damage: find the next intact record
      let next = off + 1;
      for (; next + HEADER <= buf.length; next++) {
        r = recordAt(buf, next, expect);
        if (r) break;
      }
      if (!r) break;
      holes = true;
      off = next;
    }
    if (expect !== null && r.seq > expect) cut(expect, r.seq - 1n);
    const prev = keep.at(-1);
    if (prev && prev[1] === off) prev[1] = r.end;
    else keep.push([off, r.end]);
    expect = r.seq + 1n;
    off = r.end;
  }
  const tail = keep.length > 0 ? keep.at(-1)![1] : Math.max(SEGMENT_HEADER, Math.min(from, buf.length));
  // damaged bytes after the last intact record: the next segment's first sequence number counts them;
  // the last segment's are counted by the caller (their sequence numbers are taken again by the next
  // appends: no gap is left to count twice)
  return {
    keep,
    holes,
    tail,
    tailCut: tail < buf.length ? chained(buf, tail) : 0,
    records: keep.reduce((n, [a, b]) => n + countRecords(buf, a, b), 0),
    next: expect,
  };
}
