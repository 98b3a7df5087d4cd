import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatLine, matches } from '../../src/cli/commands/tail.ts';
import { toOcsf } from '../../src/events/ocsf.ts';
import { sampleEvents } from '../support/events.ts';
import { makeSink } from '../support/nats.ts';
import { NatsServer, stopAllServers } from '../support/nats-server.ts';
import { waitFor } from '../support/wait.ts';

const BIN = fileURLToPath(new URL('../../bin/bpfgate.js', import.meta.url));
afterAll(async () => stopAllServers());

describe('bpfgate tail', () => {
  it('formats one line per event, coloured only when asked', () => {
    const [e] = sampleEvents('web-1');
    const plain = formatLine(e as never, false);
    expect(plain).toContain('denied');
    expect(plain).toContain('baseline/no-exec');
    expect(plain).toContain('/usr/bin/nc');
    expect(plain).not.toContain('\x1b[');
    expect(formatLine(e as never, true)).toContain('\x1b[31m');
    expect(formatLine(toOcsf(e!) as never, false)).toContain('Process Activity: Launch');
    expect(matches(e as never, 'baseline', 'denied')).toBe(true);
    expect(matches(toOcsf(e!) as never, 'baseline', 'killed')).toBe(false);
  });

  it('prints live violations from NATS, filtered by outcome, without colour off a TTY', async () => {
    const server = await NatsServer.start();
    const child = spawn(process.execPath, [BIN, 'tail', '--nats', server.url, '--outcome', 'denied'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    try {
      const events = sampleEvents('tail-host');
      const sink = makeSink({ servers: [server.url], mode: 'core' }, 'tail-host');
      await sink.start();
      const denied = events.filter((e) => e.outcome === 'denied');
      // publish until tail is subscribed and has printed them
      await waitFor(
        async () => {
          for (const e of denied) sink.publish(e);
          await sink.idle(5000);
          return denied.every((e) => out.includes(`${e.policy.name}/${e.policy.rule}`));
        },
        20_000,
        'tail output',
      );
      for (const e of events.filter((x) => x.outcome !== 'denied')) sink.publish(e);
      await sink.idle(5000);
      await sink.stop();
      await new Promise((r) => setTimeout(r, 300));
      const lines = out.trim().split('\n');
      expect(lines.every((l) => l.includes(' denied '))).toBe(true);
      expect(out).not.toContain('\x1b[');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await server.dispose();
    }
  });
});
