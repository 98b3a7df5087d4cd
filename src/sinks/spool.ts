// A bounded, append-only, on-disk spool of events waiting for NATS.
//
// Layout of the spool directory (owner-only: the folder 0700, files 0600; a
// folder or file that is a symbolic link, or a folder of another user, is
// refused, never followed):
//   seg-<16 digits>.log   segments, written in order, each at most segmentBytes
//                         (a record larger than that gets a segment of its own)
//   cursor.json           {"segment", "offset", "seq"}: the first record not yet
//                         acknowledged and its sequence number; written to a new
//                         file, synced, renamed over the old one, and the folder
//                         synced
// The records, and how damage is found and counted on open: ./spool-format.ts.
// Every record cut is counted (stats().corrupt); the sink reports them as
// lost. A segment with records cut from its middle is rewritten without them.
//
// Bounded: when the bytes not yet acknowledged would exceed maxBytes, an
// append is refused and counted (drop newest: what is already spooled, the
// start of an incident, is kept whole and in order).
//
// fsync: 'always' after each append call, 'interval' at most every
// fsyncIntervalMs while there are unsynced appends, 'never' leaves it to the
// kernel. A killed daemon loses nothing either way (written data is in the
// page cache); fsync only matters when the machine itself goes down. The
// cursor is always synced: a cursor lost to a power cut would replay, or skip,
// what it had moved past.
//
// Not safe for concurrent use: one owner (the sink's pump) calls it in turn.
import { type FileHandle, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  APPEND,
  CREATE,
  openPrivate,
  ownFolder,
  READ,
  readPrivate,
  replacePrivate,
  WRITE,
} from '../private-fs.ts';
import type { FsyncPolicy } from './options.ts';
import {
  RECORD_HEADER as HEADER,
  recordHeader,
  SEG_RE,
  SEGMENT_HEADER,
  SEGMENT_MAGIC,
  scanRecords,
  segName,
} from './spool-format.ts';

const READ_CHUNK = 256 * 1024;

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  segmentBytes: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
}

export interface SpoolPosition {
  segment: number;
  offset: number;
}

export interface SpoolStats {
  /** records appended (since open) */
  appended: number;
  /** records acknowledged and released */
  committed: number;
  /** records refused because the spool was full */
  dropped: number;
  /** records cut on open because they were damaged or torn */
  corrupt: number;
  /** records waiting */
  pending: number;
  /** bytes waiting (headers included) */
  bytes: number;
  segments: number;
}

interface Segment {
  seq: number;
  size: number;
  /** records in this segment at or after the cursor */
  records: number;
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  return bytesRead === length ? buf : buf.subarray(0, bytesRead);
}

export class Spool {
  /** bytes at the start of every segment */
  static readonly SEGMENT_HEADER = SEGMENT_HEADER;
  /** bytes before every record's payload */
  static readonly RECORD_HEADER = HEADER;
  readonly #o: SpoolOptions;
  #segments: Segment[] = [];
  #cursor: SpoolPosition = { segment: 0, offset: SEGMENT_HEADER };
  /** the sequence number of the record at the cursor */
  #cursorSeq = 1n;
  /** the sequence number of the next record appended */
  #nextSeq = 1n;
  /** sequence numbers of records already counted as cut (kept in the cursor: a gap is counted once) */
  #cut: [bigint, bigint][] = [];
  #cutChanged = false;
  /** the cursor file said which sequence number comes next (else the first record's is taken as it is) */
  #cursorKnown = false;
  #writer: FileHandle | undefined;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #opened = false;
  #stats = { appended: 0, committed: 0, dropped: 0, corrupt: 0 };

  constructor(options: SpoolOptions) {
    this.#o = options;
  }

