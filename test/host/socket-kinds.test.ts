// Socket rules on this host's kernel (no BPF-LSM) through the real daemon:
//   npx vitest run --project host test/host/socket-kinds.test.ts
// A packet socket is no inet socket, so the cgroup sock_create hook never sees
// it: raw sys_enter kills the caller on return from socket(2). Raw inet
// sockets stay with the cgroup hook (EPERM). Every decision is reported once.
// Enforcement is scoped to a cgroup this file creates (KERNEL.md, "Safety");
// only the test's own children are moved into it.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSchemaErrors } from '../../src/events/schema.ts';
import { type Attempt, attemptIn, createCgroup, type TestCgroup } from '../support/cgroup.ts';
import { bpfgate, DaemonProcess, type Json } from '../support/daemon.ts';

/** Opens one socket, then prints "ok" (or "errno N" when refused). */
const SOCKET_PY = `
import socket, sys
fam = {"packet": socket.AF_PACKET, "inet": socket.AF_INET, "netlink": socket.AF_NETLINK}[sys.argv[1]]
typ = {"raw": socket.SOCK_RAW, "dgram": socket.SOCK_DGRAM, "stream": socket.SOCK_STREAM}[sys.argv[2]]
proto = {"packet": 0, "inet": socket.IPPROTO_ICMP, "netlink": 0}[sys.argv[1]] if typ == socket.SOCK_RAW else 0
if len(sys.argv) > 3:
    typ |= socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC
try:
    socket.socket(fam, typ, proto).close()
    print("ok")
except OSError as e:
    print("errno", e.errno)
`;

let cg: TestCgroup;
let dir: string;
let daemon: DaemonProcess;
let plan: Json;

/** socket(family, type) from python3, inside the test cgroup or outside it. */
async function attempt(args: string[], where: 'inside' | 'outside'): Promise<Attempt> {
  const r = await attemptIn(['python3', '-c', SOCKET_PY, ...args], where === 'inside' ? cg.path : undefined);
  return { ...r, stdout: r.stdout.trim() };
}

/** The violations of process `pid`, after the daemon had time to report all of them. */
async function eventsOf(pid: number, expected: number): Promise<Json[]> {
  const of = () => daemon.eventsOf(pid);
  if (expected > 0)
    await daemon.until(() => (of().length >= expected ? true : undefined), `events of ${pid}`, 5_000);
  await new Promise((r) => setTimeout(r, 400));
  return of();
}

function planned(rule: string): Json {
  return (plan.rules as Json[]).find((r) => r.rule === rule)!;
}

beforeAll(async () => {
  const name = `bpfgate-sk-${randomBytes(4).toString('hex')}`;
  cg = createCgroup(name);
  dir = mkdtempSync(`${tmpdir()}/${name}-`);
  writeFileSync(
    `${dir}/sockets.yaml`,
    `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: socket-kinds
spec:
  scope:
    cgroups: ["/${name}/**"]
  rules:
    - id: packet
      kind: socket
      action: kill
      message: a packet socket
      match:
        families: [packet]
    - id: raw-inet
      kind: socket
      action: block
      message: a raw inet socket
      match:
        families: [inet]
        types: [raw]
`,
  );
  const compiled = await bpfgate(['compile', dir, '--json']);
  if (compiled.code !== 0) throw new Error(`compile failed: ${compiled.stderr}`);
  plan = JSON.parse(compiled.stdout) as Json;
  daemon = await DaemonProcess.start(['--policies', dir, '--cgroup', cg.path]);
});

afterAll(async () => {
  await daemon?.stop('SIGTERM');
  await cg?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('socket rules of every family without BPF-LSM', () => {
  it('plans packet sockets on raw sys_enter (kill after the call) and raw inet sockets on the cgroup hook (deny)', () => {
    expect(planned('packet')).toMatchObject({
      achieved: 'kill-after',
      mechanism: 'tracepoint',
      programs: ['bg_tp_sys_enter'],
    });
    expect(planned('raw-inet')).toMatchObject({
      achieved: 'block',
      mechanism: 'cgroup',
      programs: ['bg_cg_sock_create'],
    });
  });

  it('kills a process that made a packet socket in the cgroup, before it runs on, and reports it once as killed-after', async () => {
    const inside = await attempt(['packet', 'raw'], 'inside');
    expect({ code: inside.code, signal: inside.signal, stdout: inside.stdout }).toEqual({
      code: null,
      signal: 'SIGKILL',
      stdout: '',
    });
    const evs = await eventsOf(inside.pid, 1);
    expect(evs).toHaveLength(1);
    const e = evs[0]!;
    expect(eventSchemaErrors(e)).toEqual([]);
    expect(e).toMatchObject({
      policy: { name: 'socket-kinds', rule: 'packet' },
      action: 'kill',
      outcome: 'killed-after',
      kind: 'socket',
      mechanism: 'tracepoint',
      target: { family: 'packet', familyNumber: 17, type: 'raw', typeNumber: 3, protocol: 0 },
      process: { pid: inside.pid, comm: 'python3', cgroup: { id: String(cg.id) } },
    });
  });

  it('matches the socket type with SOCK_NONBLOCK and SOCK_CLOEXEC set', async () => {
    const inside = await attempt(['packet', 'dgram', 'flags'], 'inside');
    expect({ signal: inside.signal, stdout: inside.stdout }).toEqual({ signal: 'SIGKILL', stdout: '' });
    const evs = await eventsOf(inside.pid, 1);
    expect(evs).toHaveLength(1);
    expect(evs[0]!.target).toMatchObject({ family: 'packet', type: 'dgram', typeNumber: 2 });
  });

  it('leaves a raw inet socket to the cgroup hook: EPERM, one event, no kill', async () => {
    const inside = await attempt(['inet', 'raw'], 'inside');
    expect({ code: inside.code, signal: inside.signal, stdout: inside.stdout }).toEqual({
      code: 0,
      signal: null,
      stdout: 'errno 1',
    });
    const evs = await eventsOf(inside.pid, 1);
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({
      policy: { rule: 'raw-inet' },
      outcome: 'denied',
      mechanism: 'cgroup',
      target: { family: 'inet', type: 'raw' },
    });
  });

  it('allows sockets no rule names in the cgroup, and packet sockets outside it', async () => {
    for (const [args, where] of [
      [['netlink', 'raw'], 'inside'],
      [['inet', 'stream'], 'inside'],
      [['packet', 'raw'], 'outside'],
    ] as const) {
      const r = await attempt([...args], where);
      expect({ args, where, code: r.code, signal: r.signal, stdout: r.stdout }).toEqual({
        args,
        where,
        code: 0,
        signal: null,
        stdout: 'ok',
      });
      expect(await eventsOf(r.pid, 0)).toEqual([]);
    }
  });
});
