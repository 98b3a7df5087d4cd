// Privilege granted to files (the file operations setid and setcap) and paths
// the programs cannot build (`unresolved:`), from policy text to event: the
// language, the hooks on each shipped kernel, the records' events.
import { describe, expect, it } from 'vitest';
import { EV_F_PATH_TRUNCATED, EV_F_UNRESOLVED, EXE_ID_UNRESOLVED } from '../../../src/abi/layout.ts';
import { compile } from '../../../src/compiler/compile.ts';
import { buildEvent } from '../../../src/events/build.ts';
import { toOcsf } from '../../../src/events/ocsf.ts';
import { eventSchemaErrors } from '../../../src/events/schema.ts';
import { FILE_OPS } from '../../../src/kinds/file.ts';
import { kindOf } from '../../../src/kinds/index.ts';
import { parsePolicySources } from '../../../src/policy/index.ts';
import { ctx, record, rule } from '../../support/events.ts';
import { FMOD_RET, LSM, NO_LSM } from '../../support/features.ts';

function policy(kind: string, match: string, extra = ''): string {
  return `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: privileged-files }
spec:
  rules:
    - id: r
      kind: ${kind}
      action: block
      match: ${match}${extra}
`;
}

const parse = (text: string) => parsePolicySources([{ file: 'p.yaml', text }]);

describe('file operations setid and setcap', () => {
  const text = policy('file', '{ directories: [/], operations: [setid, setcap] }');

  it('are operations a file rule names, with their op bytes (bpf/kinds/file.h)', () => {
    const { set, diagnostics } = parse(text);
    expect(diagnostics).toEqual([]);
    expect(set!.policies[0]!.rules[0]!.match).toMatchObject({ operations: ['setid', 'setcap'] });
    expect([FILE_OPS.number('setid'), FILE_OPS.number('setcap')]).toEqual([10, 11]);
  });

  it('are decided by path_mknod, path_chmod and inode_setxattr (BPF-LSM or fmod_ret), and by nothing on a kernel without either', () => {
    const { set } = parse(text);
    expect(compile(set!, LSM, { gen: 0 }).rules[0]).toMatchObject({
      achieved: 'block',
      mechanism: 'lsm',
      programs: ['bg_lsm_inode_setxattr', 'bg_lsm_path_chmod', 'bg_lsm_path_mknod'],
    });
    expect(compile(set!, FMOD_RET, { gen: 0 }).rules[0]).toMatchObject({
      achieved: 'block',
      mechanism: 'fmod_ret',
      programs: ['bg_fmr_inode_setxattr', 'bg_fmr_path_chmod', 'bg_fmr_path_mknod'],
    });
    // a system call's arguments do not say whether a bit is new or what an attribute holds
    const host = compile(set!, NO_LSM, { gen: 0 });
    expect(host.rules[0]).toMatchObject({ achieved: 'unavailable', downgraded: true });
    expect(host.rules[0]!.reason).toMatch(/no hook for file on this kernel/);
  });

  it('decode to their operation, text and OCSF activity', () => {
    const file = kindOf('file');
    const target = file.decode(
      { op: 11, args: [0n, 0n, 0n, 0n], path: '/usr/bin/python3', aux: new Uint8Array(0) },
      {
        ruleId: 0,
      },
    );
    expect(target).toEqual({ path: '/usr/bin/python3', operation: 'setcap' });
    expect(file.describe(target)).toBe('setcap /usr/bin/python3');
    const ocsf = file.ocsf({ target, host: 'h', process: { tgid: 1, comm: 'setcap' } });
    expect(ocsf.activity).toEqual([7, 'Set Security']);
  });
});

describe('unresolved: what a path the programs cannot build gets', () => {
  it('is deny by default; allow opts a rule out', () => {
    const deny = parse(policy('file', '{ paths: [/etc/shadow] }'));
    expect(deny.set!.policies[0]!.rules[0]!.unresolved).toBe('deny');
    const allow = parse(policy('exec', '{ paths: [/usr/bin/nc] }', '\n      unresolved: allow'));
    expect(allow.diagnostics).toEqual([]);
    expect(allow.set!.policies[0]!.rules[0]!.unresolved).toBe('allow');
  });

  it('is refused on a kind that matches no path, and any value but deny or allow, at its line and column', () => {
    const cap = parse(policy('capability', '{ capabilities: [CAP_SYS_ADMIN] }', '\n      unresolved: allow'));
    expect(cap.set).toBeNull();
    expect(cap.diagnostics.map((d) => [d.code, d.pos.line, d.pos.column])).toEqual([
      ['INVALID_VALUE', 10, 19],
    ]);
    expect(cap.diagnostics[0]!.message).toMatch(/unresolved applies to rules that match paths/);
    const bad = parse(policy('file', '{ paths: [/etc/shadow] }', '\n      unresolved: maybe'));
    expect(bad.diagnostics.map((d) => d.code)).toEqual(['INVALID_VALUE']);
  });

  it('an unresolved record is an event with unresolved: true, in the native and OCSF forms', () => {
    const e = buildEvent(
      record('file', { flags: EV_F_PATH_TRUNCATED | EV_F_UNRESOLVED }),
      rule('file'),
      ctx(),
    );
    expect(e.unresolved).toBe(true);
    expect(e.flags).toEqual(['path-truncated']);
    expect(eventSchemaErrors(e)).toEqual([]);
    expect(toOcsf(e)).toMatchObject({ unmapped: { bpfgate: { unresolved: true } } });
    // an acting process whose executable's path could not be built
    expect(
      buildEvent(record('capability', { exeId: EXE_ID_UNRESOLVED }), rule('capability'), ctx()).unresolved,
    ).toBe(true);
    const plain = buildEvent(record('file', { flags: EV_F_PATH_TRUNCATED }), rule('file'), ctx());
    expect(plain.unresolved).toBeUndefined();
    expect(
      (toOcsf(plain) as { unmapped: { bpfgate: Record<string, unknown> } }).unmapped.bpfgate,
    ).not.toHaveProperty('unresolved');
  });
});
