// Reading a record's kind-specific fields (struct bg_event: op, arg[], path,
// aux). Pure.
import type { Numbered } from '../abi/numbers.ts';

/** A NUL-terminated (or full) byte buffer as UTF-8. */
export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, end < 0 ? bytes.length : end).toString('utf8');
}

/** An arg[] slot as an unsigned 32-bit number. */
export const u32 = (v: bigint | undefined): number => Number(BigInt.asUintN(32, v ?? 0n));

/** The name of a number in a table, or `prefix` and the number when the table has none (a newer kernel's). */
export function nameOr(table: Numbered<string>, value: number, prefix: string): string {
  return table.name(value) ?? `${prefix}${value}`;
}
