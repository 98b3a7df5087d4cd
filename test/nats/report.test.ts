// bpfgate report against a real nats-server: events published by the sink to
// a JetStream stream are read back once (ordered consumer) and summarised,
// through the summariser and through the command itself; bpfgate learn reads
// the same stream into an allowlist.
// NATS: the direct nats-server launcher (test/support/nats-server.ts).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ViolationEvent } from '../../src/events/types.ts';
import { readStream } from '../../src/report/source.ts';
import { Summariser } from '../../src/report/summary.ts';
import { bpfgate } from '../support/daemon.ts';
import { createStream, makeSink, STREAM, withConnection } from '../support/nats.ts';
import { NatsServer, stopAllServers } from '../support/nats-server.ts';

const NOW = Date.now();

function violation(i: number, atMs: number, outcome: ViolationEvent['outcome']): ViolationEvent {
  return {
    schemaVersion: '1.0',
    type: 'violation',
    id: `01REPORTTEST${String(i).padStart(14, '0')}`,
    timeNs: `${BigInt(atMs) * 1_000_000n}`,
    time: new Date(atMs).toISOString(),
    host: 'web-1',
    policy: { name: 'baseline', rule: i % 2 === 0 ? 'no-nc' : 'no-curl', severity: 'high', tags: [] },
    action: 'block',
    outcome,
    mode: 'audit',
    kind: 'exec',
    mechanism: 'tracepoint',
    process: {
      pid: 10 + i,
      tgid: 10 + i,
      ppid: 1,
      uid: 0,
      gid: 0,
      euid: 0,
      comm: 'sh',
      executable: i % 2 === 0 ? '/usr/bin/nc' : '/usr/bin/curl',
      cgroup: { id: '99', path: '/system.slice/app.service' },
    },
    parent: { pid: 1 },
    target: { path: '/usr/bin/nc', via: 'exec', fileless: false },
    message: 'm',
    ret: 0,
  };
}

const cli = (args: string[]) => bpfgate(['report', ...args]);

describe('bpfgate report from JetStream', () => {
  let server: NatsServer;

  beforeAll(async () => {
    server = await NatsServer.start();
    await withConnection({ servers: server.url }, (nc) => createStream(nc));
    const sink = makeSink({ servers: [server.url] });
    await sink.start();
    // 20 in the last hour (12 would-block, 8 would-kill), 5 from two days ago
    for (let i = 0; i < 20; i++)
      sink.publish(violation(i, NOW - 60_000 + i, i < 12 ? 'would-block' : 'would-kill'));
    for (let i = 20; i < 25; i++) sink.publish(violation(i, NOW - 2 * 86_400_000, 'would-block'));
    expect(await sink.idle()).toBe(true);
    await sink.stop();
  });

  afterAll(async () => stopAllServers());

  it('reads the whole stream once and summarises the range', async () => {
    const s = new Summariser({ sinceMs: NOW - 3_600_000, untilMs: null });
    const read = await readStream({ servers: [server.url], stream: STREAM, auth: {}, sinceMs: null }, s);
    expect(read).toBe(25);
    const r = s.result();
    expect(r.violations).toBe(20);
    expect(r.outOfRange).toBe(5);
    expect(r.outcomes['would-block']).toBe(12);
    expect(r.outcomes['would-kill']).toBe(8);
    expect(r.policies[0]!.rules.map((x) => [x.rule, x.total])).toEqual([
      ['no-curl', 10],
      ['no-nc', 10],
    ]);
  });

  it('starts the consumer at --since by the stream’s time (nothing stored after it: nothing read)', async () => {
    const s = new Summariser({ sinceMs: null, untilMs: null });
    const read = await readStream(
      { servers: [server.url], stream: STREAM, auth: {}, sinceMs: Date.now() + 60_000, fetchTimeoutMs: 1000 },
      s,
    );
    expect(read).toBe(0);
    expect(s.result().violations).toBe(0);
  });

  it('bpfgate report --nats --stream --since prints the summary and writes the HTML page', async () => {
    const html = join(mkdtempSync(join(tmpdir(), 'bpfgate-report-')), 'report.html');
    const r = await cli([
      '--nats',
      server.url,
      '--stream',
      STREAM,
      '--since',
      '1h',
      '--json',
      '--html',
      html,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { violations: number; outOfRange: number };
    expect(report.violations).toBe(20);
    expect(report.outOfRange).toBe(5);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('no-curl');
    expect(page).toContain('<svg');
    const text = await cli(['--nats', server.url, '--stream', STREAM, '--since', '1h']);
    expect(text.stdout).toContain('policy baseline: 20 (would-block 12, would-kill 8)');
  });

  it('bpfgate learn --nats --stream writes an allowlist of what the scope did, which validates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfgate-learn-'));
    const args = ['learn', '--nats', server.url, '--stream', STREAM, '--since', '1h'];
    const r = await bpfgate([...args, '--cgroup', '/system.slice/app.service']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('name: learned-app');
    expect(r.stdout).toContain('mode: audit');
    expect(r.stdout).toMatch(/- \/usr\/bin\/nc {2}# 20\n/); // the 20 of the last hour, not the 5 before
    writeFileSync(join(dir, 'learned.yaml'), r.stdout);
    const valid = await bpfgate(['validate', join(dir, 'learned.yaml')]);
    expect(valid.stderr).toMatch(/^valid: 1 policies/);
    expect(valid.code).toBe(0);
    // another scope saw nothing: exit 1, no policy
    const none = await bpfgate([...args, '--cgroup', '/system.slice/other.service']);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
  });

  it('a stream that does not exist is a runtime error, exit 4', async () => {
    const r = await cli(['--nats', server.url, '--stream', 'NOPE']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/stream not found/i);
  });
});
