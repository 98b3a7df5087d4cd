// What every rule kind must hold for the rest of bpfgate to serve it by the
// registry alone (docs/adding-a-rule-kind.md): unique names and numbers that
// match its BPF header, hooks that exist, a unit for every operation, an
// allowlist posture exactly where it accepts allow, a match schema and an
// event target schema, and a doctor rule the language accepts. Every
// security_* hook is one BG_SECURITY_HOOK in bpf/security.bpf.c: a BPF-LSM
// program and its fmod_ret twin, both in the program table.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KIND_MAX } from '../../../src/abi/layout.ts';
import {
  CGROUP_TRACKING_PROGRAMS,
  CONTENT_PROGRAMS,
  PROGRAMS,
  type ProgramInfo,
  type ProgramName,
  TRACKING_PROGRAMS,
  twinOf,
} from '../../../src/abi/programs.ts';
import { REPRESENTATIVES } from '../../../src/doctor/matrix.ts';
import { KINDS, Kind, kindByAbi, kindOf, RULE_KINDS } from '../../../src/kinds/index.ts';
import { candidates } from '../../../src/kinds/kind.ts';
import { parsePolicySources } from '../../../src/policy/index.ts';

const BPF_KINDS = join(import.meta.dirname, '../../../bpf/kinds');
const BPF = join(import.meta.dirname, '../../../bpf');
const headers = readdirSync(BPF_KINDS).map((f) => ({
  file: f,
  text: readFileSync(join(BPF_KINDS, f), 'utf8'),
}));
const upper = (s: string) => s.toUpperCase();

