import { describe, expect, it } from 'vitest';
import type { BpfgateEvent, ViolationEvent } from '../../../src/events/types.ts';
import { escapeHtml, renderHtml } from '../../../src/report/html.ts';
import { parseTimeSpec, summarise, TimeSpecError } from '../../../src/report/summary.ts';
import { renderText } from '../../../src/report/text.ts';

const T0 = Date.parse('2026-11-24T10:00:00Z');
const ns = (ms: number): string => `${BigInt(ms) * 1_000_000n + 123n}`;

let seq = 0;
function violation(
  atMs: number,
  over: {
    policy?: string;
    rule?: string;
    outcome?: ViolationEvent['outcome'];
    exe?: string;
    cgroup?: string;
    host?: string;
    count?: number;
    lastMs?: number;
  } = {},
): ViolationEvent {
  const e: ViolationEvent = {
    schemaVersion: '1.0',
    type: 'violation',
    id: `id${seq++}`,
    timeNs: ns(atMs),
    time: new Date(atMs).toISOString(),
    host: over.host ?? 'web-1',
    policy: { name: over.policy ?? 'baseline', rule: over.rule ?? 'no-nc', severity: 'high', tags: [] },
    action: 'block',
    outcome: over.outcome ?? 'would-block',
    mode: 'audit',
    kind: 'exec',
    mechanism: 'tracepoint',
    process: {
      pid: 1,
      tgid: 1,
      ppid: 0,
      uid: 0,
      gid: 0,
      euid: 0,
      comm: 'nc',
      ...(over.exe !== undefined ? { executable: over.exe } : {}),
      cgroup: { id: '77', ...(over.cgroup !== undefined ? { path: over.cgroup } : {}) },
    },
    parent: { pid: 0 },
    target: { path: '/usr/bin/nc', via: 'exec', fileless: false },
    message: 'netcat',
    ret: 0,
  };
  if (over.count !== undefined) {
    e.count = over.count;
    e.firstTimeNs = e.timeNs;
    e.lastTimeNs = ns(over.lastMs ?? atMs);
  }
  return e;
}

const loss = (atMs: number, count: number): BpfgateEvent => ({
  schemaVersion: '1.0',
  type: 'loss',
  id: `l${seq++}`,
  timeNs: ns(atMs),
  time: new Date(atMs).toISOString(),
  host: 'web-1',
  loss: { source: 'ringbuf', count },
  message: 'lost',
});

