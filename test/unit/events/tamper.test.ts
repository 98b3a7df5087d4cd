// The tamper event: what self-protection refused another process, by kind,
// published like a loss or policy_error event: schema-valid, its own subject,
// one readable line (escaped), counted by the report.
import { describe, expect, it } from 'vitest';
import { buildTamperEvent } from '../../../src/events/build.ts';
import { IdGenerator } from '../../../src/events/id.ts';
import { formatLine } from '../../../src/events/line.ts';
import { eventSchemaErrors } from '../../../src/events/schema.ts';
import { Summariser } from '../../../src/report/summary.ts';
import { renderText } from '../../../src/report/text.ts';
import { subjectFor } from '../../../src/sinks/subject.ts';

const ids = new IdGenerator();
const ev = () =>
  buildTamperEvent({ cgroup: 2, rlimit: 1 }, { host: 'h1', ids, nowNs: () => 1_700_000_000_000_000_000n });

describe('the tamper event', () => {
  it('is schema-valid and names each kind refused', () => {
    const e = ev();
    expect(eventSchemaErrors(e)).toEqual([]);
    expect(e.tamper.refused).toEqual({ cgroup: 2, rlimit: 1 });
    expect(e.message).toContain('cgroup ×2, rlimit ×1');
  });

  it('the schema refuses an empty or a non-positive count', () => {
    expect(eventSchemaErrors({ ...ev(), tamper: { refused: {} } })).not.toEqual([]);
    expect(eventSchemaErrors({ ...ev(), tamper: { refused: { cgroup: 0 } } })).not.toEqual([]);
    expect(eventSchemaErrors({ ...ev(), tamper: { refused: { 'Bad Kind': 1 } } })).not.toEqual([]);
  });

  it('has its own subject and a readable line', () => {
    expect(subjectFor(ev(), 'bpfgate.v1')).toBe('bpfgate.v1.h1._tamper');
    const line = formatLine(ev() as never, false);
    expect(line).toContain('TAMPER on h1: self-protection refused cgroup×2 rlimit×1');
    const evil = formatLine({ ...ev(), tamper: { refused: { 'x\x1b[2J': 1 } } } as never, false);
    expect(evil).not.toContain('\x1b');
  });

  it('is counted by the report, not as a violation', () => {
    const s = new Summariser({ sinceMs: null, untilMs: null });
    s.add(ev());
    s.add(ev());
    const r = s.result();
    expect(r.tamperRefusals).toBe(6);
    expect(r.violations).toBe(0);
    expect(renderText(r)).toContain('6 attempt(s) to stop or tamper with bpfgate refused (tamper events)');
  });
});
