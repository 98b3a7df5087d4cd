// A little-endian byte writer for map keys and values (natural alignment is
// the caller's business: every layout in bpf/lib/abi.h is written field by
// field, padding included).

export class ByteWriter {
  readonly buf: Buffer;
  private off = 0;

  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }

  u8(v: number): this {
    this.buf.writeUInt8(v, this.off);
    this.off += 1;
    return this;
  }

  u16(v: number): this {
    this.buf.writeUInt16LE(v, this.off);
    this.off += 2;
    return this;
  }

  u32(v: number): this {
    this.buf.writeUInt32LE(v >>> 0, this.off);
    this.off += 4;
    return this;
  }

  u64(v: bigint): this {
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.off);
    this.off += 8;
    return this;
  }

  /** `n` zero bytes */
  pad(n: number): this {
    this.off += n;
    return this;
  }

  /** raw bytes, zero-filled up to `width` */
  bytes(b: Uint8Array, width: number): this {
    if (b.length > width) throw new RangeError(`${b.length} bytes do not fit in ${width}`);
    this.buf.set(b, this.off);
    this.off += width;
    return this;
  }

  hex(): string {
    if (this.off !== this.buf.length) {
      throw new Error(`layout wrote ${this.off} of ${this.buf.length} bytes`);
    }
    return this.buf.toString('hex');
  }
}
