// The kernel tables of docs/doctor.md and docs/attacks.md are what the committed
// results of the kernel suite (test/vm/results/) render; the expectations
// behind every case (test/support/kernels.ts).
import { describe, expect, it } from 'vitest';
import { ATTACKS } from '../support/kernel-suite/attacks.ts';
import { E2E_CASES } from '../support/kernel-suite/cases.ts';
import { caseCell, renderDocuments, replaceRegion } from '../support/kernel-suite/tables.ts';
import { expected, KERNELS } from '../support/kernels.ts';

describe('the kernel tables', () => {
  it('are what the committed results render (npm run generate)', () => {
    for (const d of renderDocuments()) expect(d.now, d.file).toBe(d.want);
  });
  it('a region is replaced between its markers, and a missing one is an error', () => {
    const doc = 'a\n<!-- generated: x (test/support/kernel-suite/tables.ts) -->\nold\n<!-- end: x -->\nb\n';
    expect(replaceRegion(doc, 'x', 'new')).toBe(
      'a\n<!-- generated: x (test/support/kernel-suite/tables.ts) -->\nnew\n<!-- end: x -->\nb\n',
    );
    expect(() => replaceRegion(doc, 'y', 'new')).toThrow(/no generated region y/);
  });
  it('a cell says what the attacker saw, the event and what was left', () => {
    expect(caseCell({ sees: 'EPERM', outcome: 'denied', mechanism: 'fmod_ret' })).toBe(
      '`EPERM` · denied (fmod_ret)',
    );
    expect(
      caseCell({ sees: 'SIGKILL', outcome: 'killed-after', mechanism: 'tracepoint', after: '640\n' }, true),
    ).toBe('killed (SIGKILL) · killed-after (tracepoint) · after: 640');
    expect(caseCell({ sees: 'ok', outcome: null, mechanism: null })).toBe('succeeds · no event');
    expect(caseCell(undefined)).toBe('not run');
  });
  it('case names are unique, within each set', () => {
    expect(new Set(E2E_CASES.map((c) => c.name)).size).toBe(E2E_CASES.length);
    expect(new Set(ATTACKS.map((c) => c.name)).size).toBe(ATTACKS.length);
  });
});

describe('what each kernel is expected to do', () => {
  it('BPF-LSM and fmod_ret deny before the action; the host kills (an exec before it runs, any other call after it)', () => {
    expect(expected('guest-lsm', 'security', 'block', 'enforce')).toEqual({
      sees: 'EPERM',
      outcome: 'denied',
      mechanism: 'lsm',
    });
    expect(expected('guest-fmod-ret', 'security', 'block', 'enforce')).toEqual({
      sees: 'EPERM',
      outcome: 'denied',
      mechanism: 'fmod_ret',
    });
    expect(expected('host', 'security', 'block', 'enforce')).toEqual({
      sees: 'SIGKILL',
      outcome: 'killed-after',
      mechanism: 'tracepoint',
    });
    expect(expected('host', 'exec', 'block', 'enforce')).toEqual({
      sees: 'SIGKILL',
      outcome: 'killed',
      mechanism: 'tracepoint',
    });
    expect(expected('host', 'inet', 'block', 'enforce').mechanism).toBe('cgroup');
    expect(expected('host', 'capability', 'block', 'enforce')).toEqual({
      sees: 'ok',
      outcome: null,
      mechanism: null,
    });
  });
  it('audit mode: the action runs, and the event says what enforcing would have done there', () => {
    expect(expected('guest-fmod-ret', 'security', 'block', 'audit').outcome).toBe('would-block');
    expect(expected('host', 'security', 'block', 'audit').outcome).toBe('would-kill-after');
    expect(expected('host', 'exec', 'block', 'audit').outcome).toBe('would-kill');
    expect(expected('host', 'kprobe', 'audit', 'audit').outcome).toBeNull();
    for (const k of KERNELS) expect(expected(k.id, 'cgroup', 'audit', 'enforce').outcome).toBe('allowed');
  });
});
