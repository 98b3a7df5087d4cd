// The child-process launcher under every test daemon (test/support/child.ts,
// test/support/daemon.ts): output from pipes and from files, waiting on it,
// stopping with a signal and killing after a deadline. Small node children
// only: no privileges, no kernel.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Child, runCommand } from '../../support/child.ts';
import { DaemonProcess } from '../../support/daemon.ts';

const dir = mkdtempSync(join(tmpdir(), 'bpfgate-child-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** node -e SCRIPT */
const node = (script: string): string[] => [process.execPath, '-e', script];
const TICKING = `let i = 0; setInterval(() => { console.log(JSON.stringify({ n: i++ })); console.error('tick ' + i); }, 20);`;

describe('Child', () => {
  it('keeps stdout and stderr from pipes as complete lines, and waits on them', async () => {
    const c = new Child(node(TICKING));
    const n = await c.until(() => c.stdoutLines().find((l) => l === '{"n":3}'), 'the fourth line');
    expect(n).toBe('{"n":3}');
    expect(c.stdoutLines().slice(0, 4)).toEqual(['{"n":0}', '{"n":1}', '{"n":2}', '{"n":3}']);
    expect(c.stderr()).toContain('tick 1\n');
    expect(await c.stop('SIGTERM')).toEqual({ code: null, signal: 'SIGTERM' });
    expect(c.running).toBe(false);
  });

  it('reads output written to files (a parent that blocks must not block its child on a pipe)', async () => {
    const out = join(dir, 'out');
    const err = join(dir, 'err');
    const c = new Child(node(TICKING), { stdout: { file: out }, stderr: { file: err } });
    expect(c.child.stdout).toBeNull();
    await c.until(() => (c.stdoutLines().length >= 3 ? true : undefined), 'three lines from the file');
    expect(c.stdoutLines()[2]).toBe('{"n":2}');
    await c.kill();
    expect(c.stderr()).toMatch(/^tick 1\ntick 2\n/);
  });

  it('rejects a wait when the child exits first, naming the exit and its stderr', async () => {
    const c = new Child(node(`console.error('going away'); process.exit(7)`));
    await expect(c.until(() => undefined, 'something')).rejects.toThrow(
      /exited \(\{"code":7,"signal":null\}\) before something:\ngoing away/,
    );
  });

  it('kills after the deadline a child that ignores the stop signal', async () => {
    const c = new Child(
      node(`process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)`),
    );
    await c.until(() => c.stdoutLines()[0], 'ready');
    const t0 = Date.now();
    expect(await c.stop('SIGTERM', 300)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });
});

describe('runCommand', () => {
  it('returns a failing exit as a result', async () => {
    expect(
      await runCommand(node(`process.stdout.write('o'); process.stderr.write('e'); process.exit(3)`)),
    ).toEqual({
      code: 3,
      signal: null,
      stdout: 'o',
      stderr: 'e',
    });
  });
});

describe('DaemonProcess', () => {
  it("start() rejects with the CLI's own error when `bpfgate run` refuses its flags", async () => {
    const failed = DaemonProcess.start(['--no-such-flag']);
    await expect(failed).rejects.toThrow(
      /exited \(\{"code":2,"signal":null\}\) before the start-up record \(ready: true\)/,
    );
    await expect(failed).rejects.toThrow(/no-such-flag/);
  });
});
