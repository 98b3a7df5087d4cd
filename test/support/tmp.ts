// Scratch folders for a test file: one parent under the system's temporary
// folder, removed after the file's tests; fresh() names a new child in it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** A parent scratch folder removed after the file's tests, and a namer of fresh (not yet created) children. */
export function scratch(prefix: string): { root: string; fresh: () => string } {
  const root = mkdtempSync(join(tmpdir(), `bpfgate-${prefix}-`));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return { root, fresh: () => join(root, `d${n++}`) };
}
