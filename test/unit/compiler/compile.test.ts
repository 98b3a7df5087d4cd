import { describe, expect, it } from 'vitest';
import { encodeExeContent } from '../../../src/abi/encode/ident.ts';
import { encodeNetKey } from '../../../src/abi/encode/net.ts';
import { decodePathKey, encodePathKey } from '../../../src/abi/encode/path.ts';
import { encodeRuleKey } from '../../../src/abi/encode/rules.ts';
import {
  encodeEuidException,
  encodeExeException,
  encodeIdScope,
  encodeUidException,
} from '../../../src/abi/encode/scope.ts';
import { encodeRuleVal } from '../../../src/abi/encode/value.ts';
import {
  ANY,
  EXE_ID_UNRESOLVED,
  EXE_ID_VERIFIED,
  fnv1a32,
  KIND_MAX,
  MAX_SLOTS,
  PATH_UNRESOLVED_TARGET,
  VAL_F_EXC_EUID,
} from '../../../src/abi/layout.ts';
import type { Plan } from '../../../src/abi/plan.ts';
import { compile } from '../../../src/compiler/compile.ts';
import { MapCapacityError, UnencodableError } from '../../../src/compiler/errors.ts';
import { MOUNT_TYPE_UNRESOLVED } from '../../../src/kinds/mount.ts';
import type { Match } from '../../../src/policy/model.ts';
import { cidr, MATCHES, policy, rule, scope, set } from '../../support/builders.ts';
import { LSM, NO_LSM } from '../../support/features.ts';

function entries(plan: Plan, map: string) {
  return plan.maps.find((m) => m.map === map)?.entries ?? [];
}
function keys(plan: Plan, map: string): string[] {
  return entries(plan, map).map((e) => e.key);
}
function config(plan: Plan) {
  const v = Buffer.from(entries(plan, 'bg_gen_config')[0]!.value, 'hex');
  const u64 = (i: number) => v.readBigUInt64LE(8 * i);
  return {
    activeSlots: u64(0),
    anyCgroup: u64(1),
    anyUid: u64(2),
    anyExe: u64(3),
    hostOnly: u64(4),
    containersOnly: u64(5),
    dryrun: u64(6),
    kindSlots: (k: number) => u64(7 + k),
    defaultBlock: (k: number) => u64(7 + KIND_MAX + k),
    defaultKill: (k: number) => u64(7 + 2 * KIND_MAX + k),
    defaultAction: (slot: number) => v[8 * (7 + 3 * KIND_MAX) + slot],
    anyEuid: v.readBigUInt64LE(8 * (7 + 3 * KIND_MAX) + MAX_SLOTS),
  };
}
const one = (m: Match, over = {}) => set(policy('p', [rule('r', m, over)]));

describe('slots and rule ids', () => {
  it('slots follow policy names; rule ids index plan.rules', () => {
    const plan = compile(
      set(
        policy('zeta', [rule('z1', MATCHES.exec!)]),
        policy('alpha', [rule('a1', MATCHES.bpf!), rule('a2', MATCHES.ptrace!)]),
      ),
      LSM,
      { gen: 0 },
    );
    expect(plan.policies.map((p) => [p.name, p.slot])).toEqual([
      ['alpha', 0],
      ['zeta', 1],
    ]);
    expect(plan.rules.map((r) => [r.ruleId, r.policy, r.rule])).toEqual([
      [0, 'alpha', 'a1'],
      [1, 'alpha', 'a2'],
      [2, 'zeta', 'z1'],
    ]);
    expect(keys(plan, 'bg_path_rules')).toContain(
      encodePathKey({ gen: 0, slot: 1, kind: 1, op: 0, path: '/usr/bin/nc', prefix: false }),
    );
    expect(config(plan).activeSlots).toBe(0b11n);
    expect(config(plan).kindSlots(1)).toBe(0b10n); // exec: zeta
    expect(config(plan).kindSlots(5)).toBe(0b01n); // bpf: alpha
  });

  it('more than 64 policies is a capacity error', () => {
    const many = set(...Array.from({ length: 65 }, (_, i) => policy(`p${i}`, [rule('r', MATCHES.bpf!)])));
    expect(() => compile(many, LSM, { gen: 0 })).toThrow(MapCapacityError);
  });

  it('writes every key and the config under the given generation', () => {
    const plan = compile(one(MATCHES.capability!), LSM, { gen: 1 });
    expect(keys(plan, 'bg_rules')).toEqual([
      encodeRuleKey({ gen: 1, slot: 0, kind: 3, op: 0, a: 21, b: 0, c: 0 }),
    ]);
    expect(keys(plan, 'bg_gen_config')).toEqual(['01000000']);
  });
});

