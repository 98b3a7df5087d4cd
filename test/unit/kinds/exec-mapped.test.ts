// exec rules beyond execve of the file: `fileless: true` (a file with no name
// in any file system) and files mapped executable (mmap_file, file_mprotect),
// from policy text to event: the language, the keys, the hooks on each
// shipped kernel, the records' events.
import { describe, expect, it } from 'vitest';
import { PATH_FILELESS_TARGET, PATH_UNRESOLVED_TARGET } from '../../../src/abi/layout.ts';
import { compile } from '../../../src/compiler/compile.ts';
import { buildEvent } from '../../../src/events/build.ts';
import { eventSchemaErrors } from '../../../src/events/schema.ts';
import { kindOf } from '../../../src/kinds/index.ts';
import { isNewImage } from '../../../src/kinds/kind.ts';
import { parsePolicySources } from '../../../src/policy/index.ts';
import { ctx, record, rule } from '../../support/events.ts';
import { FMOD_RET, LSM, NO_LSM } from '../../support/features.ts';

function policy(match: string, action = 'block', defaultAction = ''): string {
  return `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: p }
spec:${defaultAction ? `\n  defaultAction: ${defaultAction}` : ''}
  rules:
    - { id: r, kind: exec, action: ${action}, match: ${match} }
`;
}

const parse = (text: string) => parsePolicySources([{ file: 'p.yaml', text }]);
const exec = kindOf('exec');
const hex = (s: string) => Buffer.from(s).toString('hex');

describe('fileless: true', () => {
  it('is a target of its own: alone, or beside paths', () => {
    const alone = parse(policy('{ fileless: true }'));
    expect(alone.diagnostics).toEqual([]);
    expect(alone.set!.policies[0]!.rules[0]!.match).toEqual({
      kind: 'exec',
      paths: [],
      directories: [],
      fileless: true,
    });
    const both = parse(policy('{ paths: [/usr/bin/nc], fileless: true }'));
    expect(both.diagnostics).toEqual([]);
    const m = both.set!.policies[0]!.rules[0]!.match;
    expect(exec.targets(m)).toEqual(['/usr/bin/nc', '(fileless)']);
    expect(exec.entries(m)).toBe(2);
  });

  it('written false names nothing: alone it is EMPTY_MATCH; anything but a boolean is refused', () => {
    expect(parse(policy('{ fileless: false }')).diagnostics.map((d) => d.code)).toEqual(['EMPTY_MATCH']);
    const plain = parse(policy('{ paths: [/usr/bin/nc], fileless: false }'));
    expect(plain.diagnostics).toEqual([]);
    expect(plain.set!.policies[0]!.rules[0]!.match).not.toHaveProperty('fileless');
    expect(parse(policy('{ fileless: yes-please }')).set).toBeNull();
  });

  it('is the key BG_PATH_FILELESS_KEY (0x02) in bg_path_rules, beside the path keys and apart from the unresolved one', () => {
    const { set } = parse(policy('{ paths: [/usr/bin/nc], fileless: true }'));
    const keys = exec.keys(set!.policies[0]!.rules[0]!.match, { gen: 0, slot: 0, ruleId: 1 });
    expect(keys).toHaveLength(2);
    expect(keys.every((k) => k.map === 'bg_path_rules')).toBe(true);
    expect(PATH_FILELESS_TARGET).toBe('\x02');
    expect(PATH_FILELESS_TARGET).not.toBe(PATH_UNRESOLVED_TARGET);
    expect(keys.filter((k) => k.key.includes(`${hex(PATH_FILELESS_TARGET)}00`))).toHaveLength(1);
    expect(keys.filter((k) => k.key.includes(hex('/usr/bin/nc')))).toHaveLength(1);
  });
});

describe('files mapped executable', () => {
  const { set } = parse(policy('{ paths: [/usr/bin/nc] }'));

  it('are decided by mmap_file and file_mprotect beside bprm_check (BPF-LSM or fmod_ret); without either, not covered and said so', () => {
    expect(compile(set!, LSM, { gen: 0 }).rules[0]).toMatchObject({
      achieved: 'block',
      downgraded: false,
      programs: ['bg_lsm_bprm_check', 'bg_lsm_file_mprotect', 'bg_lsm_mmap_file'],
    });
    expect(compile(set!, FMOD_RET, { gen: 0 }).rules[0]).toMatchObject({
      achieved: 'block',
      downgraded: false,
      programs: ['bg_fmr_bprm_check', 'bg_fmr_file_mprotect', 'bg_fmr_mmap_file'],
    });
    const host = compile(set!, NO_LSM, { gen: 0 }).rules[0]!;
    expect(host).toMatchObject({ achieved: 'kill', downgraded: true, programs: ['bg_tp_exec'] });
    expect(host.reason).toMatch(/not covered on this kernel: mapped executable/);
  });

  it("are no part of an allow rule or of an allowlist's default: only execs take the default", () => {
    const list = parse(policy('{ paths: [/usr/sbin/nginx] }', 'allow', 'block'));
    const plan = compile(list.set!, LSM, { gen: 0 });
    expect(plan.rules[0]).toMatchObject({ achieved: 'allow', programs: ['bg_lsm_bprm_check'] });
    expect(plan.policies[0]!.defaults?.map((d) => [d.kind, d.programs])).toEqual([
      ['exec', ['bg_lsm_bprm_check']],
    ]);
    expect(compile(list.set!, NO_LSM, { gen: 0 }).rules[0]).toMatchObject({
      achieved: 'allow',
      downgraded: false,
    });
  });

  it('decode to how the file came to run and whether it had a name; a mapping is not a new image', () => {
    const decode = (op: number, a0: bigint) =>
      exec.decode({ op, args: [a0, 0n, 0n, 0n], path: '/usr/bin/nc', aux: new Uint8Array(0) }, { ruleId: 0 });
    expect(decode(0, 0n)).toEqual({ path: '/usr/bin/nc', via: 'exec', fileless: false });
    expect(decode(1, 0n)).toEqual({ path: '/usr/bin/nc', via: 'mmap', fileless: false });
    const memfd = exec.decode(
      { op: 2, args: [1n, 0n, 0n, 0n], path: '/memfd:x (deleted)', aux: new Uint8Array(0) },
      { ruleId: 0 },
    );
    expect(memfd).toEqual({ path: '/memfd:x (deleted)', via: 'mprotect', fileless: true });
    expect(exec.describe(decode(1, 0n))).toBe('/usr/bin/nc (mapped executable by mmap)');
    expect(exec.describe(memfd)).toBe('/memfd:x (deleted) (mapped executable by mprotect) (fileless)');
    expect([0, 1, 2].map((op) => isNewImage(exec, op))).toEqual([true, false, false]);
  });

  it("an event of a mapping names the mapped file, not the process's executable", () => {
    const r = record('exec', { op: 1, path: '/usr/bin/nc', args: [0n, 0n, 0n, 0n] });
    const e = buildEvent(r, rule('exec'), ctx());
    expect(eventSchemaErrors(e)).toEqual([]);
    expect(e.target).toEqual({ path: '/usr/bin/nc', via: 'mmap', fileless: false });
    expect(e.process.executable).toBe('/usr/bin/tester');
    const x = buildEvent({ ...r, op: 0 }, rule('exec'), ctx());
    expect(x.process.executable).toBe('/usr/bin/nc');
  });
});
