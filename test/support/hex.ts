// Test helper: byte lists (with comments beside each field) to the plan's hex.
export function hex(...bytes: (number | number[])[]): string {
  return Buffer.from(bytes.flat()).toString('hex');
}

export function zeros(n: number): number[] {
  return new Array<number>(n).fill(0);
}

/** bytes of an ASCII string, zero-padded to `width` */
export function text(s: string, width: number): number[] {
  return [...Buffer.from(s), ...zeros(width - s.length)];
}
