// Attribution the acting process cannot rewrite: the executable the kernel
// recorded wins over what /proc says later (the actor may exec, rewrite its
// argv or exit first), fields read later from /proc are marked as such,
// container ids come only from the cgroup paths of known runtimes, aggregation
// keeps different users and executables apart, and text output escapes
// control characters.
import { describe, expect, it, vi } from 'vitest';
import { EV_F_EXE_PATH, EVENT_LAYOUT } from '../../../src/abi/layout.ts';
import { formatLine } from '../../../src/cli/commands/tail.ts';
import { Aggregator } from '../../../src/events/aggregate.ts';
import { buildEvent } from '../../../src/events/build.ts';
import { containerFromCgroup } from '../../../src/events/enrich.ts';
import { printable } from '../../../src/events/printable.ts';
import { eventSchemaErrors } from '../../../src/events/schema.ts';
import type { BpfgateEvent, ViolationEvent } from '../../../src/events/types.ts';
import { decodeRecord } from '../../../src/kernel/decoder.ts';
import { Kind } from '../../../src/kinds/index.ts';
import { summarise } from '../../../src/report/summary.ts';
import { renderText } from '../../../src/report/text.ts';
import { ctx, record, recordBytes, rule } from '../../support/events.ts';

const ID = 'cd'.repeat(32);

describe('the executable', () => {
  it('the decoder moves a path the kernel marked as the acting executable out of the target', () => {
    const bytes = recordBytes((dv, b) => {
      b[EVENT_LAYOUT.kind.offset] = Kind.module;
      b[EVENT_LAYOUT.op.offset] = 2; // module from memory: no file of its own
      dv.setUint16(EVENT_LAYOUT.flags.offset, EV_F_EXE_PATH, true);
      b.set(new TextEncoder().encode('/usr/sbin/insmod'), EVENT_LAYOUT.path.offset);
    });
    const r = decodeRecord(bytes);
    expect(r.exe).toBe('/usr/sbin/insmod');
    expect(r.path).toBe('');
    const e = buildEvent(r, rule('module'), ctx({ enrichment: {} }));
    expect(e.target).toEqual({ source: 'data' });
    expect(e.process.executable).toBe('/usr/sbin/insmod');
  });

  it('the kernel’s executable wins over /proc’s, which is marked when it is all there is', () => {
    const proc = { executable: '/tmp/innocent', args: ['innocent'] };
    const kernel = buildEvent(
      record('capability', { exe: '/tmp/evil' }),
      rule('capability'),
      ctx({ enrichment: proc }),
    );
    expect(kernel.process.executable).toBe('/tmp/evil');
    expect(kernel.process.fromProc).toEqual(['args']);
    expect(eventSchemaErrors(kernel)).toEqual([]);

    const procOnly = buildEvent(record('file'), rule('file'), ctx({ enrichment: proc }));
    expect(procOnly.process.executable).toBe('/tmp/innocent');
    expect(procOnly.process.fromProc).toEqual(['executable', 'args']);
    expect(eventSchemaErrors(procOnly)).toEqual([]);
  });

  it('an exec names its new image, whatever /proc says by the time it is read', () => {
    const e = buildEvent(record('exec'), rule('exec'), ctx({ enrichment: { executable: '/usr/bin/other' } }));
    expect(e.process.executable).toBe('/usr/bin/nc');
    expect(e.process.fromProc).toBeUndefined();
  });

  it('an executable id the kernel tracked since exec names the executable', () => {
    const e = buildEvent(
      record('file', { exeId: 7 }),
      rule('file'),
      ctx({
        enrichment: { executable: '/tmp/renamed' },
        executableOf: (id) => (id === 7 ? '/usr/bin/curl' : undefined),
      }),
    );
    expect(e.process.executable).toBe('/usr/bin/curl');
    expect(e.process.fromProc).toBeUndefined();
  });

  it('the parent’s executable, read from /proc, is marked', () => {
    const e = buildEvent(record('exec'), rule('exec'), ctx({ enrichment: { parentExecutable: '/bin/sh' } }));
    expect(e.parent).toEqual({ pid: 1, executable: '/bin/sh', fromProc: ['executable'] });
    expect(eventSchemaErrors(e)).toEqual([]);
  });
});

