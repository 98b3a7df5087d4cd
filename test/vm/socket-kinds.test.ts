// Socket rules of every family through BPF-LSM (lsm/socket_create), with the
// real daemon on Debian's 6.1 kernel under QEMU:
//   npx vitest run --project kernel test/vm/socket-kinds.test.ts
// `bpfgate run` in the background of the guest command (the daemon launcher's
// shell functions, test/support/daemon.ts), the attempts from
// python3 inside and outside a cgroup of the test's own, then SIGTERM.
import { beforeAll, describe, expect, it } from 'vitest';
import { CGROUP_TRACKING_PROGRAMS, type ProgramName } from '../../src/abi/programs.ts';
import { daemonShell } from '../support/daemon.ts';
import { GUEST_CGROUP2_ROOT, GUEST_IN, GUEST_OUT, type GuestResult, runInGuest } from '../support/guest.ts';

const CG = `${GUEST_CGROUP2_ROOT}/sk-test`;

const POLICY = `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: socket-kinds
spec:
  scope:
    cgroups: ["/sk-test/**"]
  rules:
    - id: packet
      kind: socket
      action: block
      message: a packet socket
      match:
        families: [packet]
    - id: packet-dgram
      kind: socket
      action: kill
      message: a cooked packet socket
      match:
        families: [packet]
        types: [dgram]
    - id: raw-inet
      kind: socket
      action: block
      message: a raw inet socket
      match:
        families: [inet]
        types: [raw]
`;

/** One socket: prints "ok" or "errno N" (not named socket.py: that would shadow the module). */
const SOCKET_PY = `import socket, sys
fam = {"packet": socket.AF_PACKET, "inet": socket.AF_INET, "netlink": socket.AF_NETLINK}[sys.argv[1]]
typ = {"raw": socket.SOCK_RAW, "dgram": socket.SOCK_DGRAM}[sys.argv[2]]
proto = socket.IPPROTO_ICMP if (sys.argv[1], sys.argv[2]) == ("inet", "raw") else 0
try:
    socket.socket(fam, typ | socket.SOCK_CLOEXEC, proto).close()
    print("ok")
except OSError as e:
    print("errno", e.errno)
`;

/** name, family, type, inside the cgroup? */
const ATTEMPTS = [
  ['packet-raw-in', 'packet', 'raw', true],
  ['packet-dgram-in', 'packet', 'dgram', true],
  ['inet-raw-in', 'inet', 'raw', true],
  ['netlink-in', 'netlink', 'raw', true],
  ['packet-raw-out', 'packet', 'raw', false],
] as const;

interface Outcome {
  rc: number;
  stdout: string;
  pid: number;
  stderr: string;
}

let res: GuestResult;
const got: Record<string, Outcome> = {};
// biome-ignore lint/suspicious/noExplicitAny: events are JSON lines, checked field by field
let events: Record<string, any>[] = [];

beforeAll(async () => {
  const attempt = ([name, fam, type, inside]: (typeof ATTEMPTS)[number]) => {
    const py = `exec /usr/bin/python3 ${GUEST_IN}/try_socket.py ${fam} ${type}`;
    const body = inside
      ? `echo $$ > ${CG}/cgroup.procs; echo $$ > ${GUEST_OUT}/${name}.pid; ${py}`
      : `echo $$ > ${GUEST_OUT}/${name}.pid; ${py}`;
    return `sh -c '${body}' > ${GUEST_OUT}/${name}.out 2> ${GUEST_OUT}/${name}.err; echo $? > ${GUEST_OUT}/${name}.rc`;
  };
  const script = [
    `mkdir ${CG}`,
    daemonShell(),
    `bpfgate_start ${GUEST_OUT}/events.jsonl ${GUEST_OUT}/daemon.log --policies ${GUEST_IN}/policies --cgroup ${CG} --log-level debug`,
    'D=$!',
    `wait_enforcing ${GUEST_OUT}/daemon.log $D || { echo "daemon did not start" >&2; exit 9; }`,
    ...ATTEMPTS.map(attempt),
    'sleep 2',
    'kill -TERM $D',
    'wait $D',
    `echo $? > ${GUEST_OUT}/daemon.rc`,
    `rmdir ${CG}`,
  ].join('\n');
  res = await runInGuest(script, {
    files: { 'policies/socket-kinds.yaml': POLICY, 'try_socket.py': SOCKET_PY },
    timeoutMs: 600_000,
  });
  if (res.exitCode !== 0) {
    throw new Error(`guest exit ${res.exitCode}\n${res.stderr}\n${res.outFiles['daemon.log'] ?? ''}`);
  }
  for (const [name] of ATTEMPTS) {
    got[name] = {
      rc: Number(res.outFiles[`${name}.rc`]),
      stdout: (res.outFiles[`${name}.out`] ?? '').trim(),
      pid: Number(res.outFiles[`${name}.pid`]),
      stderr: (res.outFiles[`${name}.err`] ?? '').trim(),
    };
  }
  events = (res.outFiles['events.jsonl'] ?? '')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
});

