// Changes of identity (the setuid kind's ids): the language, the hooks on
// each shipped kernel, the keys, and what the records of bpf/kinds/setuid.h
// decode to.
import { describe, expect, it } from 'vitest';
import { compile } from '../../../src/compiler/compile.ts';
import { buildEvent } from '../../../src/events/build.ts';
import { eventSchemaErrors } from '../../../src/events/schema.ts';
import { kindOf } from '../../../src/kinds/index.ts';
import { SETUID_OPS } from '../../../src/kinds/setuid.ts';
import { parsePolicySources } from '../../../src/policy/index.ts';
import { ctx, record, rule } from '../../support/events.ts';
import { FMOD_RET, LSM, NO_LSM } from '../../support/features.ts';

const policy = (match: string) => `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: ids }
spec:
  rules:
    - { id: r, kind: setuid, action: block, match: ${match} }
`;
const parse = (match: string) => parsePolicySources([{ file: 'p.yaml', text: policy(match) }]);
const setuid = kindOf('setuid');
const TO_ROOT = 1n << 63n;
const decode = (op: number, args: [bigint, bigint, bigint, bigint]) =>
  setuid.decode({ op, args, path: '/usr/bin/x', aux: new Uint8Array(0) }, { ruleId: 0 });

describe('setuid ids', () => {
  it('default to uid (an existing rule keeps its meaning, its keys and op bytes)', () => {
    const { set, diagnostics } = parse('{ to: root }');
    expect(diagnostics).toEqual([]);
    expect(set!.policies[0]!.rules[0]!.match).toEqual({ kind: 'setuid', to: 'root', ids: ['uid'] });
    expect([SETUID_OPS.number('root'), SETUID_OPS.number('any')]).toEqual([1, 2]);
  });

  it('give one key per identity, with op bytes of their own', () => {
    const { set } = parse('{ to: any, ids: [gid, groups, capabilities, userns] }');
    const keys = setuid.keys(set!.policies[0]!.rules[0]!.match as never, { gen: 0, slot: 0, ruleId: 0 });
    expect(keys).toHaveLength(4);
    expect(
      ['gid_any', 'groups_any', 'capabilities_any', 'userns_any'].map((o) => SETUID_OPS.number(o)),
    ).toEqual([4, 6, 8, 10]);
    expect(parse('{ to: root, ids: [] }').diagnostics.map((d) => d.code)).toEqual(['EMPTY_MATCH']);
    expect(parse('{ to: root, ids: [euid] }').set).toBeNull();
  });

  it('are decided by their security hooks; without them only uid has a rung (kill-after)', () => {
    const { set } = parse('{ to: root, ids: [gid, groups, capabilities, userns] }');
    expect(compile(set!, LSM, { gen: 0 }).rules[0]).toMatchObject({
      achieved: 'block',
      programs: [
        'bg_lsm_capset',
        'bg_lsm_task_fix_setgid',
        'bg_lsm_task_fix_setgroups',
        'bg_lsm_userns_create',
      ],
    });
    expect(compile(set!, FMOD_RET, { gen: 0 }).rules[0]).toMatchObject({
      achieved: 'block',
      mechanism: 'fmod_ret',
    });
    expect(compile(set!, NO_LSM, { gen: 0 }).rules[0]).toMatchObject({
      achieved: 'unavailable',
      downgraded: true,
    });
    const uid = parse('{ to: root, ids: [uid] }').set!;
    expect(compile(uid, NO_LSM, { gen: 0 }).rules[0]).toMatchObject({ achieved: 'kill-after' });
  });

  it('decode what the hooks recorded', () => {
    // setfsuid(0) by uid 1000: the saved and fs ids are complemented in arg3
    const fs = decode(1, [1000n | TO_ROOT, 1000n, 1000n, BigInt(~1000 >>> 0) | (BigInt(~0 >>> 0) << 32n)]);
    expect(fs).toEqual({
      id: 'uid',
      toRoot: true,
      oldUid: 1000,
      newUid: 1000,
      newEuid: 1000,
      newSuid: 1000,
      newFsuid: 0,
    });
    // sys_enter's record: setresuid(-1, -1, 0) matched a to-root rule, no saved or fs id
    expect(decode(1, [1000n, 0xffffffffn, 0xffffffffn, 0n])).toMatchObject({
      id: 'uid',
      toRoot: true,
      oldUid: 1000,
    });
    expect(decode(2, [1000n, 1001n, 1001n, 0n])).toMatchObject({ id: 'uid', toRoot: false });
    const gid = decode(3, [1000n | TO_ROOT, 0n, 0n, BigInt(~0 >>> 0) | (BigInt(~0 >>> 0) << 32n)]);
    expect(gid).toEqual({
      id: 'gid',
      toRoot: true,
      oldGid: 1000,
      newGid: 0,
      newEgid: 0,
      newSgid: 0,
      newFsgid: 0,
    });
    expect(decode(5, [0n | TO_ROOT, 1n, 1n, 0n])).toEqual({
      id: 'groups',
      toRoot: true,
      oldGroups: 0,
      newGroups: 1,
    });
    // capset: CAP_SETUID (7) raised into the effective set
    const caps = decode(7, [0n | TO_ROOT, 1n << 7n, 1n << 7n, 1n << 7n]);
    expect(caps).toEqual({
      id: 'capabilities',
      toRoot: true,
      gained: ['CAP_SETUID'],
      effective: ['CAP_SETUID'],
      permitted: ['CAP_SETUID'],
    });
    expect(setuid.describe(caps)).toBe('capset gains CAP_SETUID');
    expect(decode(10, [1000n | TO_ROOT, 0n, 0n, 0n])).toEqual({ id: 'userns', toRoot: true, euid: 1000 });
  });

  it('make schema-valid events', () => {
    for (const [op, args] of [
      [3, [1000n | TO_ROOT, 0n, 0n, 0n]],
      [7, [TO_ROOT, 1n, 1n, 1n]],
      [9, [TO_ROOT, 0n, 0n, 0n]],
    ] as const) {
      const e = buildEvent(record('setuid', { op, args: [...args] }), rule('setuid'), ctx());
      expect(eventSchemaErrors(e)).toEqual([]);
    }
  });
});
