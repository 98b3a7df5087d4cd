// After a start or a reload the daemon collects its garbage and trims the C
// heap: the collection really frees what nothing holds (without Node's
// --expose-gc), and the trim is the addon's when it is there.
import { describe, expect, it } from 'vitest';
import { releaseMemory } from '../../../src/daemon/memory.ts';

describe('releaseMemory', () => {
  it('collects now what nothing holds, and trims the C heap', async () => {
    expect(typeof (globalThis as { gc?: unknown }).gc).not.toBe('function');
    let target: object | null = { big: new Array(1000).fill(1) };
    const ref = new WeakRef(target);
    target = null;
    // a macrotask: WeakRef targets are kept alive until the job that made them ends
    await new Promise((r) => setTimeout(r, 0));
    let trims = 0;
    expect(releaseMemory(() => ++trims > 0)).toBe(true);
    expect(trims).toBe(1);
    expect(ref.deref()).toBeUndefined();
  });

  it('a trim that fails (an addon without it) leaves the collection done', () => {
    expect(
      releaseMemory(() => {
        throw new TypeError('trimMemory is not a function');
      }),
    ).toBe(false);
  });
});
