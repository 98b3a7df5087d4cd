import { describe, expect, it } from 'vitest';
import type { FeatureSet } from '../../../src/abi/features.ts';
import { decide, postureUnits, unitsOf } from '../../../src/compiler/ladder.ts';
import type { Match } from '../../../src/policy/model.ts';
import { cidr, MATCHES } from '../../support/builders.ts';
import { FMOD_RET, LSM, NO_LSM } from '../../support/features.ts';

const m = (kind: string): Match => MATCHES[kind]!;
const block = (kind: string, f: FeatureSet) => decide(m(kind).kind, 'block', unitsOf(m(kind)), f);

// kind -> [achieved, mechanism, programs, downgraded], asked: block
const ON_LSM: Record<string, [string, string | null, string[], boolean]> = {
  exec: ['block', 'lsm', ['bg_lsm_bprm_check', 'bg_lsm_file_mprotect', 'bg_lsm_mmap_file'], false],
  file: ['block', 'lsm', ['bg_lsm_file_open'], false],
  capability: ['block', 'lsm', ['bg_lsm_capable'], false],
  module: ['block', 'lsm', ['bg_lsm_kernel_load_data', 'bg_lsm_kernel_read_file'], false],
  bpf: ['block', 'lsm', ['bg_lsm_bpf'], false],
  ptrace: ['block', 'lsm', ['bg_lsm_ptrace'], false],
  mount: ['block', 'lsm', ['bg_lsm_move_mount', 'bg_lsm_sb_mount'], false],
  setuid: ['block', 'lsm', ['bg_lsm_task_fix_setuid'], false],
  socket: ['block', 'lsm', ['bg_lsm_socket_create'], false],
  connect: ['block', 'cgroup', ['bg_cg_connect4', 'bg_cg_connect6'], false],
  bind: ['block', 'cgroup', ['bg_cg_bind4', 'bg_cg_bind6'], false],
  device: ['block', 'cgroup', ['bg_cg_dev'], false],
  sysctl: ['block', 'cgroup', ['bg_cg_sysctl'], false],
  kprobe: ['audit', 'kprobe', ['bg_kprobe'], true],
};

// BPF-LSM built but not active: the same decisions by fmod_ret on the security_* functions
const ON_FMOD_RET: Record<string, [string, string | null, string[], boolean]> = {
  exec: ['block', 'fmod_ret', ['bg_fmr_bprm_check', 'bg_fmr_file_mprotect', 'bg_fmr_mmap_file'], false],
  file: ['block', 'fmod_ret', ['bg_fmr_file_open'], false],
  capability: ['block', 'fmod_ret', ['bg_fmr_capable'], false],
  module: ['block', 'fmod_ret', ['bg_fmr_kernel_load_data', 'bg_fmr_kernel_read_file'], false],
  bpf: ['block', 'fmod_ret', ['bg_fmr_bpf'], false],
  ptrace: ['block', 'fmod_ret', ['bg_fmr_ptrace'], false],
  mount: ['block', 'fmod_ret', ['bg_fmr_move_mount', 'bg_fmr_sb_mount'], false],
  setuid: ['block', 'fmod_ret', ['bg_fmr_task_fix_setuid'], false],
  socket: ['block', 'fmod_ret', ['bg_fmr_socket_create'], false],
  connect: ['block', 'cgroup', ['bg_cg_connect4', 'bg_cg_connect6'], false],
  bind: ['block', 'cgroup', ['bg_cg_bind4', 'bg_cg_bind6'], false],
  device: ['block', 'cgroup', ['bg_cg_dev'], false],
  sysctl: ['block', 'cgroup', ['bg_cg_sysctl'], false],
  kprobe: ['audit', 'kprobe', ['bg_kprobe'], true],
};

