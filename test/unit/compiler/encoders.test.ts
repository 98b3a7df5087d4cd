import { describe, expect, it } from 'vitest';
import { emptyGenConfig, encodeGenConfig, encodeState } from '../../../src/abi/encode/config.ts';
import { encodeNetKey, maskAddress } from '../../../src/abi/encode/net.ts';
import { directoryPrefix, encodePathKey, sysctlPath } from '../../../src/abi/encode/path.ts';
import { encodeRuleKey } from '../../../src/abi/encode/rules.ts';
import {
  encodeCgroupException,
  encodeCgroupScope,
  encodeExeException,
  encodeExeId,
  encodeIdScope,
  encodeUidException,
} from '../../../src/abi/encode/scope.ts';
import { encodeRuleVal } from '../../../src/abi/encode/value.ts';
import { ANY, KIND_MAX, Size } from '../../../src/abi/layout.ts';
import { hex, text, zeros } from '../../support/hex.ts';

describe('bg_path_key', () => {
  it('exact path: prefixlen covers the header and the NUL', () => {
    const key = encodePathKey({ gen: 1, slot: 3, kind: 2, op: 1, path: '/etc/shadow', prefix: false });
    expect(key).toBe(
      hex(
        [0x80, 0, 0, 0], // prefixlen == 32 + 8 * (11 + 1) == 128
        1, // gen
        3, // slot
        2, // kind == file
        1, // op == read
        text('/etc/shadow', 252), // path, NUL-padded
      ),
    );
    expect(key.length / 2).toBe(Size.pathKey);
  });

  it('directory: a prefix without the NUL, always ending in /', () => {
    const key = encodePathKey({
      gen: 0,
      slot: 0,
      kind: 1,
      op: 0,
      path: directoryPrefix('/tmp'),
      prefix: true,
    });
    expect(key).toBe(
      hex(
        [0x48, 0, 0, 0], // prefixlen == 32 + 8 * 5 == 72
        0, // gen
        0, // slot
        1, // kind == exec
        0, // op == none
        text('/tmp/', 252),
      ),
    );
  });

  it('sysctl names use / separators', () => {
    expect(sysctlPath('kernel.core_pattern')).toBe('kernel/core_pattern');
    const key = encodePathKey({ gen: 0, slot: 5, kind: 13, op: 2, path: 'net/ipv4/', prefix: true });
    expect(key).toBe(
      hex(
        [0x68, 0, 0, 0], // prefixlen == 32 + 8 * 9 == 104
        0, // gen
        5, // slot
        13, // kind == sysctl
        2, // op == write
        text('net/ipv4/', 252),
      ),
    );
  });

  it('rejects a path that does not fit with its NUL', () => {
    const long = `/${'a'.repeat(251)}`;
    expect(() => encodePathKey({ gen: 0, slot: 0, kind: 1, op: 0, path: long, prefix: false })).toThrow(
      RangeError,
    );
    const fits = `/${'a'.repeat(250)}`;
    expect(encodePathKey({ gen: 0, slot: 0, kind: 1, op: 0, path: fits, prefix: false }).length).toBe(520);
  });
});

describe('bg_rule_key', () => {
  it('capability', () => {
    expect(encodeRuleKey({ gen: 1, slot: 2, kind: 3, op: 0, a: 21, b: 0, c: 0 })).toBe(
      hex(
        1, // gen
        2, // slot
        3, // kind == capability
        0, // op
        [21, 0, 0, 0], // a == CAP_SYS_ADMIN
        [0, 0, 0, 0], // b
        [0, 0, 0, 0], // c
      ),
    );
  });

  it('device with wildcards', () => {
    expect(encodeRuleKey({ gen: 0, slot: 0, kind: 12, op: 2, a: 0x62, b: 8, c: ANY })).toBe(
      hex(
        0, // gen
        0, // slot
        12, // kind == device
        2, // op == write
        [0x62, 0, 0, 0], // a == 'b'
        [8, 0, 0, 0], // b == major 8
        [0xff, 0xff, 0xff, 0xff], // c == BG_ANY
      ),
    );
  });
});

describe('bg_net_key', () => {
  it('IPv4 CIDR with port and protocol', () => {
    const address = new Uint8Array([10, 1, 2, 3]);
    expect(
      encodeNetKey({ gen: 0, slot: 1, kind: 10, proto: 6, port: 443, family: 4, address, bits: 8 }),
    ).toBe(
      hex(
        [72, 0, 0, 0], // prefixlen == 64 + 8
        0, // gen
        1, // slot
        10, // kind == connect
        6, // proto == IPPROTO_TCP
        [0xbb, 0x01], // port == 443, host byte order
        4, // family
        0, // pad
        [10, 0, 0, 0], // addr, host bits cleared
        zeros(12),
      ),
    );
  });

  it('IPv6 any address, any port, any protocol', () => {
    const address = new Uint8Array(16);
    expect(encodeNetKey({ gen: 1, slot: 0, kind: 11, proto: 0, port: 0, family: 6, address, bits: 0 })).toBe(
      hex(
        [64, 0, 0, 0], // prefixlen == 64 + 0
        1, // gen
        0, // slot
        11, // kind == bind
        0, // proto == any
        [0, 0], // port == any
        6, // family
        0, // pad
        zeros(16), // addr
      ),
    );
  });

  it('masks host bits inside a byte', () => {
    expect([...maskAddress(new Uint8Array([192, 168, 255, 255]), 20)]).toEqual([192, 168, 240, 0]);
  });
});

