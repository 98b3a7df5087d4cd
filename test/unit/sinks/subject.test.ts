import { describe, expect, it } from 'vitest';
import { buildLossEvent } from '../../../src/events/build.ts';
import { IdGenerator } from '../../../src/events/id.ts';
import { subjectFor, subjectToken } from '../../../src/sinks/subject.ts';
import { sampleEvents } from '../../support/events.ts';

describe('subjects', () => {
  it('sanitises host names into one token', () => {
    expect(subjectToken('web-1.example.com')).toBe('web-1_example_com');
    expect(subjectToken('Bad Host*>')).toBe('bad_host__');
    expect(subjectToken('')).toBe('unknown');
  });

  it('bpfgate.v1.<host>.<kind>.<outcome> for violations, _loss for losses', () => {
    const [e] = sampleEvents('web-1.example.com');
    expect(subjectFor(e!)).toBe('bpfgate.v1.web-1_example_com.exec.denied');
    const loss = buildLossEvent(
      { source: 'spool', count: 1 },
      { host: 'web-1.example.com', ids: new IdGenerator() },
    );
    expect(subjectFor(loss)).toBe('bpfgate.v1.web-1_example_com._loss');
    expect(subjectFor(e!, 'acme.sec')).toBe('acme.sec.web-1_example_com.exec.denied');
  });

  it('every subject has valid tokens and violations have five after the prefix', () => {
    for (const e of sampleEvents('h.a.b')) {
      const s = subjectFor(e);
      expect(s.split('.')).toHaveLength(5);
      for (const tok of s.split('.')) expect(tok).toMatch(/^[a-z0-9_-]+$/);
    }
  });
});
