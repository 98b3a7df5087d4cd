import { describe, expect, it } from 'vitest';
import { RULE_DEFAULT } from '../../../src/abi/layout.ts';
import {
  buildEvent,
  buildLossEvent,
  buildPolicyErrorEvent,
  formatTimeNs,
} from '../../../src/events/build.ts';
import { IdGenerator } from '../../../src/events/id.ts';
import { eventSchemaErrors } from '../../../src/events/schema.ts';
import { CLOCK, ctx, KINDS, record, rule, sampleEvents } from '../../support/events.ts';

describe('buildEvent', () => {
  it('builds a schema-valid event for every kind and outcome', () => {
    for (const e of sampleEvents()) expect(eventSchemaErrors(e), e.kind).toEqual([]);
    const outcomes = ['denied', 'killed', 'allowed', 'would-block', 'would-kill'] as const;
    for (const k of KINDS) {
      for (const o of outcomes) {
        const e = buildEvent(record(k, { outcome: o }), rule(k), ctx());
        expect(eventSchemaErrors(e), `${k} ${o}`).toEqual([]);
      }
    }
  });

  it('converts boot time to wall-clock time with the given offset, to the nanosecond', () => {
    const e = buildEvent(record('exec', { bootNs: 1_000_000_007n }), rule('exec'), ctx());
    expect(e.timeNs).toBe((CLOCK.offsetNs + 1_000_000_007n).toString());
    expect(e.time).toBe('2025-11-24T16:00:01.000000007Z');
    expect(formatTimeNs(0n)).toBe('1970-01-01T00:00:00.000000000Z');
  });

  it('formats times in the same second and across seconds alike (the second is kept between calls)', () => {
    const t = 1_764_000_000n * 1_000_000_000n;
    expect(formatTimeNs(t + 999_999_999n)).toBe('2025-11-24T16:00:00.999999999Z');
    expect(formatTimeNs(t + 1_000_000_000n)).toBe('2025-11-24T16:00:01.000000000Z');
    expect(formatTimeNs(t + 5n)).toBe('2025-11-24T16:00:00.000000005Z');
    expect(formatTimeNs(999_999_999n)).toBe('1970-01-01T00:00:00.999999999Z');
    expect(formatTimeNs(1_000_000_001n)).toBe('1970-01-01T00:00:01.000000001Z');
    expect(formatTimeNs(t + 5n)).toBe('2025-11-24T16:00:00.000000005Z');
  });

  it('takes policy, rule, severity, tags and message from the planned rule', () => {
    const e = buildEvent(record('file'), rule('file', { severity: 'critical', message: 'no shadow' }), ctx());
    expect(e.policy).toEqual({
      name: 'baseline',
      rule: 'no-file',
      severity: 'critical',
      tags: ['T1611', 'container-escape'],
    });
    expect(e.message).toBe('no shadow');
    expect(e.target).toEqual({ path: '/etc/shadow', operation: 'read' });
    expect(e.mode).toBe('enforce');
    expect(e.outcome).toBe('denied');
    expect(e.action).toBe('block');
  });

  it('decodes each kind’s target from the record fields', () => {
    const t = (k: Parameters<typeof record>[0]) => buildEvent(record(k), rule(k), ctx()).target;
    expect(t('capability')).toEqual({ name: 'CAP_SYS_ADMIN', number: 21 });
    expect(t('bpf')).toEqual({ command: 'BPF_PROG_LOAD', number: 5 });
    expect(t('connect')).toEqual({ family: 'ipv4', address: '203.0.113.7', port: 4444, protocol: 'tcp' });
    expect(t('device')).toEqual({ type: 'char', major: 1, minor: 1, access: ['write'] });
    expect(t('sysctl')).toEqual({
      name: 'kernel.hostname',
      path: '/proc/sys/kernel/hostname',
      operation: 'write',
      newValue: 'pwned',
    });
    expect(t('mount')).toEqual({
      operation: 'mount',
      mountPoint: '/mnt/x',
      fsType: 'tmpfs',
      flags: 'nosuid,nodev',
    });
    expect(t('setuid')).toEqual({ id: 'uid', oldUid: 1000, newUid: 0, newEuid: 0, toRoot: true });
    expect(t('ptrace')).toEqual({ pid: 1234, mode: 'attach' });
    expect(t('socket')).toEqual({ family: 'inet', familyNumber: 2, type: 'raw', typeNumber: 3, protocol: 1 });
    expect(t('module')).toEqual({ source: 'file', path: '/tmp/evil.ko' });
    expect(t('kprobe')).toEqual({
      function: 'commit_creds',
      args: ['0xffff888000000000', '0x1', '0x0', '0x0'],
    });
    const v6 = new Uint8Array(128);
    v6.set([0x20, 0x01, 0x0d, 0xb8], 0);
    v6[15] = 1;
    const e6 = buildEvent(record('bind', { args: [6n, 443n, 17n, 0n], aux: v6 }), rule('bind'), ctx());
    expect(e6.target).toEqual({ family: 'ipv6', address: '2001:db8::1', port: 443, protocol: 'udp' });
    expect(eventSchemaErrors(e6)).toEqual([]);
  });

  it('keeps what the record carried when the process had already exited (no enrichment)', () => {
    const e = buildEvent(record('exec'), rule('exec'), ctx({ enrichment: {} }));
    expect(eventSchemaErrors(e)).toEqual([]);
    expect(e.process.executable).toBe('/usr/bin/nc');
    expect(e.process.comm).toBe('tester');
    expect(e.process.user).toBeUndefined();
    expect(e.process.cgroup).toEqual({ id: '4242' });
    expect(e.parent).toEqual({ pid: 1 });
  });

  it('reports dry-run outcomes in audit mode', () => {
    const e = buildEvent(
      record('exec', { outcome: 'would-block' }),
      rule('exec', { dryRun: true, achieved: 'audit' }),
      ctx(),
    );
    expect(e.mode).toBe('audit');
    expect(e.action).toBe('block');
  });

  it('names an allowlist default-action record after its policy', () => {
    const e = buildEvent(
      record('exec', { ruleId: RULE_DEFAULT | 3, slot: 3 }),
      undefined,
      ctx({
        policyForSlot: (s) => (s === 3 ? { name: 'allow-only', severity: 'high', tags: [] } : undefined),
      }),
    );
    expect(e.policy).toMatchObject({ name: 'allow-only', rule: 'default', severity: 'high' });
    expect(e.message).toMatch(/allowlist/);
    expect(eventSchemaErrors(e)).toEqual([]);
  });

  it('builds schema-valid loss and policy_error events', () => {
    const ids = new IdGenerator();
    const loss = buildLossEvent({ source: 'ringbuf', count: 12 }, { host: 'h', ids });
    expect(eventSchemaErrors(loss)).toEqual([]);
    expect(loss.loss).toEqual({ source: 'ringbuf', count: 12 });
    const pe = buildPolicyErrorEvent(
      [
        {
          code: 'UNKNOWN_KEY',
          message: 'unknown key "acton"',
          severity: 'error',
          pos: { file: 'p.yaml', line: 3, column: 5 },
        },
      ],
      { host: 'h', ids },
    );
    expect(eventSchemaErrors(pe)).toEqual([]);
    expect(pe.diagnostics[0]).toMatchObject({ code: 'UNKNOWN_KEY', line: 3, column: 5 });
  });

  it('the schema rejects what it must', () => {
    const [e] = sampleEvents();
    expect(eventSchemaErrors({ ...e, extra: 1 })).not.toEqual([]);
    expect(eventSchemaErrors({ ...e, outcome: 'maybe' })).not.toEqual([]);
    expect(eventSchemaErrors({ ...e, schemaVersion: '2.0' })).not.toEqual([]);
    expect(eventSchemaErrors({ ...e, target: { name: 'CAP_X', number: 1 } })).not.toEqual([]);
    expect(eventSchemaErrors({ ...e, count: 3 })).not.toEqual([]); // aggregated needs first/last times
    expect(eventSchemaErrors({ ...e, id: 'not-an-id' })).not.toEqual([]);
  });
});