// no BPF-LSM, no fmod_ret: an exec is killed before the new program runs; other calls complete, then the caller dies
const ON_NO_LSM: Record<string, [string, string | null, string[], boolean]> = {
  exec: ['kill', 'tracepoint', ['bg_tp_exec'], true],
  file: ['kill-after', 'tracepoint', ['bg_tp_sys_enter'], true],
  capability: ['unavailable', null, [], true],
  module: ['kill-after', 'tracepoint', ['bg_tp_sys_enter'], true],
  bpf: ['kill-after', 'tracepoint', ['bg_tp_sys_enter'], true],
  ptrace: ['kill-after', 'tracepoint', ['bg_tp_sys_enter'], true],
  mount: ['kill-after', 'tracepoint', ['bg_tp_sys_enter'], true],
  setuid: ['kill-after', 'tracepoint', ['bg_tp_sys_enter'], true],
  socket: ['block', 'cgroup', ['bg_cg_sock_create'], false],
  connect: ['block', 'cgroup', ['bg_cg_connect4', 'bg_cg_connect6'], false],
  bind: ['block', 'cgroup', ['bg_cg_bind4', 'bg_cg_bind6'], false],
  device: ['block', 'cgroup', ['bg_cg_dev'], false],
  sysctl: ['block', 'cgroup', ['bg_cg_sysctl'], false],
  kprobe: ['unavailable', null, [], true],
};

describe('the ladder, every kind, asked block', () => {
  for (const [name, f, table] of [
    ['lsm', LSM, ON_LSM],
    ['fmod-ret', FMOD_RET, ON_FMOD_RET],
    ['no-lsm', NO_LSM, ON_NO_LSM],
  ] as const) {
    for (const [kind, [achieved, mechanism, programs, downgraded]] of Object.entries(table)) {
      it(`${kind} on ${name}: ${achieved}`, () => {
        const d = block(kind, f);
        expect({
          achieved: d.achieved,
          mechanism: d.mechanism,
          programs: d.programs,
          downgraded: d.downgraded,
        }).toEqual({ achieved, mechanism, programs, downgraded });
        expect(d.reason.length).toBeGreaterThan(0);
      });
    }
  }
});

describe('reasons say what the attacker still gets', () => {
  it('a system-call kill says the call completes', () => {
    const d = block('file', NO_LSM);
    expect(d.reason).toMatch(
      /on return from the system call, which has completed \(kill-after: its effects stay\)/,
    );
    expect(d.reason).toMatch(/lsm\/file_open: lsm\/ program load: EPERM/);
    expect(d.reason).toMatch(
      /fmod_ret\/security_file_open: fmod_ret\/security_sb_statfs \(bg_fmr_probe\) load: EPERM/,
    );
  });
  it('an fmod_ret denial says it stands in for BPF-LSM, and is no downgrade', () => {
    const d = block('file', FMOD_RET);
    expect(d.reason).toMatch(
      /denies with EPERM before the action happens \(fmod_ret on the security_\* function: BPF-LSM is not active\)/,
    );
    expect(d.downgraded).toBe(false);
  });
  it('an exec kill says the program dies before its first instruction', () => {
    expect(block('exec', NO_LSM).reason).toMatch(/before its first instruction/);
  });
  it('capability without LSM names the missing hook', () => {
    expect(block('capability', NO_LSM).reason).toMatch(/no hook for capability.*lsm\/capable/);
  });
});

describe('asked kill, audit and allow', () => {
  it('kill on a cgroup kind is denied instead, noted, not a downgrade', () => {
    const d = decide('device', 'kill', unitsOf(m('device')), NO_LSM);
    expect(d).toMatchObject({ achieved: 'block', mechanism: 'cgroup', downgraded: false });
    expect(d.reason).toMatch(/cannot send signals/);
  });
  it('kill via LSM and fmod_ret (denied and killed), before an exec runs, and after a system call (a downgrade)', () => {
    expect(decide('exec', 'kill', unitsOf(m('exec')), LSM)).toMatchObject({
      achieved: 'kill',
      mechanism: 'lsm',
    });
    expect(decide('ptrace', 'kill', unitsOf(m('ptrace')), FMOD_RET)).toMatchObject({
      achieved: 'kill',
      mechanism: 'fmod_ret',
      downgraded: false,
    });
    // the exec itself is killed before its first instruction; a file mapped executable is not seen (a downgrade)
    const noLsm = decide('exec', 'kill', unitsOf(m('exec')), NO_LSM);
    expect(noLsm).toMatchObject({ achieved: 'kill', mechanism: 'tracepoint', downgraded: true });
    expect(noLsm.reason).toMatch(/not covered on this kernel: mapped executable/);
    // the ptrace attach has happened by the time the caller dies: weaker than the kill asked for
    expect(decide('ptrace', 'kill', unitsOf(m('ptrace')), NO_LSM)).toMatchObject({
      achieved: 'kill-after',
      mechanism: 'tracepoint',
      downgraded: true,
    });
  });
  it('without bpf_send_signal a block falls to audit', () => {
    const f = { ...NO_LSM, sendSignal: { available: false, reason: 'helper refused' } };
    const d = block('file', f);
    expect(d).toMatchObject({ achieved: 'audit', mechanism: 'tracepoint', downgraded: true });
    expect(d.reason).toMatch(/bpf_send_signal: helper refused/);
  });
  it('audit uses the cheapest hook and is never a downgrade', () => {
    expect(decide('file', 'audit', unitsOf(m('file')), LSM)).toMatchObject({
      achieved: 'audit',
      programs: ['bg_lsm_file_open'],
      downgraded: false,
    });
    expect(decide('file', 'audit', unitsOf(m('file')), NO_LSM)).toMatchObject({
      achieved: 'audit',
      programs: ['bg_tp_sys_enter'],
      downgraded: false,
    });
    expect(decide('kprobe', 'audit', unitsOf(m('kprobe')), LSM)).toMatchObject({
      achieved: 'audit',
      downgraded: false,
    });
    expect(decide('capability', 'audit', unitsOf(m('capability')), NO_LSM).achieved).toBe('unavailable');
  });
  it('allow where the kind has a hook', () => {
    // exec's executable mappings, which no tracepoint sees, are no part of an allow rule
    expect(decide('exec', 'allow', unitsOf(m('exec')), NO_LSM)).toMatchObject({
      achieved: 'allow',
      downgraded: false,
    });
    const none = { ...NO_LSM, tracepoints: { available: false, reason: 'no tracefs' } };
    expect(decide('exec', 'allow', unitsOf(m('exec')), none)).toMatchObject({
      achieved: 'unavailable',
      downgraded: true,
    });
  });
});

