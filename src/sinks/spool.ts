// A bounded, append-only, on-disk spool of events waiting for NATS.
//
// Layout of the spool directory:
//   seg-<16 digits>.log   segments, written in order, each at most segmentBytes
//                         (a record larger than that gets a segment of its own)
//   cursor.json           {"segment": n, "offset": bytes}: the first record not yet
//                         acknowledged; replaced atomically (write + rename)
// A record: u32 LE payload length, u32 LE CRC-32 of the payload, the payload
// (the native event as JSON). On open, a torn record at the end of the last
// segment (a crash mid-write) is cut off; a record whose CRC does not match
// ends its segment (counted as corrupt).
//
// Bounded: when the bytes not yet acknowledged would exceed maxBytes, an
// append is refused and counted (drop newest: what is already spooled, the
// start of an incident, is kept whole and in order).
//
// fsync: 'always' after each append call, 'interval' at most every
// fsyncIntervalMs while there are unsynced appends, 'never' leaves it to the
// kernel. A killed daemon loses nothing either way (written data is in the
// page cache); fsync only matters when the machine itself goes down.
//
// Not safe for concurrent use: one owner (the sink's pump) calls it in turn.
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { FsyncPolicy } from './options.ts';

const HEADER = 8;
const READ_CHUNK = 256 * 1024;
const SEG_RE = /^seg-(\d{16})\.log$/;

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
  /** records skipped on open because their CRC did not match */
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

const segName = (seq: number): string => `seg-${String(seq).padStart(16, '0')}.log`;

export class Spool {
  readonly #o: SpoolOptions;
  #segments: Segment[] = [];
  #cursor: SpoolPosition = { segment: 0, offset: 0 };
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
    await mkdir(this.#o.dir, { recursive: true });
    const names = (await readdir(this.#o.dir)).filter((n) => SEG_RE.test(n)).sort();
    try {
      const c = JSON.parse(await readFile(join(this.#o.dir, 'cursor.json'), 'utf8')) as SpoolPosition;
      if (Number.isInteger(c.segment) && Number.isInteger(c.offset)) this.#cursor = c;
    } catch {
      // no cursor yet: start at the first segment
      this.#cursor = { segment: 0, offset: 0 };
    }
    for (const n of names) {
      const seq = Number(SEG_RE.exec(n)![1]);
      if (seq < this.#cursor.segment) {
        await rm(join(this.#o.dir, n), { force: true });
        continue;
      }
      const from = seq === this.#cursor.segment ? this.#cursor.offset : 0;
      const { end, records } = await this.#scan(seq, from);
      this.#segments.push({ seq, size: end, records });
    }
    const first = this.#segments[0];
    if (first && first.seq !== this.#cursor.segment) this.#cursor = { segment: first.seq, offset: 0 };
    if (!first) this.#cursor = { segment: this.#cursor.segment, offset: 0 };
    if (this.#o.fsync === 'interval') {
      this.#timer = setInterval(() => void this.sync(), this.#o.fsyncIntervalMs);
      this.#timer.unref();
    }
    this.#opened = true;
  }

  /** Count the valid records of a segment from `from`; cut a torn or corrupt tail. */
  async #scan(seq: number, from: number): Promise<{ end: number; records: number }> {
    const path = join(this.#o.dir, segName(seq));
    const buf = await readFile(path);
    let off = Math.min(from, buf.length);
    let records = 0;
    while (off + HEADER <= buf.length) {
      const len = buf.readUInt32LE(off);
      const sum = buf.readUInt32LE(off + 4);
      if (off + HEADER + len > buf.length) break;
      if (crc32(buf.subarray(off + HEADER, off + HEADER + len)) !== sum) {
        this.#stats.corrupt += 1;
        break;
      }
      off += HEADER + len;
      records++;
    }
    if (off < buf.length) {
      const fh = await open(path, 'r+');
      await fh.truncate(off);
      await fh.close();
    }
    return { end: off, records };
  }

  get pending(): number {
    let n = 0;
    for (const s of this.#segments) n += s.records;
    return n;
  }

  get bytes(): number {
    let n = 0;
    for (const s of this.#segments) n += s.size - (s.seq === this.#cursor.segment ? this.#cursor.offset : 0);
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
      const h = Buffer.alloc(HEADER);
      h.writeUInt32LE(p.length, 0);
      h.writeUInt32LE(crc32(p), 4);
      chunks.push(h, Buffer.from(p.buffer, p.byteOffset, p.length));
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
    if (last && this.#writer && (last.size === 0 || last.size + need <= this.#o.segmentBytes)) return;
    if (last && !this.#writer && last.size + need <= this.#o.segmentBytes) {
      this.#writer = await open(join(this.#o.dir, segName(last.seq)), 'a');
      return;
    }
    await this.#flushChunks(chunks);
    if (this.#writer) {
      if (this.#o.fsync !== 'never') await this.#writer.sync();
      await this.#writer.close();
    }
    const seq = last ? last.seq + 1 : this.#cursor.segment;
    this.#writer = await open(join(this.#o.dir, segName(seq)), 'a');
    this.#segments.push({ seq, size: 0, records: 0 });
    if (!last) this.#cursor = { segment: seq, offset: 0 };
  }

  /** Up to `max` records from the cursor, in order, and the position after them (for commit). */
  async read(max: number): Promise<{ records: Buffer[]; next: SpoolPosition }> {
    const records: Buffer[] = [];
    let pos = { ...this.#cursor };
    for (const seg of this.#segments) {
      if (records.length >= max) break;
      if (seg.seq < pos.segment) continue;
      if (seg.seq > pos.segment) pos = { segment: seg.seq, offset: 0 };
      if (pos.offset >= seg.size) continue;
      const fh = await open(join(this.#o.dir, segName(seg.seq)), 'r');
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

  /** Release everything before `pos` (records acknowledged by NATS), in `count` records. */
  async commit(pos: SpoolPosition, count: number): Promise<void> {
    let left = count;
    while (this.#segments.length > 0) {
      const first = this.#segments[0]!;
      if (first.seq < pos.segment) {
        left -= first.records;
        this.#segments.shift();
        await rm(join(this.#o.dir, segName(first.seq)), { force: true });
        continue;
      }
      if (first.seq === pos.segment) first.records -= left;
      break;
    }
    this.#cursor = { ...pos };
    const last = this.#segments[this.#segments.length - 1];
    if (last && last.records === 0 && last.size <= pos.offset && last.seq === pos.segment) {
      // everything acknowledged: start a fresh segment on the next append
      if (this.#writer) {
        await this.#writer.close();
        this.#writer = undefined;
      }
      this.#segments = [];
      await rm(join(this.#o.dir, segName(last.seq)), { force: true });
      this.#cursor = { segment: last.seq + 1, offset: 0 };
    }
    this.#stats.committed += count;
    const tmp = join(this.#o.dir, 'cursor.json.tmp');
    await writeFile(tmp, JSON.stringify(this.#cursor));
    await rename(tmp, join(this.#o.dir, 'cursor.json'));
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
