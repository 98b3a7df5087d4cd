// Records and rules for event tests: one realistic record per kind, laid out
// as bpf/lib/abi.h describes the arg[]/path/aux fields.
import { EVENT_LAYOUT, EVENT_SIZE, Outcome, type OutcomeName } from '../../src/abi/layout.ts';
import type { PlannedRule } from '../../src/abi/plan.ts';
import { type BuildContext, buildEvent } from '../../src/events/build.ts';
import { IdGenerator } from '../../src/events/id.ts';
import type { ViolationEvent } from '../../src/events/types.ts';
import type { DecodedRecord } from '../../src/kernel/record.ts';
import { Kind, type RuleKind as KindName } from '../../src/kinds/index.ts';
import { RULE_KINDS } from '../../src/policy/model.ts';

const cstr = (s: string, size = 128): Uint8Array => {
  const b = new Uint8Array(size);
  b.set(new TextEncoder().encode(s).subarray(0, size - 1));
  return b;
};
const ip4 = (a: number[]): Uint8Array => {
  const b = new Uint8Array(128);
  b.set(a);
  return b;
};

export function record(kind: KindName, over: Partial<DecodedRecord> = {}): DecodedRecord {
  const base: DecodedRecord = {
    bootNs: 5_000_000_123n,
    cgroupId: 4242n,
    ruleId: 0,
    pid: 3001,
    tgid: 3000,
    ppid: 1,
    uid: 1000,
    gid: 1000,
    euid: 1000,
    ret: -1,
    kind,
    action: 'block',
    mechanism: 'lsm',
    op: 0,
    outcome: 'denied',
    slot: 0,
    flags: 0,
    exeId: 0,
    gen: 0,
    repeats: 0n,
    target: 0n,
    args: [0n, 0n, 0n, 0n],
    comm: 'tester',
    path: '',
    aux: new Uint8Array(128),
  };
  const perKind: Record<KindName, Partial<DecodedRecord>> = {
    exec: { path: '/usr/bin/nc' },
    file: { path: '/etc/shadow', op: 1 },
    capability: { args: [21n, 0n, 0n, 0n] },
    module: { path: '/tmp/evil.ko', op: 1, args: [1n, 0n, 0n, 0n] },
    bpf: { args: [5n, 0n, 0n, 0n] },
    ptrace: { op: 1, args: [1234n, 1n, 0n, 0n] },
    mount: { op: 1, path: '/mnt/x', aux: cstr('tmpfs'), args: [2n | 4n, 0n, 0n, 0n] },
    setuid: { op: 1, args: [1000n, 0n, 0n, 0n] },
    socket: { mechanism: 'cgroup', args: [2n, 3n, 1n, 0n] },
    connect: { mechanism: 'cgroup', args: [4n, 4444n, 6n, 0n], aux: ip4([203, 0, 113, 7]) },
    bind: { mechanism: 'cgroup', args: [4n, 8080n, 6n, 0n], aux: ip4([0, 0, 0, 0]) },
    ingress: {
      mechanism: 'tc',
      pid: 0,
      tgid: 0,
      args: [4n, 23n, 6n, 40000n | (9n << 16n)],
      aux: Uint8Array.from([10, 9, 0, 2, ...new Array(12).fill(0), 10, 9, 0, 1, ...new Array(108).fill(0)]),
    },
    egress: {
      mechanism: 'tc',
      pid: 0,
      tgid: 0,
      args: [6n, 443n, 17n, 5353n],
      aux: Uint8Array.from([
        0xfd,
        0,
        ...new Array(13).fill(0),
        2,
        0xfd,
        0,
        ...new Array(13).fill(0),
        1,
        ...new Array(96).fill(0),
      ]),
    },
    device: { mechanism: 'cgroup', op: 2, args: [99n, 1n, 1n, 4n] },
    sysctl: {
      mechanism: 'cgroup',
      op: 2,
      path: 'kernel/hostname',
      aux: cstr('pwned\n'),
      args: [2n, 0n, 0n, 0n],
    },
    kprobe: {
      mechanism: 'kprobe',
      action: 'audit',
      outcome: 'allowed',
      ret: 0,
      path: 'commit_creds',
      args: [0xffff888000000000n, 1n, 0n, 0n],
    },
    uprobe: {
      mechanism: 'uprobe',
      action: 'audit',
      outcome: 'allowed',
      ret: 0,
      path: 'id -u',
      args: [0x5566778899an, 0n, 0n, 1n],
    },
  };
  return { ...base, ...perKind[kind], ...over };
}

export function rule(kind: KindName, over: Partial<PlannedRule> = {}): PlannedRule {
  return {
    ruleId: 0,
    policy: 'baseline',
    rule: `no-${kind}`,
    kind,
    action: 'block',
    achieved: 'block',
    mechanism: 'lsm',
    programs: [],
    dryRun: false,
    downgraded: false,
    reason: '',
    severity: 'high',
    tags: ['T1611', 'container-escape'],
    message: `blocked ${kind}`,
    source: 'policies/baseline.yaml:10:5',
    ...over,
  };
}

export const KINDS: KindName[] = [...RULE_KINDS];

export const CLOCK = { offsetNs: 1_764_000_000_000_000_000n };

export function ctx(over: Partial<BuildContext> = {}): BuildContext {
  return {
    host: 'web-1.example.com',
    mode: 'enforce',
    enrichment: {
      executable: '/usr/bin/tester',
      args: ['tester', '--flag'],
      parentExecutable: '/usr/bin/bash',
      user: 'alice',
      cgroupPath:
        '/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope',
      containerId: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      containerRuntime: 'docker',
    },
    clock: CLOCK,
    ids: new IdGenerator(),
    ...over,
  };
}

/** One violation event of each kind, with every outcome spread over them. */
export function sampleEvents(host = 'web-1.example.com'): ViolationEvent[] {
  const outcomes = Object.keys(Outcome) as OutcomeName[];
  const c = ctx({ host });
  return KINDS.map((k, i) => {
    const o = outcomes[i % outcomes.length]!;
    const r = record(k, { outcome: o, action: o.includes('kill') ? 'kill' : 'block' });
    return buildEvent(r, rule(k, { dryRun: o.startsWith('would') }), c);
  });
}

/** A raw ring-buffer record: a file audit record (allowed, tracepoint), every field then open to `set`. */
export function recordBytes(set: (dv: DataView, bytes: Uint8Array) => void): Uint8Array {
  const bytes = new Uint8Array(EVENT_SIZE);
  const dv = new DataView(bytes.buffer);
  bytes[EVENT_LAYOUT.kind.offset] = Kind.file;
  bytes[EVENT_LAYOUT.action.offset] = 2;
  bytes[EVENT_LAYOUT.mechanism.offset] = 3;
  bytes[EVENT_LAYOUT.outcome.offset] = Outcome.allowed;
  set(dv, bytes);
  return bytes;
}