describe('sockets: every family, never two programs for one socket() call', () => {
  const sock = (families: string[], types: string[] = ['any']): Match =>
    ({ kind: 'socket', families, types }) as Match;
  const NO_TP = { ...NO_LSM, tracepoints: { available: false, reason: 'no tracefs' } };

  it('with BPF-LSM every family is denied by lsm/socket_create alone', () => {
    for (const fams of [['packet'], ['inet'], ['any'], ['inet', 'netlink']]) {
      for (const action of ['block', 'kill', 'audit'] as const) {
        const d = decide('socket', action, unitsOf(sock(fams)), LSM);
        expect(d).toMatchObject({ mechanism: 'lsm', programs: ['bg_lsm_socket_create'], downgraded: false });
        expect(d.achieved).toBe(action);
      }
    }
  });
  it('without BPF-LSM a packet socket is killed by raw sys_enter: block is downgraded to kill-after, with the reason', () => {
    const d = decide('socket', 'block', unitsOf(sock(['packet'])), NO_LSM);
    expect(d).toMatchObject({
      achieved: 'kill-after',
      mechanism: 'tracepoint',
      programs: ['bg_tp_sys_enter'],
      downgraded: true,
    });
    expect(d.reason).toMatch(
      /raw_tp\/sys_enter kills the process with SIGKILL on return from the system call/,
    );
    expect(d.reason).toMatch(/which has completed/);
    expect(d.reason).toMatch(/lsm\/socket_create: lsm\/ program load: EPERM/);
    expect(decide('socket', 'kill', unitsOf(sock(['packet'])), NO_LSM)).toMatchObject({
      achieved: 'kill-after',
      downgraded: true,
    });
  });
  it('without BPF-LSM inet and inet6 stay with the cgroup hook (denied), never raw sys_enter', () => {
    for (const action of ['block', 'kill', 'audit'] as const) {
      const d = decide('socket', action, unitsOf(sock(['inet', 'inet6'], ['raw'])), NO_LSM);
      expect(d).toMatchObject({ mechanism: 'cgroup', programs: ['bg_cg_sock_create'], downgraded: false });
      expect(d.achieved).toBe(action === 'audit' ? 'audit' : 'block');
    }
  });
  it('without BPF-LSM a rule over inet and other families is split: cgroup denies inet, sys_enter kills the rest', () => {
    const d = decide('socket', 'block', unitsOf(sock(['any'], ['raw'])), NO_LSM);
    expect(d).toMatchObject({
      achieved: 'kill-after',
      mechanism: 'tracepoint',
      programs: ['bg_cg_sock_create', 'bg_tp_sys_enter'],
      downgraded: true,
    });
    expect(d.reason).toMatch(/^inet, inet6: cgroup_inet_sock_create denies with EPERM/);
    expect(d.reason).toMatch(/any other family: raw_tp\/sys_enter kills the process with SIGKILL/);
    const kill = decide('socket', 'kill', unitsOf(sock(['inet', 'packet'])), NO_LSM);
    expect(kill).toMatchObject({ achieved: 'kill-after', downgraded: true });
    expect(decide('socket', 'audit', unitsOf(sock(['inet', 'packet'])), NO_LSM)).toMatchObject({
      achieved: 'audit',
      programs: ['bg_cg_sock_create', 'bg_tp_sys_enter'],
      downgraded: false,
    });
  });
  it('without bpf_send_signal the split rule falls to audit, and says why', () => {
    const f = { ...NO_LSM, sendSignal: { available: false, reason: 'helper refused' } };
    const d = decide('socket', 'block', unitsOf(sock(['inet', 'packet'])), f);
    expect(d).toMatchObject({ achieved: 'audit', mechanism: 'tracepoint', downgraded: true });
    expect(d.reason).toMatch(/bpf_send_signal: helper refused/);
  });
  it('without BPF-LSM and tracepoints, other families are not covered', () => {
    expect(decide('socket', 'block', unitsOf(sock(['packet'])), NO_TP)).toMatchObject({
      achieved: 'unavailable',
      downgraded: true,
    });
    const d = decide('socket', 'block', unitsOf(sock(['any'], ['raw'])), NO_TP);
    expect(d).toMatchObject({ achieved: 'block', mechanism: 'cgroup', downgraded: true });
    expect(d.reason).toMatch(/not covered on this kernel: any other family/);
    expect(d.reason).toMatch(/sees only inet and inet6 sockets/);
  });
});

