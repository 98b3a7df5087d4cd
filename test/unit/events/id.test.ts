import { describe, expect, it } from 'vitest';
import { ID_PATTERN, IdGenerator, idTime } from '../../../src/events/id.ts';

describe('IdGenerator', () => {
  it('makes unique ids that sort in creation order, within and across milliseconds', () => {
    let now = 1_764_000_000_000;
    const g = new IdGenerator({ now: () => now });
    const ids: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      if (i % 5000 === 0) now += 1;
      ids.push(g.next());
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids.slice(0, 10)) expect(id).toMatch(new RegExp(ID_PATTERN));
  });

  it('encodes the millisecond and stays monotonic when the clock steps back', () => {
    let now = 1_764_000_000_000;
    const g = new IdGenerator({ now: () => now });
    const a = g.next();
    expect(idTime(a)).toBe(now);
    now -= 5000;
    const b = g.next();
    expect(b > a).toBe(true);
  });

  it('carries into the next millisecond when the random part overflows', () => {
    const g = new IdGenerator({ now: () => 1000, random: (n) => new Uint8Array(n).fill(255) });
    const a = g.next();
    const b = g.next();
    expect(b > a).toBe(true);
    expect(idTime(b)).toBe(1001);
  });

  it('two generators (two hosts) do not collide', () => {
    const a = new IdGenerator();
    const b = new IdGenerator();
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      ids.add(a.next());
      ids.add(b.next());
    }
    expect(ids.size).toBe(2000);
  });
});
