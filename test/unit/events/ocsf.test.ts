import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../../src/events/build.ts';
import { toOcsf } from '../../../src/events/ocsf.ts';
import { ctx, KINDS, record, rule } from '../../support/events.ts';
import { OcsfSchema } from '../../support/ocsf-schema.ts';

const schema = new OcsfSchema();

import { Outcome, type OutcomeName } from '../../../src/abi/layout.ts';

const OUTCOMES = Object.keys(Outcome) as OutcomeName[];

const EXPECTED_CLASS: Record<string, string> = {
  exec: 'process_activity',
  ptrace: 'process_activity',
  setuid: 'process_activity',
  file: 'file_activity',
  mount: 'file_activity',
  sysctl: 'file_activity',
  module: 'kernel_extension_activity',
  capability: 'kernel_activity',
  bpf: 'kernel_activity',
  device: 'kernel_activity',
  kprobe: 'kernel_activity',
  uprobe: 'script_activity',
  socket: 'network_activity',
  connect: 'network_activity',
  bind: 'network_activity',
  ingress: 'network_activity',
  egress: 'network_activity',
};

describe('OCSF 1.8.0 mapping (checked against the OCSF definition files)', () => {
  it('reads the definitions it checks against', () => {
    expect(schema.version).toBe('1.8.0');
    expect(schema.classUid('process_activity')).toBe(1007);
    expect(schema.classUid('network_activity')).toBe(4001);
  });

  for (const kind of KINDS) {
    it(`${kind}: conforms for every outcome, in the expected class`, () => {
      for (const outcome of OUTCOMES) {
        for (const enrichment of [ctx().enrichment, {}]) {
          const e = buildEvent(record(kind, { outcome }), rule(kind), ctx({ enrichment }));
          const o = toOcsf(e);
          expect(schema.check(o), `${kind} ${outcome}`).toEqual([]);
          expect(o.class_uid).toBe(schema.classUid(EXPECTED_CLASS[kind]!));
          const captions = schema.classEnum(EXPECTED_CLASS[kind]!, 'activity_id') as Record<
            string,
            { caption: string }
          >;
          if (o.activity_id !== 99) expect(o.activity_name).toBe(captions[String(o.activity_id)]?.caption);
        }
      }
    });
  }

  it('carries the security_control and host profiles’ fields', () => {
    const o = toOcsf(buildEvent(record('exec'), rule('exec'), ctx()));
    const md = o.metadata as { profiles: string[]; product: { name: string }; uid: string };
    expect(md.profiles).toEqual(expect.arrayContaining(['security_control', 'host']));
    for (const f of ['action_id', 'disposition_id', 'policy']) {
      expect(schema.profileAttributes('security_control')).toContain(f);
      expect(o[f], f).toBeDefined();
    }
    for (const f of schema.profileAttributes('host')) expect(o[f], f).toBeDefined();
    expect(md.product.name).toBe('bpfgate');
    expect(o.action_id).toBe(2);
    expect(o.disposition_id).toBe(2);
    expect(o.severity_id).toBe(4);
    expect(o.time).toBe(1_764_000_005_000);
  });

  it('maps outcomes to action and disposition', () => {
    const pick = (outcome: OutcomeName) => {
      const o = toOcsf(buildEvent(record('file', { outcome }), rule('file'), ctx()));
      return [o.action_id, o.disposition_id, o.status_id];
    };
    expect(pick('denied')).toEqual([2, 2, 2]);
    expect(pick('killed')).toEqual([2, 2, 99]);
    expect(pick('allowed')).toEqual([3, 17, 1]);
    expect(pick('would-block')).toEqual([3, 15, 1]);
    expect(pick('would-kill-after')).toEqual([3, 15, 1]);
  });

  it('killed-after is not a block: the call ran, its result unknown, then the process was killed', () => {
    const o = toOcsf(buildEvent(record('file', { outcome: 'killed-after' }), rule('file'), ctx()));
    // action and disposition Other (neither denied nor allowed), status Unknown (bpfgate did not see the call's result)
    expect([o.action_id, o.disposition_id, o.status_id]).toEqual([99, 99, 0]);
    expect(o.disposition).toBe('Killed After Completion');
    expect(o.status_detail).toMatch(/the system call completed .* then bpfgate killed the process/);
    expect((o.unmapped as { bpfgate: { outcome: string } }).bpfgate.outcome).toBe('killed-after');
    const dry = toOcsf(buildEvent(record('file', { outcome: 'would-kill-after' }), rule('file'), ctx()));
    expect(dry.status_detail).toBe(
      'audit mode: bpfgate would have killed the process after the call completed',
    );
  });

  it('aggregated events carry count, start_time and end_time', () => {
    const e = buildEvent(record('exec'), rule('exec'), ctx());
    const agg = {
      ...e,
      count: 5,
      firstTimeNs: e.timeNs,
      firstTime: e.time,
      lastTimeNs: '1764000009000000000',
      lastTime: '',
    };
    const o = toOcsf(agg);
    expect(o.count).toBe(5);
    expect(o.end_time).toBe(1_764_000_009_000);
    expect(schema.check(o)).toEqual([]);
  });

  it('the checker finds what is wrong', () => {
    const o = toOcsf(buildEvent(record('capability'), rule('capability'), ctx()));
    const broken = {
      ...o,
      activity_id: 42,
      severity_id: 9,
      kernel: { name: 'CAP_SYS_ADMIN' },
      disposition_id: 1000,
      time: 'now',
      bogus: true,
    };
    const errors = schema.check(broken).join('\n');
    expect(errors).toMatch(/activity_id: 42 is not one of/);
    expect(errors).toMatch(/severity_id: 9/);
    expect(errors).toMatch(/kernel\.type_id: required/);
    expect(errors).toMatch(/disposition_id: 1000/);
    expect(errors).toMatch(/time: expected an integer/);
    expect(errors).toMatch(/bogus: not an attribute/);
    expect(errors).toMatch(/type_uid/);
    const noProfile = { ...o, metadata: { ...(o.metadata as object), profiles: [] } };
    expect(schema.check(noProfile).join('\n')).toMatch(/belongs to profile security_control/);
  });
});