describe('partial coverage is a downgrade', () => {
  it('connect to IPv6 without connect6', () => {
    const f = {
      ...NO_LSM,
      cgroupHooks: { ...NO_LSM.cgroupHooks, connect6: { available: false, reason: 'EINVAL' } },
    };
    const both: Match = {
      kind: 'connect',
      addresses: [cidr('10.0.0.0/8'), cidr('fd00::/8')],
      ports: [],
      protocols: ['any'],
    };
    const d = decide('connect', 'block', unitsOf(both), f);
    expect(d).toMatchObject({
      achieved: 'block',
      programs: ['bg_cg_connect4', 'bg_cg_sendmsg4', 'bg_cg_sendmsg6'],
      downgraded: true,
    });
    expect(d.reason).toMatch(/IPv6/);
    // an IPv4 rule needs connect6 too: ::ffff:a.b.c.d through an IPv6 socket
    const v4 = decide('connect', 'block', unitsOf(m('connect')), f);
    expect(v4.downgraded).toBe(true);
    expect(v4.reason).toMatch(/not covered on this kernel: IPv4 through IPv6 sockets/);
  });
  it('file via LSM needs bpf_d_path; without it the fmod_ret twins take the file hooks, where they work', () => {
    const f = { ...LSM, lsmDPath: { available: false, reason: 'bpf_d_path refused' } };
    expect(block('file', f)).toMatchObject({
      achieved: 'kill-after',
      mechanism: 'tracepoint',
      downgraded: true,
    });
    expect(block('capability', f)).toMatchObject({ achieved: 'block', mechanism: 'lsm' });
    const g = { ...f, fmodRet: FMOD_RET.fmodRet, fmodRetHooks: FMOD_RET.fmodRetHooks };
    expect(block('file', g)).toMatchObject({ achieved: 'block', mechanism: 'fmod_ret', downgraded: false });
    // beside an active BPF-LSM twin an fmod_ret program is never chosen
    expect(block('capability', g)).toMatchObject({ mechanism: 'lsm', programs: ['bg_lsm_capable'] });
  });
  it('a security_* function missing from the kernel takes its unit to the next rung, and says so', () => {
    const hooks = {
      ...FMOD_RET.fmodRetHooks,
      security_path_chown: {
        available: false,
        reason: 'security_path_chown is not a function in this kernel',
      },
    };
    const f = { ...FMOD_RET, fmodRetHooks: hooks };
    const all: Match = { ...m('file'), operations: ['write', 'chown'] } as Match;
    const d = decide('file', 'block', unitsOf(all), f);
    expect(d).toMatchObject({
      achieved: 'kill-after',
      mechanism: 'tracepoint',
      programs: ['bg_fmr_file_open', 'bg_tp_sys_enter'],
      downgraded: true,
    });
    expect(d.reason).toMatch(/^write: fmod_ret\/security_file_open denies with EPERM/);
    expect(d.reason).toMatch(/chown: raw_tp\/sys_enter kills the process/);
    expect(d.reason).toMatch(/security_path_chown is not a function in this kernel/);
    const only = decide('file', 'block', unitsOf({ ...all, operations: ['write'] } as Match), f);
    expect(only).toMatchObject({ achieved: 'block', mechanism: 'fmod_ret', downgraded: false });
  });
});