  async open(): Promise<void> {
    if (this.#opened) return;
    await ownFolder(this.#o.dir, 'spool folder');
    const names = (await readdir(this.#o.dir)).filter((n) => SEG_RE.test(n)).sort();
    await this.#readCursor();
    let expect: bigint | null = this.#cursorKnown ? this.#cursorSeq : null;
    const live = names.map((n) => Number(SEG_RE.exec(n)![1])).filter((seq) => seq >= this.#cursor.segment);
    for (const n of names) {
      const seq = Number(SEG_RE.exec(n)![1]);
      if (seq < this.#cursor.segment) await rm(join(this.#o.dir, n), { force: true });
    }
    for (const seq of live) {
      const from = seq === this.#cursor.segment ? this.#cursor.offset : SEGMENT_HEADER;
      const last = seq === live.at(-1);
      const r = await this.#scan(seq, from, expect, last);
      expect = r.expect;
      this.#segments.push({ seq, size: r.end, records: r.records });
    }
    this.#nextSeq = expect ?? this.#cursorSeq;
    if (this.#cutChanged) await this.#writeCursor();
    const first = this.#segments[0];
    if (first && first.seq !== this.#cursor.segment)
      this.#cursor = { segment: first.seq, offset: SEGMENT_HEADER };
    if (!first) this.#cursor = { segment: this.#cursor.segment, offset: SEGMENT_HEADER };
    if (this.#o.fsync === 'interval') {
      this.#timer = setInterval(() => void this.sync(), this.#o.fsyncIntervalMs);
      this.#timer.unref();
    }
    this.#opened = true;
  }

  async #readCursor(): Promise<void> {
    const buf = await readPrivate(join(this.#o.dir, 'cursor.json'));
    if (!buf) return; // no cursor yet
    const text = buf.toString('utf8');
    try {
      const c = JSON.parse(text) as SpoolPosition & { seq?: string; cut?: [string, string][] };
      if (Number.isInteger(c.segment) && Number.isInteger(c.offset) && c.offset >= SEGMENT_HEADER)
        this.#cursor = { segment: c.segment, offset: c.offset };
      const num = (v: unknown) => (typeof v === 'string' && /^[1-9][0-9]{0,19}$/.test(v) ? BigInt(v) : null);
      const seq = num(c.seq);
      if (seq !== null) {
        this.#cursorSeq = seq;
        this.#cursorKnown = true;
      }
      for (const [a, b] of Array.isArray(c.cut) ? c.cut : []) {
        const from = num(a);
        const to = num(b);
        if (from !== null && to !== null && from <= to) this.#cut.push([from, to]);
      }
    } catch {
      // a cursor that does not parse: start at the first segment (what it had passed is replayed; duplicates are dropped by id)
    }
  }

  /**
   * The intact records of a segment from `from` on: every record cut is
   * counted; a segment with records cut from its middle is rewritten without
   * them, a damaged tail is truncated. `expect`: the sequence number of the
   * next record (null: unknown); returns the one after the segment's last.
   */
  async #scan(
    seq: number,
    from: number,
    expect: bigint | null,
    last: boolean,
  ): Promise<{ end: number; records: number; expect: bigint | null }> {
    const name = segName(seq);
    const buf = (await readPrivate(join(this.#o.dir, name))) ?? Buffer.alloc(0);
    const { keep, holes, tail, tailCut, records, next } = scanRecords(buf, from, expect, (a, b) =>
      this.#countCut(a, b),
    );
    expect = next;
    if (last) this.#stats.corrupt += tailCut;
    const prefix = Math.max(SEGMENT_HEADER, Math.min(from, buf.length));
    if (holes || (keep[0] && keep[0][0] !== prefix)) {
      const parts = [buf.subarray(0, prefix), ...keep.map(([a, b]) => buf.subarray(a, b))];
      const out = Buffer.concat(parts);
      out.set(SEGMENT_MAGIC, 0);
      await replacePrivate(this.#o.dir, name, out);
      return { end: out.length, records, expect };
    }
    if (tail < buf.length || buf.length < SEGMENT_HEADER) {
      const fh = await openPrivate(join(this.#o.dir, name), WRITE);
      try {
        if (buf.length < SEGMENT_HEADER) await fh.write(SEGMENT_MAGIC, 0, SEGMENT_HEADER, 0);
        await fh.truncate(Math.max(tail, SEGMENT_HEADER));
      } finally {
        await fh.close();
      }
    }
    return { end: Math.max(tail, SEGMENT_HEADER), records, expect };
  }

  /** Records first..last were cut: counted, unless an earlier open counted them. */
  #countCut(first: bigint, last: bigint): void {
    if (this.#cut.some(([a, b]) => a <= first && last <= b)) return;
    this.#stats.corrupt += Number(last - first + 1n);
    this.#cut.push([first, last]);
    this.#cutChanged = true;
  }

  async #writeCursor(): Promise<void> {
    this.#cut = this.#cut.filter(([, b]) => b >= this.#cursorSeq);
    const c = {
      ...this.#cursor,
      seq: this.#cursorSeq.toString(),
      ...(this.#cut.length > 0 ? { cut: this.#cut.map(([a, b]) => [a.toString(), b.toString()]) } : {}),
    };
    await replacePrivate(this.#o.dir, 'cursor.json', Buffer.from(JSON.stringify(c)));
    this.#cutChanged = false;
  }

  get pending(): number {
    let n = 0;
    for (const s of this.#segments) n += s.records;
    return n;
  }

  get bytes(): number {
    let n = 0;
    for (const s of this.#segments)
      n += s.size - (s.seq === this.#cursor.segment ? this.#cursor.offset : SEGMENT_HEADER);
    return n;
  }

  stats(): SpoolStats {
    return { ...this.#stats, pending: this.pending, bytes: this.bytes, segments: this.#segments.length };
  }

  /** Append payloads in order. Returns how many were stored; the rest (the newest) were dropped and counted. */
  async append(payloads: Uint8Array[]): Promise<number> {
    if (!this.#opened) throw new Error('spool not open');
    let used = this.bytes;
    const chunks: Buffer[] = [];
    let stored = 0;
    for (const p of payloads) {
      const need = HEADER + p.length;
      if (used + need > this.#o.maxBytes) {
        this.#stats.dropped += payloads.length - stored;
        break;
      }
      await this.#ensureWriter(need, chunks);
      chunks.push(recordHeader(p, this.#nextSeq++), Buffer.from(p.buffer, p.byteOffset, p.length));
      const last = this.#segments[this.#segments.length - 1]!;
      last.size += need;
      last.records += 1;
      used += need;
      stored++;
    }
    await this.#flushChunks(chunks);
    this.#stats.appended += stored;
    if (stored > 0) {
      this.#dirty = true;
      if (this.#o.fsync === 'always') await this.sync();
    }
    return stored;
  }

  async #flushChunks(chunks: Buffer[]): Promise<void> {
    if (chunks.length === 0 || !this.#writer) return;
    await this.#writer.write(Buffer.concat(chunks));
    chunks.length = 0;
  }

  /** Make sure the last segment is open for writing and has room for `need` bytes. */
  async #ensureWriter(need: number, chunks: Buffer[]): Promise<void> {
    const last = this.#segments[this.#segments.length - 1];
    const fits = (s: Segment) => s.size === SEGMENT_HEADER || s.size + need <= this.#o.segmentBytes;
    if (last && this.#writer && fits(last)) return;
    if (last && !this.#writer && last.size + need <= this.#o.segmentBytes) {
      this.#writer = await openPrivate(join(this.#o.dir, segName(last.seq)), APPEND);
      return;
    }
    await this.#flushChunks(chunks);
    if (this.#writer) {
      if (this.#o.fsync !== 'never') await this.#writer.sync();
      await this.#writer.close();
    }
    const seq = last ? last.seq + 1 : this.#cursor.segment;
    this.#writer = await openPrivate(join(this.#o.dir, segName(seq)), APPEND | CREATE);
    chunks.push(SEGMENT_MAGIC);
    this.#segments.push({ seq, size: SEGMENT_HEADER, records: 0 });
    if (!last) {
      this.#cursor = { segment: seq, offset: SEGMENT_HEADER };
      this.#cursorSeq = this.#nextSeq;
    }
  }

  /** Up to `max` records from the cursor, in order, and the position after them (for commit). */
  async read(max: number): Promise<{ records: Buffer[]; next: SpoolPosition }> {
    const records: Buffer[] = [];
    let pos = { ...this.#cursor };
    for (const seg of this.#segments) {
      if (records.length >= max) break;
      if (seg.seq < pos.segment) continue;
      if (seg.seq > pos.segment) pos = { segment: seg.seq, offset: SEGMENT_HEADER };
      if (pos.offset >= seg.size) continue;
      const fh = await openPrivate(join(this.#o.dir, segName(seg.seq)), READ);
      try {
        while (records.length < max && pos.offset < seg.size) {
          let buf = await readAt(fh, pos.offset, Math.min(seg.size - pos.offset, READ_CHUNK));
          let off = 0;
          while (records.length < max && off + HEADER <= buf.length) {
            const len = buf.readUInt32LE(off);
            if (off + HEADER + len > buf.length) break;
            records.push(Buffer.from(buf.subarray(off + HEADER, off + HEADER + len)));
            off += HEADER + len;
          }
          if (off === 0) {
            // one record larger than a chunk
            const len = buf.readUInt32LE(0);
            buf = await readAt(fh, pos.offset, HEADER + len);
            records.push(Buffer.from(buf.subarray(HEADER)));
            off = HEADER + len;
          }
          pos = { segment: seg.seq, offset: pos.offset + off };
        }
      } finally {
        await fh.close();
      }
    }
    return { records, next: pos };
  }

  /**
   * Release everything before `pos` (records acknowledged by NATS), in
   * `count` records. The cursor is written (and synced) before any segment
   * is removed: a crash in between leaves segments the next open removes,
   * never a cursor that points into a removed one.
   */
  async commit(pos: SpoolPosition, count: number): Promise<void> {
    let left = count;
    const done: number[] = [];
    while (this.#segments.length > 0) {
      const first = this.#segments[0]!;
      if (first.seq < pos.segment) {
        left -= first.records;
        this.#segments.shift();
        done.push(first.seq);
        continue;
      }
      if (first.seq === pos.segment) first.records -= left;
      break;
    }
    this.#cursor = { ...pos };
    this.#cursorSeq += BigInt(count);
    this.#cursorKnown = true;
    // with `pending`, before any await: a reader of stats() sees both or neither
    this.#stats.committed += count;
    const last = this.#segments[this.#segments.length - 1];
    if (last && last.records === 0 && last.size <= pos.offset && last.seq === pos.segment) {
      // everything acknowledged: start a fresh segment on the next append
      if (this.#writer) {
        await this.#writer.close();
        this.#writer = undefined;
      }
      this.#segments = [];
      done.push(last.seq);
      this.#cursor = { segment: last.seq + 1, offset: SEGMENT_HEADER };
    }
    await this.#writeCursor();
    for (const seq of done) await rm(join(this.#o.dir, segName(seq)), { force: true });
  }

  async sync(): Promise<void> {
    if (!this.#dirty || !this.#writer) return;
    this.#dirty = false;
    try {
      await this.#writer.sync();
    } catch {
      // closed meanwhile: the next append reopens
    }
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#writer) {
      if (this.#o.fsync !== 'never') await this.#writer.sync();
      await this.#writer.close();
      this.#writer = undefined;
    }
    this.#opened = false;
    this.#segments = [];
  }

  /** Size on disk of the spool directory's segments (for tests and status). */
  async diskBytes(): Promise<number> {
    let n = 0;
    for (const s of this.#segments) n += (await stat(join(this.#o.dir, segName(s.seq)))).size;
    return n;
  }
}
