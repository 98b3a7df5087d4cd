// The named executables' directories are watched: a binary replaced under a
// named path (an upgrade renaming a new file onto its name) asks for the
// identities again at once; other files of the directory do not.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExeWatch } from '../../../src/daemon/exe-watch.ts';
import { scratch } from '../../support/tmp.ts';
import { sleep, waitFor } from '../../support/wait.ts';

const { fresh } = scratch('exe-watch');

describe('ExeWatch', () => {
  let w: ExeWatch | undefined;
  afterEach(() => w?.stop());

  it('a named file replaced by a rename asks once for the burst; another file of the directory does not ask', async () => {
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(join(dir, 'tool'), 'v1');
    writeFileSync(join(dir, 'other'), 'x');
    let calls = 0;
    w = new ExeWatch(() => calls++, 50);
    w.set([join(dir, 'tool'), '/nonexistent-dir/x']);
    expect(w.watched).toEqual([dir]);

    writeFileSync(join(dir, 'other'), 'y');
    await sleep(200);
    expect(calls).toBe(0);

    // what dpkg does: write the new file beside, rename it onto the name
    writeFileSync(join(dir, 'tool.dpkg-new'), 'v2');
    renameSync(join(dir, 'tool.dpkg-new'), join(dir, 'tool'));
    await waitFor(() => calls === 1, 5000, 'the identities asked for again');
    await sleep(200);
    expect(calls).toBe(1);
  });

  it('follows the named set: a directory no longer named is let go', () => {
    const a = fresh();
    const b = fresh();
    mkdirSync(a);
    mkdirSync(b);
    w = new ExeWatch(() => {}, 50);
    w.set([join(a, 'x'), join(b, 'y')]);
    expect(w.watched).toEqual([a, b].sort());
    w.set([join(b, 'y')]);
    expect(w.watched).toEqual([b]);
    w.stop();
    expect(w.watched).toEqual([]);
  });
});