describe('allowlist postures', () => {
  it('file posture needs every file hook', () => {
    const d = decide('file', 'block', postureUnits('file'), LSM);
    expect(d.programs).toHaveLength(12);
    expect(d.achieved).toBe('block');
    const fmr = decide('file', 'block', postureUnits('file'), FMOD_RET);
    expect(fmr.programs).toHaveLength(12);
    expect(fmr.programs.every((n) => n.startsWith('bg_fmr_'))).toBe(true);
    expect(fmr.achieved).toBe('block');
    expect(decide('connect', 'block', postureUnits('connect'), NO_LSM).programs).toEqual([
      'bg_cg_connect4',
      'bg_cg_connect6',
      'bg_cg_sendmsg4',
      'bg_cg_sendmsg6',
    ]);
  });
});

describe('network rules: every way to reach the address is a unit', () => {
  const net = (kind: 'connect' | 'bind', over: Partial<Match & { kind: 'connect' }> = {}): Match =>
    ({ kind, addresses: [], ports: [], protocols: ['any'], ...over }) as Match;
  const labels = (x: Match) => unitsOf(x).map((u) => u.label);

  it('connect: connect() of each family, IPv4 through IPv6 sockets, and UDP datagrams sent without connect()', () => {
    expect(labels(net('connect'))).toEqual([
      'IPv4',
      'IPv4 through IPv6 sockets (::ffff:a.b.c.d)',
      'IPv6',
      'UDP datagrams without connect (IPv4)',
      'UDP datagrams without connect (IPv6)',
    ]);
    // an IPv4 rule needs connect6 too (::ffff:a.b.c.d); TCP only: no datagrams
    expect(decide('connect', 'block', unitsOf(MATCHES.connect!), NO_LSM)).toMatchObject({
      achieved: 'block',
      programs: ['bg_cg_connect4', 'bg_cg_connect6'],
      downgraded: false,
    });
    // IPv6 only: no IPv4 hooks
    const v6 = net('connect', { addresses: [cidr('fd00::/8')], protocols: ['udp'] });
    expect(decide('connect', 'block', unitsOf(v6), LSM).programs).toEqual([
      'bg_cg_connect6',
      'bg_cg_sendmsg6',
    ]);
  });

  it('bind to any port: listen() without bind() is denied by BPF-LSM, and only killed after the call by sys_enter', () => {
    const any = net('bind', { protocols: ['tcp'] });
    expect(labels(any)).toContain('listen() without bind()');
    expect(decide('bind', 'block', unitsOf(any), LSM)).toMatchObject({
      achieved: 'block',
      programs: ['bg_cg_bind4', 'bg_cg_bind6', 'bg_lsm_socket_listen'],
      downgraded: false,
    });
    const host = decide('bind', 'block', unitsOf(any), NO_LSM);
    expect(host).toMatchObject({
      achieved: 'kill-after',
      mechanism: 'tracepoint',
      programs: ['bg_cg_bind4', 'bg_cg_bind6', 'bg_tp_sys_listen'],
      downgraded: true,
    });
    expect(host.reason).toMatch(
      /listen\(\) without bind\(\): raw_tp\/sys_enter kills .* which has completed \(kill-after/,
    );
    expect(host.reason).toMatch(/lsm\/socket_listen: lsm\/ program load: EPERM/);
  });

  it('bind: listen() without bind() cannot match a rule with ports, a non-wildcard address, or UDP only', () => {
    const without = (x: Match) => expect(labels(x)).not.toContain('listen() without bind()');
    without(net('bind', { ports: [{ from: 8080, to: 8080 }] }));
    without(net('bind', { addresses: [cidr('10.0.0.0/8')] }));
    without(net('bind', { protocols: ['udp'] }));
    expect(labels(net('bind', { addresses: [cidr('0.0.0.0/0')] }))).toContain('listen() without bind()');
    expect(labels(net('bind', { addresses: [cidr('::/0')] }))).toContain('listen() without bind()');
  });
});