describe('report summary', () => {
  const events: unknown[] = [
    violation(T0, { exe: '/usr/bin/nc', cgroup: '/system.slice/a.service' }),
    violation(T0 + 1000, { exe: '/usr/bin/nc', cgroup: '/system.slice/a.service' }),
    violation(T0 + 2000, { exe: '/usr/bin/ncat', cgroup: '/system.slice/b.service', host: 'web-2' }),
    violation(T0 + 3000, {
      exe: '/usr/bin/nc',
      count: 10,
      lastMs: T0 + 9000,
      cgroup: '/system.slice/b.service',
    }),
    violation(T0 + 4000, { rule: 'no-shell', outcome: 'would-kill' }),
    violation(T0 + 5000, { policy: 'imds', rule: 'block-imds', outcome: 'denied', exe: '/usr/bin/curl' }),
    loss(T0 + 500, 7),
    { type: 'class_uid', metadata: {} }, // OCSF: not native
    violation(T0 - 3_600_000), // before the range
    violation(T0 + 86_400_000), // after the range
  ];
  const r = summarise(events, { sinceMs: T0 - 60_000, untilMs: T0 + 60_000 });

  it('counts per policy and rule, aggregated events by their count', () => {
    expect(r.violations).toBe(15);
    expect(r.outcomes).toEqual({
      'would-block': 13,
      'would-kill': 1,
      'would-kill-after': 0,
      denied: 1,
      killed: 0,
      'killed-after': 0,
      allowed: 0,
    });
    expect(r.policies.map((p) => [p.name, p.total])).toEqual([
      ['baseline', 14],
      ['imds', 1],
    ]);
    const [nc, shell] = r.policies[0]!.rules;
    expect([nc!.rule, nc!.total, nc!.outcomes['would-block']]).toEqual(['no-nc', 13, 13]);
    expect([shell!.rule, shell!.outcomes['would-kill']]).toEqual(['no-shell', 1]);
    expect(r.policies[1]!.rules[0]!.outcomes.denied).toBe(1);
  });

  it('ranks executables and cgroups, falling back to comm and cgroup id', () => {
    const nc = r.policies[0]!.rules[0]!;
    expect(nc.executables).toEqual([
      { name: '/usr/bin/nc', count: 12 },
      { name: '/usr/bin/ncat', count: 1 },
    ]);
    expect(nc.cgroups).toEqual([
      { name: '/system.slice/b.service', count: 11 },
      { name: '/system.slice/a.service', count: 2 },
    ]);
    const shell = r.policies[0]!.rules[1]!;
    expect(shell.executables).toEqual([{ name: '[nc]', count: 1 }]);
    expect(shell.cgroups).toEqual([{ name: 'cgroup id 77', count: 1 }]);
    expect(r.hosts).toEqual([
      { name: 'web-1', count: 14 },
      { name: 'web-2', count: 1 },
    ]);
  });

  it('first and last seen include an aggregated event’s last occurrence, to the nanosecond', () => {
    const nc = r.policies[0]!.rules[0]!;
    expect(nc.firstSeen).toBe('2026-11-24T10:00:00.000000123Z');
    expect(nc.lastSeen).toBe('2026-11-24T10:00:09.000000123Z');
    expect(r.firstSeen).toBe('2026-11-24T10:00:00.000000123Z');
    expect(r.policies[0]!.lastSeen).toBe('2026-11-24T10:00:09.000000123Z');
  });

  it('reports losses, unreadable input and what fell outside the range', () => {
    expect(r.losses).toEqual({ ringbuf: 7 });
    expect(r.unreadable).toBe(1);
    expect(r.outOfRange).toBe(2);
    expect(r.since).toBe('2026-11-24T09:59:00.000Z');
  });

  it('limits the ranked lists to top N', () => {
    const many = Array.from({ length: 8 }, (_, i) => violation(T0, { exe: `/bin/x${i}` }));
    const s = summarise(many, { sinceMs: null, untilMs: null, top: 3 });
    expect(s.policies[0]!.rules[0]!.executables).toHaveLength(3);
  });

  it('renders text with the outcomes, the top lists and a loss warning', () => {
    const text = renderText(r);
    expect(text).toContain('15 violation(s) on 2 host(s)');
    expect(text).toContain('policy baseline: 14 (would-block 13, would-kill 1)');
    expect(text).toContain('executables: /usr/bin/nc (12), /usr/bin/ncat (1)');
    expect(text).toContain('LOSSES: 7 event(s) lost (ringbuf)');
    expect(renderText(summarise([], { sinceMs: null, untilMs: null }))).toContain('no violations');
  });

  it('renders a self-contained HTML page with inline SVG, escaping event text', () => {
    const hostile = violation(T0, {
      policy: 'p',
      rule: 'r',
      exe: '/tmp/<script>alert(1)</script>',
      cgroup: '/a"b\'c&d',
    });
    const html = renderHtml(summarise([hostile, ...events], { sinceMs: null, untilMs: null }));
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<svg');
    expect(html).toContain('<style>');
    expect(html).not.toContain('<script>');
    expect(html).toContain('/tmp/&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).toContain('/a&#34;b&#39;c&#38;d');
    // nothing fetched from elsewhere
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
    expect(html).not.toMatch(/<link|@import|url\(/);
  });

  it('escapes the five HTML metacharacters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
  });
});

describe('--since and --until', () => {
  const now = Date.parse('2026-11-24T12:00:00Z');
  it('reads RFC 3339, dates and durations before now', () => {
    expect(parseTimeSpec('2026-11-24T08:00:00Z', now)).toBe(Date.parse('2026-11-24T08:00:00Z'));
    expect(parseTimeSpec('2026-11-24T08:00:00.5+02:00', now)).toBe(Date.parse('2026-11-24T06:00:00.500Z'));
    expect(parseTimeSpec('2026-11-23', now)).toBe(Date.parse('2026-11-23T00:00:00Z'));
    expect(parseTimeSpec('24h', now)).toBe(now - 86_400_000);
    expect(parseTimeSpec('30m', now)).toBe(now - 1_800_000);
    expect(parseTimeSpec('7d', now)).toBe(now - 7 * 86_400_000);
  });
  it('refuses anything else', () => {
    for (const bad of ['yesterday', '24', '1y', '2026-11-24 08:00', '2026-13-01T00:00:00Z'])
      expect(() => parseTimeSpec(bad, now), bad).toThrow(TimeSpecError);
  });
});
