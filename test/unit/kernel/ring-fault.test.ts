// The ring reader's fault switch (ringFault, native/src/ringbuf.c) is for
// tests only: no code of bpfgate calls it, so no setting, policy or network
// input can reach it. This fails as soon as anything under src/ or bin/ does.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../support/paths.ts';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|js)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

describe('the ring reader fault switch', () => {
  it('is declared by the binding and called by nothing in bpfgate', () => {
    const users = [...files(`${ROOT}src`), ...files(`${ROOT}bin`)].filter((f) =>
      readFileSync(f, 'utf8').includes('ringFault'),
    );
    expect(users.map((f) => f.slice(ROOT.length))).toEqual(['src/kernel/binding/native.ts']);
  });
});