const eventsOf = (name: string) =>
  events.filter((e) => e.type === 'violation' && e.process?.tgid === got[name]!.pid);

describe('socket rules via lsm/socket_create in the guest (Debian 6.1)', () => {
  it('the daemon plans every socket rule on BPF-LSM and stops cleanly', () => {
    const log = res.outFiles['daemon.log']!;
    // at debug level the start-up log has one record per policy: each rule as "policy/rule (kind, action): achieved via mechanism"
    const summary = log
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { policy?: string; rules?: string[] })
      .find((r) => r.policy === 'socket-kinds' && Array.isArray(r.rules));
    expect(summary, log).toBeDefined();
    const viaLsm = summary!
      .rules!.filter((line) => /: (block|kill) via lsm$/.test(line))
      .map((line) => line.slice(0, line.indexOf(' ')).replace(/^socket-kinds\//, ''));
    expect(viaLsm.sort(), summary!.rules!.join('\n')).toEqual(['packet', 'packet-dgram', 'raw-inet']);
    // the one program that decides the rules; beside it only the cgroup tracking a policy scoped to
    // cgroups attaches (cgroups made later are matched as they are made)
    const programs = JSON.parse(/"programs":(\[[^\]]*\])/.exec(log)?.[1] ?? '[]') as string[];
    expect(
      programs.filter((p) => !CGROUP_TRACKING_PROGRAMS.includes(p as ProgramName)),
      log,
    ).toEqual(['bg_lsm_socket_create']);
    expect(res.outFiles['daemon.rc']!.trim()).toBe('0');
  });

  it('denies a packet socket with EPERM before it exists, and reports it once', () => {
    expect(got['packet-raw-in']).toMatchObject({ rc: 0, stdout: 'errno 1' });
    const evs = eventsOf('packet-raw-in');
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({
      policy: { name: 'socket-kinds', rule: 'packet' },
      action: 'block',
      outcome: 'denied',
      kind: 'socket',
      mechanism: 'lsm',
      ret: -1,
      target: { family: 'packet', familyNumber: 17, type: 'raw', typeNumber: 3 },
      process: { comm: 'python3' },
    });
  });

  it('kills on a kill rule (and denies the socket), reported once', () => {
    expect(got['packet-dgram-in']).toMatchObject({ rc: 137, stdout: '' });
    const evs = eventsOf('packet-dgram-in');
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({
      policy: { rule: 'packet-dgram' },
      action: 'kill',
      outcome: 'killed',
      mechanism: 'lsm',
      target: { family: 'packet', type: 'dgram' },
    });
  });

  it('decides inet sockets in the LSM hook too: one event, not one from the cgroup hook as well', () => {
    expect(got['inet-raw-in']).toMatchObject({ rc: 0, stdout: 'errno 1' });
    const evs = eventsOf('inet-raw-in');
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ policy: { rule: 'raw-inet' }, outcome: 'denied', mechanism: 'lsm' });
  });

  it('allows a family no rule names, and packet sockets outside the cgroup', () => {
    expect(got['netlink-in']).toMatchObject({ rc: 0, stdout: 'ok' });
    expect(got['packet-raw-out']).toMatchObject({ rc: 0, stdout: 'ok' });
    expect(eventsOf('netlink-in')).toEqual([]);
    expect(eventsOf('packet-raw-out')).toEqual([]);
  });
});
