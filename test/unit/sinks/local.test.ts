// The local event socket: owner-only, every event to each connected reader
// as one JSON line, a stale socket replaced, anything else left alone.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { LocalSink } from '../../../src/sinks/local.ts';
import { sampleEvents } from '../../support/events.ts';

const quiet = { info() {}, warn() {} };

function reader(path: string): Promise<{ lines: string[]; close: () => void }> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    const c = createConnection(path);
    createInterface({ input: c }).on('line', (l) => lines.push(l));
    c.once('connect', () => resolve({ lines, close: () => c.destroy() }));
    c.once('error', reject);
  });
}

describe('LocalSink', () => {
  it('serves every event as a JSON line to each reader, on an owner-only socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfgate-local-'));
    const path = join(dir, 'run', 'events.sock');
    const sink = new LocalSink(path, quiet);
    await sink.start();
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'run')).mode & 0o777).toBe(0o700);
      const a = await reader(path);
      const b = await reader(path);
      await expect.poll(() => sink.clients).toBe(2);
      const events = sampleEvents('local');
      for (const e of events) sink.publish(e);
      await expect.poll(() => b.lines.length).toBe(events.length);
      expect(a.lines.map((l) => JSON.parse(l).id)).toEqual(events.map((e) => e.id));
      a.close();
      b.close();
    } finally {
      await sink.stop();
    }
    expect(() => statSync(path)).toThrow();
  });

  it('replaces a socket left by a daemon that is gone; leaves a live one and a plain file alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfgate-local-'));
    const stale = join(dir, 'stale.sock');
    // a process that listened there and exited: the socket file stays, nobody answers
    spawnSync(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(stale)}, () => process.exit(0))`,
    ]);
    expect(statSync(stale).isSocket()).toBe(true);
    const s1 = new LocalSink(stale, quiet);
    await s1.start();
    expect(s1.path).toBe(stale);

    const warnings: string[] = [];
    const s2 = new LocalSink(stale, { info() {}, warn: (_o, m) => warnings.push(m ?? '') });
    await s2.start(); // s1 answers there: s2 serves nothing
    expect(s2.path).toBeNull();
    expect(warnings[0]).toContain('is in use');
    await s1.stop();

    const file = join(dir, 'file');
    writeFileSync(file, 'not a socket');
    const s3 = new LocalSink(file, quiet);
    await s3.start();
    expect(s3.path).toBeNull();
    expect(statSync(file).isFile()).toBe(true);
  });

  it('a folder it cannot make is a warning, not a failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfgate-local-'));
    writeFileSync(join(dir, 'file'), '');
    const warnings: string[] = [];
    const s = new LocalSink(join(dir, 'file', 'events.sock'), {
      info() {},
      warn: (_o, m) => warnings.push(m ?? ''),
    });
    await s.start();
    expect(s.path).toBeNull();
    expect(warnings[0]).toMatch(/^no local event socket at .*file\/events\.sock: Error: E/);
    await s.stop();
  });
});
