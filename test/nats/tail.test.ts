// bpfgate tail: its line format, and the command itself printing live
// violations from NATS.
// NATS: the direct nats-server launcher (test/support/nats-server.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { formatLine, matches } from '../../src/cli/commands/tail.ts';
import { toOcsf } from '../../src/events/ocsf.ts';
import { Child } from '../support/child.ts';
import { sampleEvents } from '../support/events.ts';
import { makeSink } from '../support/nats.ts';
import { NatsServer, stopAllServers } from '../support/nats-server.ts';
import { BPFGATE } from '../support/paths.ts';
import { waitFor } from '../support/wait.ts';

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

  it('prints live violations from NATS, once each, filtered by outcome, without colour off a TTY', async () => {
    const server = await NatsServer.start();
    const tail = new Child([process.execPath, BPFGATE, 'tail', '--nats', server.url, '--outcome', 'denied']);
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
          return denied.every((e) => tail.stdout().includes(`${e.policy.name}/${e.policy.rule}`));
        },
        20_000,
        'tail output',
      );
      for (const e of events.filter((x) => x.outcome !== 'denied')) sink.publish(e);
      await sink.idle(5000);
      await sink.stop();
      await new Promise((r) => setTimeout(r, 300));
      const lines = tail.stdout().trim().split('\n');
      expect(lines.every((l) => l.includes(' denied '))).toBe(true);
      // published again and again until seen: each event is shown once (by id)
      expect(lines).toHaveLength(denied.length);
      expect(tail.stderr()).toContain(`bpfgate tail: watching bpfgate.v1.> on `);
      expect(tail.stdout()).not.toContain('\x1b[');
    } finally {
      await tail.stop('SIGTERM');
      await server.dispose();
    }
  });
});