describe('rule entries and wildcards', () => {
  const rk = (kind: number, op: number, a: number, b = 0, c = 0) =>
    encodeRuleKey({ gen: 0, slot: 0, kind, op, a, b, c });

  it('file: one entry per operation and path; directories as prefixes', () => {
    const m: Match = {
      kind: 'file',
      paths: ['/etc/shadow'],
      directories: ['/etc/ssh'],
      operations: ['read', 'unlink'],
    };
    const plan = compile(one(m), LSM, { gen: 0 });
    const k = (op: number, path: string, prefix: boolean) =>
      encodePathKey({ gen: 0, slot: 0, kind: 2, op, path, prefix });
    expect(keys(plan, 'bg_path_rules').sort()).toEqual(
      [
        k(1, '/etc/shadow', false),
        k(1, '/etc/ssh/', true),
        k(4, '/etc/shadow', false),
        k(4, '/etc/ssh/', true),
        // a path the programs cannot build, per operation (fail closed)
        k(1, '\x01', false),
        k(4, '\x01', false),
      ].sort(),
    );
    expect(entries(plan, 'bg_path_rules')[0]!.value).toBe(encodeRuleVal(0, 3, 0));
    expect(plan.rules[0]!.programs).toEqual(['bg_lsm_file_open', 'bg_lsm_path_unlink']);
  });

  it('bg_path_any: every path key of every slot and op once, with slot and op 0', () => {
    const file = (paths: string[], operations: string[]) =>
      ({ kind: 'file', paths, directories: [], operations }) as Match;
    const plan = compile(
      set(
        policy('a', [rule('r1', file(['/etc/shadow'], ['read', 'write']))]),
        policy('b', [
          rule('r2', file(['/etc/shadow', '/etc/gshadow'], ['unlink'])),
          rule('x', MATCHES.exec!),
        ]),
      ),
      LSM,
      { gen: 1 },
    );
    const any = (kind: number, path: string) =>
      encodePathKey({ gen: 1, slot: 0, kind, op: 0, path, prefix: false });
    expect(
      keys(plan, 'bg_path_any')
        .filter((k) => decodePathKey(k).kind === 2)
        .sort(),
    ).toEqual([any(2, '/etc/shadow'), any(2, '/etc/gshadow'), any(2, '\x01')].sort());
    // the invariant the programs rely on: no rule key without its twin (a missing twin would skip a match)
    const twins = new Set(keys(plan, 'bg_path_any'));
    for (const k of keys(plan, 'bg_path_rules')) {
      const d = decodePathKey(k);
      expect(twins.has(encodePathKey({ ...d, slot: 0, op: 0 }))).toBe(true);
    }
  });

  it('sysctl: dots become slashes, exact names and prefixes', () => {
    const m: Match = {
      kind: 'sysctl',
      names: ['kernel.core_pattern'],
      prefixes: ['net.ipv4.'],
      access: ['write'],
    };
    const plan = compile(one(m), NO_LSM, { gen: 0 });
    const k = (path: string, prefix: boolean) =>
      encodePathKey({ gen: 0, slot: 0, kind: 13, op: 2, path, prefix });
    expect(keys(plan, 'bg_path_rules').sort()).toEqual(
      [k('kernel/core_pattern', false), k('net/ipv4/', true)].sort(),
    );
  });

  it('socket: a wildcard family with a concrete type is expanded (the kernel never looks up (ANY, type))', () => {
    const plan = compile(one({ kind: 'socket', families: ['any'], types: ['raw'] }), LSM, { gen: 0 });
    const ks = keys(plan, 'bg_rules');
    expect(ks).toHaveLength(8);
    expect(ks).toContain(rk(9, 0, 17, 3)); // AF_PACKET, SOCK_RAW
    expect(ks).toContain(rk(9, 0, 2, 3)); // AF_INET, SOCK_RAW
    expect(
      keys(
        compile(one({ kind: 'socket', families: ['inet6'], types: ['any'] }), LSM, { gen: 0 }),
        'bg_rules',
      ),
    ).toEqual([rk(9, 0, 10, ANY)]);
    expect(
      keys(compile(one({ kind: 'socket', families: ['any'], types: ['any'] }), LSM, { gen: 0 }), 'bg_rules'),
    ).toEqual([rk(9, 0, ANY, ANY)]);
  });

  it('device: trailing wildcards; a wildcard major with a concrete minor is rejected', () => {
    const m: Match = {
      kind: 'device',
      devices: [
        { type: 'block', major: 8, minor: null },
        { type: 'char', major: null, minor: null },
      ],
      access: ['write', 'mknod'],
    };
    expect(keys(compile(one(m), NO_LSM, { gen: 0 }), 'bg_rules').sort()).toEqual(
      [
        rk(12, 2, 0x62, 8, ANY),
        rk(12, 2, 0x63, ANY, ANY),
        rk(12, 3, 0x62, 8, ANY),
        rk(12, 3, 0x63, ANY, ANY),
      ].sort(),
    );
    const bad: Match = {
      kind: 'device',
      devices: [{ type: 'char', major: null, minor: 3 }],
      access: ['read'],
    };
    expect(() => compile(one(bad), NO_LSM, { gen: 0 })).toThrow(UnencodableError);
  });

  it('mount, bpf, module, ptrace, setuid, kprobe', () => {
    const k = (m: Match) => keys(compile(one(m), LSM, { gen: 0 }), 'bg_rules').sort();
    // mount: also the key of a type the hook cannot know (a bind or move by mount(2)): fail closed
    expect(k({ kind: 'mount', operations: ['mount', 'umount'], fsTypes: [] })).toEqual(
      [rk(7, 1, ANY), rk(7, 2, ANY)].sort(),
    );
    expect(k({ kind: 'mount', operations: ['mount'], fsTypes: ['proc'] })).toEqual(
      [rk(7, 1, fnv1a32('proc')), rk(7, 1, MOUNT_TYPE_UNRESOLVED)].sort(),
    );
    expect(k({ kind: 'mount', operations: ['umount', 'pivot_root'], fsTypes: ['proc'] })).toEqual(
      [rk(7, 2, fnv1a32('proc')), rk(7, 3, fnv1a32('proc'))].sort(),
    );
    expect(k({ kind: 'bpf', commands: [] })).toEqual([rk(5, 0, ANY)]);
    expect(k({ kind: 'bpf', commands: ['BPF_PROG_LOAD', 'BPF_MAP_CREATE'] })).toEqual(
      [rk(5, 0, 0), rk(5, 0, 5)].sort(),
    );
    expect(k({ kind: 'module' })).toEqual([rk(4, 1, ANY), rk(4, 2, ANY)]);
    expect(k({ kind: 'ptrace', modes: ['attach', 'read'] })).toEqual([rk(6, 1, 0), rk(6, 2, 0)]);
    expect(k({ kind: 'setuid', to: 'any', ids: ['uid'] })).toEqual([rk(8, 2, 0)]);
    const plan = compile(set(policy('p', [rule('a', MATCHES.bpf!), rule('k', MATCHES.kprobe!)])), LSM, {
      gen: 0,
    });
    expect(keys(plan, 'bg_rules')).toContain(rk(14, 0, 1)); // a = the kprobe rule's id
    expect(plan.programs.find((p) => p.program === 'bg_kprobe')?.attach).toEqual({
      type: 'kprobe',
      function: 'commit_creds',
      cookie: 1,
    });
  });

  it('connect: one entry per port per CIDR per protocol', () => {
    const m: Match = {
      kind: 'connect',
      addresses: [cidr('10.0.0.0/8'), cidr('fd00::/8')],
      ports: [
        { from: 80, to: 81 },
        { from: 81, to: 82 },
      ],
      protocols: ['tcp', 'udp'],
    };
    const plan = compile(one(m), NO_LSM, { gen: 0 });
    const ks = keys(plan, 'bg_net_rules');
    expect(ks).toHaveLength(2 * 3 * 2); // 2 CIDRs x ports 80,81,82 x 2 protocols
    const v4 = cidr('10.0.0.0/8');
    expect(ks).toContain(encodeNetKey({ gen: 0, slot: 0, kind: 10, proto: 17, port: 82, ...v4 }));
    // connect() of both families (and IPv4 through IPv6 sockets), UDP datagrams without connect()
    expect(plan.rules[0]!.programs).toEqual([
      'bg_cg_connect4',
      'bg_cg_connect6',
      'bg_cg_sendmsg4',
      'bg_cg_sendmsg6',
    ]);
  });

  it('connect: no address, port or protocol given means any, in both families', () => {
    const m: Match = { kind: 'bind', addresses: [], ports: [], protocols: ['any'] };
    const ks = keys(compile(one(m), NO_LSM, { gen: 0 }), 'bg_net_rules').sort();
    const any = (family: 4 | 6) =>
      encodeNetKey({
        gen: 0,
        slot: 0,
        kind: 11,
        proto: 0,
        port: 0,
        family,
        address: new Uint8Array(family === 4 ? 4 : 16),
        bits: 0,
      });
    expect(ks).toEqual([any(4), any(6)].sort());
  });

  it('a port range including 0 is rejected (0 means any port)', () => {
    const m: Match = { kind: 'connect', addresses: [], ports: [{ from: 0, to: 10 }], protocols: ['tcp'] };
    expect(() => compile(one(m), NO_LSM, { gen: 0 })).toThrow(UnencodableError);
  });

  it('a map that would overflow is a capacity error', () => {
    const m: Match = {
      kind: 'connect',
      addresses: [cidr('10.0.0.0/8'), cidr('192.168.0.0/16')],
      ports: [{ from: 1, to: 65535 }],
      protocols: ['tcp'],
    };
    expect(() => compile(one(m), NO_LSM, { gen: 0 })).toThrow(MapCapacityError);
  });

  it('unavailable rules write no entries', () => {
    const plan = compile(one(MATCHES.capability!), NO_LSM, { gen: 0 });
    expect(keys(plan, 'bg_rules')).toEqual([]);
    expect(config(plan).kindSlots(3)).toBe(0n);
    expect(plan.warnings).toHaveLength(1);
    expect(plan.warnings[0]).toMatch(/policy p, rule r: asked block, achieves unavailable/);
  });

  it('two rules on one key: the stronger action keeps it, with a warning', () => {
    const plan = compile(
      set(policy('p', [rule('audit-it', MATCHES.bpf!, { action: 'audit' }), rule('block-it', MATCHES.bpf!)])),
      LSM,
      { gen: 0 },
    );
    expect(entries(plan, 'bg_rules').map((e) => e.value)).toEqual([encodeRuleVal(1, 3, 0)]);
    expect(plan.warnings.join('\n')).toMatch(/rule audit-it shares a bg_rules key with rule block-it/);
  });
});

