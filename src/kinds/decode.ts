// Reading a record's kind-specific fields (struct bg_event: op, arg[], path,
// aux). Pure.

/** A NUL-terminated (or full) byte buffer as UTF-8. */
export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, end < 0 ? bytes.length : end).toString('utf8');
}

/** An arg[] slot as an unsigned 32-bit number. */
export const u32 = (v: bigint | undefined): number => Number(BigInt.asUintN(32, v ?? 0n));