describe('the registry', () => {
  it('names each kind once, numbers each once within the kind byte, and looks both up', () => {
    expect(new Set(RULE_KINDS).size).toBe(KINDS.length);
    expect(new Set(KINDS.map((k) => k.abi)).size).toBe(KINDS.length);
    for (const k of KINDS) {
      expect(k.abi).toBeGreaterThanOrEqual(1);
      expect(k.abi).toBeLessThan(KIND_MAX);
      expect(kindOf(k.name)).toBe(k);
      expect(kindByAbi(k.abi)).toBe(k);
      expect(Kind[k.name]).toBe(k.abi);
    }
    expect(() => kindOf('xdp')).toThrow(/unknown rule kind/);
  });

  it('every rule program serves a kind, and every hook of a kind is a program', () => {
    const served = new Set(KINDS.flatMap((k) => candidates(k.hooks)));
    for (const p of served) expect(Object.keys(PROGRAMS)).toContain(p);
    const tracking = new Set<string>([
      ...TRACKING_PROGRAMS.filter((p) => p !== 'bg_tp_exec'),
      ...CGROUP_TRACKING_PROGRAMS,
      ...CONTENT_PROGRAMS,
    ]);
    const unserved = (Object.keys(PROGRAMS) as ProgramName[]).filter(
      (p) => !served.has(p) && !tracking.has(p),
    );
    expect(unserved).toEqual([]);
  });

  it('every security_* hook is one BG_SECURITY_HOOK: a BPF-LSM program and its fmod_ret twin on the same function', () => {
    const source = readFileSync(join(BPF, 'security.bpf.c'), 'utf8');
    const macros = [...source.matchAll(/^BG_SECURITY_HOOK(?:_SPLIT)?\((\w+), "(\w+)", "(\w+)",/gm)].map(
      (m) => ({
        lsm: `bg_lsm_${m[1]}` as ProgramName,
        fmr: `bg_fmr_${m[1]}` as ProgramName,
        hook: m[2],
        fn: m[3],
      }),
    );
    // the exec hashing program (exceptions by content) is no security_* decision: no twin
    const lsm = (Object.keys(PROGRAMS) as ProgramName[]).filter(
      (n) => PROGRAMS[n].family === 'lsm' && !CONTENT_PROGRAMS.includes(n),
    );
    expect(macros.map((m) => m.lsm).sort()).toEqual([...lsm].sort());
    for (const m of macros) {
      expect((PROGRAMS[m.lsm] as ProgramInfo).attach, m.lsm).toEqual({ type: 'lsm', hook: m.hook });
      expect((PROGRAMS[m.fmr] as ProgramInfo).attach, m.fmr).toEqual({ type: 'fmod_ret', function: m.fn });
      expect(twinOf(m.lsm)).toBe(m.fmr);
      expect(m.fn?.startsWith('security_'), m.fn).toBe(true);
    }
    const fmr = (Object.keys(PROGRAMS) as ProgramName[]).filter((n) => PROGRAMS[n].family === 'fmod_ret');
    expect(fmr.length).toBe(lsm.length);
  });
});

describe.each(KINDS.map((k) => [k.name, k] as const))('kind %s', (name, k) => {
  it('has its number and operations in its BPF header, as BG_KIND_* and BG_OP_*', () => {
    const def = new RegExp(`#define BG_KIND_${upper(name)} (\\d+)\\b`);
    const found = headers.filter((h) => def.test(h.text));
    expect(found.map((h) => h.file)).toHaveLength(1);
    const text = found[0]!.text;
    expect(Number(def.exec(text)![1])).toBe(k.abi);
    for (const op of k.ops?.names ?? []) {
      const m = new RegExp(`\\bBG_OP_${upper(name)}_${upper(op)} = (\\d+)\\b`).exec(text);
      expect(m, `BG_OP_${upper(name)}_${upper(op)}`).not.toBeNull();
      expect(Number(m![1])).toBe(k.ops!.number(op));
    }
    // a program family file (or lib/security.h) includes it
    const includers = [...readdirSync(BPF).filter((f) => f.endsWith('.bpf.c')), 'lib/security.h'].filter(
      (f) => readFileSync(join(BPF, f), 'utf8').includes(`#include "kinds/${found[0]!.file}"`),
    );
    expect(includers.length).toBeGreaterThan(0);
  });

  it('serves every unit of every operation it names with a hook of its own', () => {
    const hooks = new Set(candidates(k.hooks));
    for (const op of k.ops?.names ?? []) {
      const deciding = k.hooks.filter((h) => h.ops === undefined || h.ops.includes(op));
      expect(deciding.length, `operation ${op}`).toBeGreaterThan(0);
    }
    for (const u of k.posture?.() ?? []) {
      expect(u.candidates.length).toBeGreaterThan(0);
      for (const c of u.candidates) expect(hooks.has(c)).toBe(true);
    }
  });

  it('is an allowlist kind exactly when it accepts allow', () => {
    expect(k.posture !== undefined).toBe(k.actions.includes('allow'));
  });

  it('has a match schema and an event target schema', () => {
    expect(k.match).toMatchObject({ type: 'object', title: `${name} match`, additionalProperties: false });
    expect(typeof k.target).toBe('object');
  });

  it('has doctor representatives the policy language accepts, each naming a row once', () => {
    expect(k.representatives.length).toBeGreaterThan(0);
    const rows = REPRESENTATIVES.filter((r) => r.kind === name);
    expect(rows.map((r) => r.rule)).toEqual(k.representatives.map((r) => r.rule ?? name));
    const action = k.actions[0]!;
    const text = [
      'apiVersion: bpfgate.dev/v1',
      'kind: Policy',
      'metadata: { name: representatives }',
      'spec:',
      '  rules:',
      ...rows.flatMap((r) => [
        `    - id: ${r.rule}`,
        `      kind: ${name}`,
        `      action: ${action}`,
        `      match: ${r.match}`,
      ]),
    ].join('\n');
    const { set, diagnostics } = parsePolicySources([{ file: 'representatives.yaml', text }]);
    expect(diagnostics).toEqual([]);
    expect(set?.policies[0]?.rules.map((r) => r.match.kind)).toEqual(rows.map(() => name));
  });
});
