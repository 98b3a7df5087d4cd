import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/backoff.ts';

describe('Backoff', () => {
  it('doubles from the first wait up to the ceiling, and starts over after a reset', () => {
    const b = new Backoff(1000, 30_000);
    expect([1, 2, 3, 4, 5, 6, 7].map(() => b.next())).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
    expect(b.upcomingMs).toBe(30_000);
    b.reset();
    expect(b.upcomingMs).toBe(1000);
    expect(b.next()).toBe(1000);
  });

  it('a ceiling below the first wait keeps the first wait', () => {
    const b = new Backoff(500, 100);
    expect([b.next(), b.next()]).toEqual([500, 500]);
  });
});