describe('audit mode', () => {
  it('policy mode audit: dry-run flag, achieved still shows what would happen', () => {
    const plan = compile(set(policy('p', [rule('r', MATCHES.exec!)], { mode: 'audit' })), NO_LSM, { gen: 0 });
    expect(plan.rules[0]).toMatchObject({ achieved: 'kill', dryRun: true });
    expect(plan.policies[0]!.mode).toBe('audit');
    expect(new Set(entries(plan, 'bg_path_rules').map((e) => e.value))).toEqual(
      new Set([encodeRuleVal(0, 4, 1)]),
    );
    expect(config(plan).dryrun).toBe(1n);
  });

  it('options.audit puts every policy in audit mode', () => {
    const plan = compile(
      set(policy('a', [rule('r', MATCHES.bpf!)]), policy('b', [rule('r', MATCHES.ptrace!)])),
      LSM,
      {
        gen: 0,
        audit: true,
      },
    );
    expect(plan.rules.every((r) => r.dryRun && r.achieved === 'block')).toBe(true);
    expect(config(plan).dryrun).toBe(0b11n);
  });
});

describe('allowlist posture', () => {
  const allow = policy(
    'nginx',
    [
      rule('binaries', { kind: 'exec', paths: ['/usr/sbin/nginx'], directories: [] }, { action: 'allow' }),
      rule('upstream', MATCHES.connect!, { action: 'allow' }),
      rule('no-shadow', MATCHES.file!),
    ],
    { defaultAction: 'block' },
  );

  it('default_block and default_action for kinds with an allow rule only', () => {
    const plan = compile(set(allow), NO_LSM, { gen: 0 });
    const c = config(plan);
    expect(c.defaultBlock(1)).toBe(1n); // exec
    expect(c.defaultBlock(10)).toBe(1n); // connect
    expect(c.defaultBlock(2)).toBe(0n); // file: no allow rule, not an allowlist
    expect(c.defaultBlock(11)).toBe(0n); // bind
    expect(c.kindSlots(10)).toBe(1n);
    expect(c.defaultAction(0)).toBe(3);
    // a posture a tracepoint serves is a kill, or sys_enter and sched_process_exec would ignore its misses
    expect(c.defaultKill(1)).toBe(1n); // exec: tp_btf/sched_process_exec here
    expect(c.defaultKill(10)).toBe(0n); // connect: the cgroup hooks deny
    expect(plan.policies[0]!.defaults?.map((d) => [d.kind, d.achieved, d.downgraded])).toEqual([
      ['exec', 'kill', true],
      ['connect', 'block', false],
    ]);
    expect(plan.rules[0]).toMatchObject({ achieved: 'allow', downgraded: false });
    expect(entries(plan, 'bg_path_rules').some((e) => e.value === encodeRuleVal(0, 1, 0))).toBe(true);
    expect(plan.exeIds).toEqual({ '/usr/sbin/nginx': 1 });
    expect(plan.warnings.join('\n')).toMatch(/policy nginx, default for exec: asked block, achieves kill/);
  });

  it('default_action block where a miss of every kind is denied (BPF-LSM)', () => {
    const plan = compile(set(allow), LSM, { gen: 0 });
    expect(config(plan).defaultAction(0)).toBe(3);
    expect(plan.policies[0]!.defaults?.map((d) => [d.kind, d.achieved])).toEqual([
      ['exec', 'block'],
      ['connect', 'block'],
    ]);
  });

  it('a bind allowlist kills listen() without bind() where only sys_enter sees it, and denies it on BPF-LSM', () => {
    const p = policy('web', [rule('http', MATCHES.bind!, { action: 'allow' })], { defaultAction: 'block' });
    const host = compile(set(p), NO_LSM, { gen: 0 });
    expect(config(host).defaultKill(11)).toBe(1n);
    expect(host.policies[0]!.defaults).toMatchObject([
      {
        kind: 'bind',
        achieved: 'kill-after',
        programs: ['bg_cg_bind4', 'bg_cg_bind6', 'bg_tp_sys_listen'],
        downgraded: true,
      },
    ]);
    expect(host.policies[0]!.defaults![0]!.reason).toMatch(
      /listen\(\) without bind\(\): raw_tp\/sys_enter kills the process with SIGKILL on return from the system call/,
    );
    const lsm = compile(set(p), LSM, { gen: 0 });
    expect(config(lsm).defaultKill(11)).toBe(0n);
    expect(lsm.policies[0]!.defaults).toMatchObject([
      { kind: 'bind', achieved: 'block', programs: ['bg_cg_bind4', 'bg_cg_bind6', 'bg_lsm_socket_listen'] },
    ]);
  });

  it('no posture when defaultAction is allow', () => {
    const plan = compile(set({ ...allow, defaultAction: 'allow' }), NO_LSM, { gen: 0 });
    expect(config(plan).defaultBlock(1)).toBe(0n);
    expect(config(plan).defaultAction(0)).toBe(0);
  });
});