describe('values and scope maps', () => {
  it('bg_rule_val', () => {
    expect(encodeRuleVal(258, 3, 1)).toBe(
      hex(
        [2, 1, 0, 0], // rule_id == 258
        3, // action == block
        1, // flags == BG_VAL_F_DRYRUN
        [0, 0], // pad
      ),
    );
  });

  it('bg_exception_key for uid, exe and cgroups', () => {
    const tail = (type: number, value: number[]) => hex([7, 0, 0, 0], 1, type, [0, 0], value);
    expect(encodeUidException(7, 1000, 1)).toEqual({
      key: tail(2 /* uid */, [0xe8, 3, 0, 0, 0, 0, 0, 0] /* 1000 */),
      value: '01',
    });
    expect(encodeExeException(7, 2, 1).key).toBe(tail(1 /* exe */, [2, 0, 0, 0, 0, 0, 0, 0]));
    expect(encodeCgroupException(7, 0x1234n, false, 1).key).toBe(
      tail(3 /* cgroup */, [0x34, 0x12, 0, 0, 0, 0, 0, 0]),
    );
    expect(encodeCgroupException(7, 0x1234n, true, 1).key).toBe(
      tail(4 /* subtree */, [0x34, 0x12, 0, 0, 0, 0, 0, 0]),
    );
  });

  it('bg_scope_cgroup', () => {
    expect(encodeCgroupScope(5000n, 0b101n, 1n << 63n, 1)).toEqual({
      key: hex(
        [0x88, 0x13, 0, 0, 0, 0, 0, 0], // cgroup_id == 5000
        1, // gen
        zeros(7), // pad
      ),
      value: hex(
        [5, 0, 0, 0, 0, 0, 0, 0], // self == slots 0 and 2
        [0, 0, 0, 0, 0, 0, 0, 0x80], // subtree == slot 63
      ),
    });
  });

  it('bg_scope_uid / bg_scope_exe and bg_exe_ids', () => {
    expect(encodeIdScope(0, 2n, 1)).toEqual({
      key: hex([0, 0, 0, 0] /* id == 0 (root) */, 1 /* gen */, zeros(3)),
      value: hex([2, 0, 0, 0, 0, 0, 0, 0]), // slot 1
    });
    expect(encodeExeId('/usr/bin/ping', 3)).toEqual({
      key: hex(text('/usr/bin/ping', 256)),
      value: hex([3, 0, 0, 0]),
    });
  });

  it('bg_gen_config', () => {
    const c = emptyGenConfig();
    c.activeSlots = 3n;
    c.dryrun = 2n;
    c.kindSlots[3] = 1n;
    c.defaultBlock[1] = 2n;
    c.defaultKill[1] = 2n;
    c.defaultAction[1] = 3;
    c.anyEuid = 5n;
    const e = encodeGenConfig(1, c);
    const u64 = (v: number) => [v, 0, 0, 0, 0, 0, 0, 0];
    const kinds = (i: number, v: number) => Array.from({ length: KIND_MAX }, (_, k) => u64(k === i ? v : 0));
    expect(e.key).toBe(hex([1, 0, 0, 0])); // index == gen
    expect(e.value).toBe(
      hex(
        u64(3), // active_slots
        u64(0), // any_cgroup
        u64(0), // any_uid
        u64(0), // any_exe
        u64(0), // host_only
        u64(0), // containers_only
        u64(2), // dryrun
        kinds(3, 1).flat(), // kind_slots[capability] == slot 0
        kinds(1, 2).flat(), // default_block[exec] == slot 1
        kinds(1, 2).flat(), // default_kill[exec] == slot 1
        [0, 3], // default_action[1] == block
        zeros(62),
        u64(5), // any_euid
      ),
    );
    expect(e.value.length / 2).toBe(Size.genConfig);
  });

  it('bg_state', () => {
    expect(
      encodeState({ activeGen: 1, hostPidnsInum: 0xeffffffc, daemonTgid: 42, daemonStart: 0x1234567 }),
    ).toEqual({
      key: hex([0, 0, 0, 0]),
      value: hex([1, 0, 0, 0], [0xfc, 0xff, 0xff, 0xef], [42, 0, 0, 0], [0x67, 0x45, 0x23, 0x01]),
    });
  });
});