describe('container ids come only from where runtimes put containers', () => {
  it.each([
    `/user.slice/user-1000.slice/user@1000.service/app.slice/docker-${ID}.scope`,
    `/system.slice/myapp.service/docker-${ID}.scope`,
    `/system.slice/myapp.service/kubepods/pod1/${ID}`,
    `/user.slice/kubepods/besteffort/pod1/${ID}`,
    `/docker-${ID}.scope/../x`,
    `/tmp/docker/${ID}`,
    `/system.slice/docker-${ID}.scopex`,
  ])('none for %s (a delegated subtree can name a cgroup anything)', (path) => {
    expect(containerFromCgroup(path)).toBeUndefined();
  });

  it('a cgroup a container made inside its own belongs to that container', () => {
    const inner = 'ef'.repeat(32);
    expect(containerFromCgroup(`/system.slice/docker-${ID}.scope/docker-${inner}.scope`)).toEqual({
      id: ID,
      runtime: 'docker',
    });
    expect(
      containerFromCgroup(`/kubepods.slice/kubepods-pod12_34.slice/cri-containerd-${ID}.scope/sub`),
    ).toEqual({ id: ID, runtime: 'containerd' });
  });
});

describe('aggregation keeps actors apart', () => {
  it('different users or executables with the same comm are different groups', () => {
    vi.useFakeTimers();
    try {
      const out: BpfgateEvent[] = [];
      const a = new Aggregator({ windowMs: 1000 }, (e) => out.push(e));
      const c = ctx({ enrichment: {} });
      a.push(buildEvent(record('file', { uid: 1000 }), rule('file'), c));
      a.push(buildEvent(record('file', { uid: 0 }), rule('file'), c));
      a.push(
        buildEvent(record('file', { uid: 0, exeId: 1 }), rule('file'), { ...c, executableOf: () => '/x' }),
      );
      a.push(
        buildEvent(record('file', { uid: 0, exeId: 2 }), rule('file'), { ...c, executableOf: () => '/y' }),
      );
      expect(a.openGroups).toBe(4);
      vi.advanceTimersByTime(1000);
      expect(out).toHaveLength(4);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('text output escapes control characters', () => {
  const hostile = 'a\x1b]0;pwned\x07\x1b[2J\r\nb\u202ec\x9b';

  it('printable()', () => {
    expect(printable(hostile)).toBe('a\\x1b]0;pwned\\x07\\x1b[2J\\r\\nb\\u{202e}c\\x9b');
    expect(printable('/usr/bin/ünïcode \\ ok')).toBe('/usr/bin/ünïcode \\\\ ok');
  });

  it('bpfgate tail: file names, comm, executables, hosts and diagnostics', () => {
    const e = buildEvent(
      record('file', { path: `/tmp/${hostile}`, comm: hostile }),
      rule('file'),
      ctx({ host: hostile, enrichment: { executable: `/tmp/${hostile}` } }),
    );
    const line = formatLine(e as unknown as Record<string, unknown>, true);
    // only the colour codes tail writes itself remain
    expect(line.replaceAll(/\x1b\[(\d+;)*\d*m/g, '')).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202e]/);
    expect(line).toContain('\\x1b]0;pwned');
    const pe = formatLine(
      {
        type: 'policy_error',
        time: 't',
        host: 'h',
        diagnostics: [{ file: hostile, line: 1, column: 1, message: hostile }],
      },
      false,
    );
    expect(pe).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
  });

  it('the text report', () => {
    const e: ViolationEvent = buildEvent(
      record('exec'),
      rule('exec', { policy: 'p', rule: 'r' }),
      ctx({ host: hostile, enrichment: { cgroupPath: `/x/${hostile}` } }),
    );
    e.process.executable = `/tmp/${hostile}`;
    const text = renderText(summarise([e], { sinceMs: null, untilMs: null }));
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
    expect(text).toContain('\\x1b]0;pwned');
  });
});