describe('scope and exceptions', () => {
  const scoped = set(
    policy(
      'b-services',
      [
        rule('shells', MATCHES.exec!, {
          unless: {
            executables: ['/usr/bin/sudo'],
            digests: {},
            contents: [],
            uids: [0, 1000],
            euids: [0],
            cgroups: ['/system.slice/ok.service'],
          },
        }),
      ],
      {
        scope: scope({
          uids: [1000],
          executables: ['/usr/sbin/sshd'],
          cgroups: ['/system.slice/**'],
          processes: 'host',
        }),
      },
    ),
    policy('a-all', [rule('r', MATCHES.bpf!)], {
      scope: scope({ uids: [1000, 33], processes: 'containers' }),
    }),
  );

  it('scope masks, uid and exe scope entries, exe ids in path order', () => {
    const plan = compile(scoped, NO_LSM, { gen: 0 });
    expect(plan.exeIds).toEqual({ '/usr/bin/sudo': 1, '/usr/sbin/sshd': 2 });
    const c = config(plan);
    expect(c.anyCgroup).toBe(0b01n);
    expect(c.anyUid).toBe(0n);
    expect(c.anyExe).toBe(0b01n);
    expect(c.hostOnly).toBe(0b10n);
    expect(c.containersOnly).toBe(0b01n);
    expect(entries(plan, 'bg_scope_uid')).toEqual(
      [encodeIdScope(33, 0b01n, 0), encodeIdScope(1000, 0b11n, 0)].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    // the exe id of a process whose executable's path could not be built: every executable scope
    // with and without EXE_ID_VERIFIED (a process that runs a pinned content carries the bit)
    expect(entries(plan, 'bg_scope_exe')).toEqual([
      encodeIdScope(2, 0b10n, 0),
      encodeIdScope((2 | EXE_ID_VERIFIED) >>> 0, 0b10n, 0),
      encodeIdScope(EXE_ID_UNRESOLVED, 0b10n, 0),
    ]);
    expect(plan.policies[1]!.cgroups).toEqual(['/system.slice/**']);
    // no policy names an effective uid
    expect(c.anyEuid).toBe(0b11n);
    expect(entries(plan, 'bg_scope_euid')).toEqual([]);
  });

  it('effective uids are a scope of their own: a process must match uids and euids', () => {
    const plan = compile(
      set(
        policy('a', [rule('r', MATCHES.bpf!)], { scope: scope({ euids: [0] }) }),
        policy('b', [rule('r', MATCHES.bpf!)], { scope: scope({ uids: [1000], euids: [0, 33] }) }),
        policy('c', [rule('r', MATCHES.bpf!)]),
      ),
      NO_LSM,
      { gen: 1 },
    );
    const c = config(plan);
    expect(c.anyEuid).toBe(0b100n);
    expect(c.anyUid).toBe(0b101n);
    expect(entries(plan, 'bg_scope_euid')).toEqual(
      [encodeIdScope(0, 0b011n, 1), encodeIdScope(33, 0b010n, 1)].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    expect(entries(plan, 'bg_scope_uid')).toEqual([encodeIdScope(1000, 0b010n, 1)]);
  });

  it('uid, euid and exe exceptions are entries; cgroup exceptions go to the loader', () => {
    const plan = compile(scoped, NO_LSM, { gen: 1 });
    const shells = plan.rules.find((r) => r.rule === 'shells')!;
    expect(
      entries(plan, 'bg_exceptions')
        .map((e) => e.key)
        .sort(),
    ).toEqual(
      [
        encodeUidException(shells.ruleId, 0, 1),
        encodeUidException(shells.ruleId, 1000, 1),
        encodeEuidException(shells.ruleId, 0, 1),
        encodeExeException(shells.ruleId, 1, 1),
        encodeExeException(shells.ruleId, (1 | EXE_ID_VERIFIED) >>> 0, 1),
      ]
        .map((e) => e.key)
        .sort(),
    );
    // the rule's values ask the programs to read the effective uid; the other policy's do not
    const flagsOf = (ruleId: number) =>
      entries(plan, 'bg_path_rules')
        .concat(entries(plan, 'bg_rules'))
        .filter((e) => Buffer.from(e.value, 'hex').readUInt32LE(0) === ruleId)
        .map((e) => Buffer.from(e.value, 'hex')[5]! & VAL_F_EXC_EUID);
    expect(flagsOf(shells.ruleId).length).toBeGreaterThan(0);
    expect(flagsOf(shells.ruleId).every((f) => f === VAL_F_EXC_EUID)).toBe(true);
    const r = plan.rules.find((x) => x.rule === 'r')!;
    expect(flagsOf(r.ruleId).every((f) => f === 0)).toBe(true);
    expect(plan.policies[1]!.exceptionsCgroups).toEqual([
      { ruleId: shells.ruleId, cgroups: ['/system.slice/ok.service'] },
    ]);
  });

  it('an exception that pins a digest names only the verified id; the plan carries the digests for the loader', () => {
    const digest = 'ab'.repeat(32);
    const pinned = set(
      policy('p', [
        rule('shells', MATCHES.exec!, {
          unless: {
            executables: ['/usr/bin/dpkg', '/usr/bin/sudo'],
            digests: { '/usr/bin/dpkg': [digest] },
            contents: [],
            uids: [],
            euids: [],
            cgroups: [],
          },
        }),
      ]),
    );
    const plan = compile(pinned, NO_LSM, { gen: 0 });
    const shells = plan.rules.find((r) => r.rule === 'shells')!;
    expect(plan.exeIds).toEqual({ '/usr/bin/dpkg': 1, '/usr/bin/sudo': 2 });
    expect(plan.exeDigests).toEqual({ '/usr/bin/dpkg': [digest] });
    expect(
      entries(plan, 'bg_exceptions')
        .map((e) => e.key)
        .sort(),
    ).toEqual(
      [
        encodeExeException(shells.ruleId, (1 | EXE_ID_VERIFIED) >>> 0, 0),
        encodeExeException(shells.ruleId, 2, 0),
        encodeExeException(shells.ruleId, (2 | EXE_ID_VERIFIED) >>> 0, 0),
      ]
        .map((e) => e.key)
        .sort(),
    );
    // no pin, no digests in the plan
    expect(compile(scoped, NO_LSM, { gen: 0 }).exeDigests).toBeUndefined();
  });

  it('an exception by content alone: its digest is an executable of its own, found by the hashing program where BPF-LSM hashes files', () => {
    const digest = 'cd'.repeat(32);
    const byContent = set(
      policy('p', [
        rule('shells', MATCHES.exec!, {
          unless: { executables: [], digests: {}, contents: [digest], uids: [], euids: [], cgroups: [] },
        }),
      ]),
    );
    const plan = compile(byContent, LSM, { gen: 0 });
    const shells = plan.rules.find((r) => r.rule === 'shells')!;
    expect(plan.exeIds).toEqual({ [`sha256:${digest}`]: 1 });
    expect(entries(plan, 'bg_exceptions').map((e) => e.key)).toEqual([
      encodeExeException(shells.ruleId, 1, 0).key,
    ]);
    expect(entries(plan, 'bg_exe_contents')).toEqual([encodeExeContent(digest, 1)]);
    const names = plan.programs.map((p) => p.program);
    expect(names).toEqual(
      expect.arrayContaining(['bg_lsm_exe_content', 'bg_tp_exec', 'bg_tp_fork', 'bg_tp_exit']),
    );
    expect(plan.warnings).toEqual([]);

    // where no BPF-LSM hashes files: nothing excepted (the rule applies), and said
    const host = compile(byContent, NO_LSM, { gen: 0 });
    expect(entries(host, 'bg_exceptions')).toEqual([]);
    expect(host.maps.find((m) => m.map === 'bg_exe_contents')).toBeUndefined();
    expect(host.programs.map((p) => p.program)).not.toContain('bg_lsm_exe_content');
    expect(host.warnings).toContainEqual(
      expect.stringMatching(
        /^policy p, rule shells: exceptions by content alone \(sha256 without a path\) need BPF-LSM hashing files with bpf_ima_file_hash \(no BPF-LSM\): here they except nothing \(the rule applies\)$/,
      ),
    );
  });

  it('executables in use load the tracking programs', () => {
    const names = compile(scoped, NO_LSM, { gen: 0 }).programs.map((p) => p.program);
    expect(names).toEqual(expect.arrayContaining(['bg_tp_exec', 'bg_tp_fork', 'bg_tp_exit']));
    const plain = compile(one(MATCHES.bpf!), LSM, { gen: 0 }).programs.map((p) => p.program);
    expect(plain).toEqual(['bg_lsm_bpf']);
  });

  it('executable scope without tracepoints makes the policy unavailable, loudly', () => {
    const f = { ...LSM, tracepoints: { available: false, reason: 'no tracefs' } };
    const plan = compile(scoped, f, { gen: 0 });
    expect(plan.rules.find((r) => r.rule === 'shells')).toMatchObject({
      achieved: 'unavailable',
      downgraded: true,
    });
    expect(plan.warnings.join('\n')).toMatch(/executable exceptions never apply/);
  });

  it('exe ids already assigned are kept; the id of a path no longer named is not given to another', () => {
    // /gone's processes still carry 2, and bg_exe_ids still maps /gone to 2: sudo's scope must not reach them
    const plan = compile(scoped, NO_LSM, { gen: 1, exeIds: { '/usr/sbin/sshd': 1, '/gone': 2 } });
    expect(plan.exeIds).toEqual({ '/usr/bin/sudo': 3, '/usr/sbin/sshd': 1 });
  });
});

describe('determinism', () => {
  it('the same input gives the same bytes, whatever the input order', () => {
    const a = set(policy('x', [rule('r', MATCHES.exec!)]), policy('y', [rule('r', MATCHES.connect!)]));
    const b = set(a.policies[1]!, a.policies[0]!);
    const s1 = JSON.stringify(compile(a, NO_LSM, { gen: 0 }));
    expect(JSON.stringify(compile(a, NO_LSM, { gen: 0 }))).toBe(s1);
    expect(JSON.stringify(compile(b, NO_LSM, { gen: 0 }))).toBe(s1);
  });
});

describe('paths the programs cannot build (fail closed)', () => {
  const unresolvedKey = (kind: number, op: number, slot = 0) =>
    encodePathKey({ gen: 0, slot, kind, op, path: PATH_UNRESOLVED_TARGET, prefix: false });
  const valueAt = (plan: Plan, key: string) =>
    entries(plan, 'bg_path_rules').find((e) => e.key === key)?.value;

  it('a block or kill rule decides an unresolved path of its operations; audit and allow rules do not', () => {
    const file: Match = { kind: 'file', paths: [], directories: ['/etc'], operations: ['write'] };
    const exec: Match = { kind: 'exec', paths: ['/usr/bin/nc'], directories: [] };
    const plan = compile(
      set(
        policy('p', [
          rule('audit-read', { ...file, operations: ['read'] }, { action: 'audit' }),
          rule('block-write', file),
          rule('kill-nc', exec, { action: 'kill' }),
          rule(
            'allow-unlink',
            { ...file, directories: ['/tmp'], operations: ['unlink'] },
            { action: 'allow' },
          ),
        ]),
      ),
      LSM,
      { gen: 0 },
    );
    expect(valueAt(plan, unresolvedKey(2, 2))).toBe(encodeRuleVal(1, 3, 0));
    expect(valueAt(plan, unresolvedKey(1, 0))).toBe(encodeRuleVal(2, 4, 0));
    expect(valueAt(plan, unresolvedKey(2, 1))).toBeUndefined();
    expect(valueAt(plan, unresolvedKey(2, 4))).toBeUndefined();
    expect(plan.warnings).toEqual([]);
  });

  it('the strongest rule of the slot decides, then the first; audit mode keeps the dry-run flag', () => {
    const write = (dir: string): Match => ({
      kind: 'file',
      paths: [],
      directories: [dir],
      operations: ['write'],
    });
    const rules = [
      rule('b1', write('/etc')),
      rule('k', write('/root'), { action: 'kill' }),
      rule('b2', write('/usr')),
    ];
    const plan = compile(set(policy('p', rules, { mode: 'audit' })), LSM, { gen: 0 });
    expect(valueAt(plan, unresolvedKey(2, 2))).toBe(encodeRuleVal(1, 4, 1));
    const blocks = compile(set(policy('p', [rules[0]!, rules[2]!])), LSM, { gen: 0 });
    expect(valueAt(blocks, unresolvedKey(2, 2))).toBe(encodeRuleVal(0, 3, 0));
  });

  it('unresolved: allow opts a rule out', () => {
    const m: Match = { kind: 'file', paths: ['/etc/shadow'], directories: [], operations: ['read'] };
    const plan = compile(one(m, { unresolved: 'allow' }), LSM, { gen: 0 });
    expect(valueAt(plan, unresolvedKey(2, 1))).toBeUndefined();
    expect(keys(plan, 'bg_path_rules')).toHaveLength(1);
  });
});
