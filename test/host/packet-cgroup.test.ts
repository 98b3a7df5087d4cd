// ingress and egress rules scoped to cgroups (cgroup_skb), on this host's
// kernel, through the real daemon:
//   npx vitest run --project host test/host/packet-cgroup.test.ts
// The daemon runs in network namespace a of a veth pair this file creates and
// attaches its cgroup programs to a cgroup this file creates; processes in
// cgroups below it send and receive through the pair for real. The host's own
// interfaces and cgroups are never touched.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSchemaErrors } from '../../src/events/schema.ts';
import { createCgroup, inCgroup, type TestCgroup } from '../support/cgroup.ts';
import { DaemonProcess } from '../support/daemon.ts';
import { createNetnsPair, type NetnsPair } from '../support/netns.ts';
import { countsOf, eventsOfRule, settle, statusIn } from '../support/packet-daemon.ts';

const N = 100 + (randomBytes(1)[0]! % 100);
let net: NetnsPair;
let cg: TestCgroup;
let dir: string;
let daemon: DaemonProcess;

// UDP: how many datagrams were sent, and each error the kernel returned; TCP: the connect's outcome
const SENDER = `
import errno, socket, sys
proto, addr, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ok, errs = 0, []
    for i in range(count):
        try:
            s.sendto(b"x" * 32, (addr, port)); ok += 1
        except OSError as e:
            errs.append(errno.errorcode.get(e.errno, str(e.errno)))
    print(ok, " ".join(sorted(set(errs))))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.settimeout(float(count))
    try:
        s.connect((addr, port)); print("connected")
    except OSError as e:
        print("failed", type(e).__name__, errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "")
`;

// UDP datagrams received on a port until none came for 4 seconds (the sender starts after "ready")
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[1]))); s.settimeout(4.0)
print("ready", flush=True)
n = 0
while True:
    try:
        s.recv(2048); n += 1
    except socket.timeout:
        break
print(n, flush=True)
`;

/** A receiver in namespace a inside `sub`, while b sends `count` datagrams to `port`: what it received. */
async function receiveIn(sub: string, port: number, count: number): Promise<number> {
  const argv = inCgroup([...net.enter(net.a), 'python3', '-c', RECEIVER, String(port)], `${cg.path}/${sub}`);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const done = new Promise<number>((resolve) => child.on('close', () => resolve(Number(out.split('\n')[1]))));
  await new Promise<void>((ready) =>
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.startsWith('ready\n')) ready();
    }),
  );
  net.send(net.b, 4, net.a.v4, port, count);
  return done;
}

/** Run the sender in namespace a, inside `sub` (a cgroup below the test's). */
function sendFrom(sub: string, proto: 'udp' | 'tcp', port: number, count: number): string {
  const argv = inCgroup(
    [...net.enter(net.a), 'python3', '-c', SENDER, proto, net.b.v4, String(port), String(count)],
    `${cg.path}/${sub}`,
  );
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' }).stdout.trim();
}

beforeAll(async () => {
  const tag = randomBytes(3).toString('hex');
  net = createNetnsPair(`bc${tag}`, N);
  const a = net.a.dev;
  cg = createCgroup(`bpfgate-pc-${tag}`);
  // in: scoped; in/exempt: excepted by unless; out: in the attach cgroup, not in scope; aud: audit-only
  for (const sub of ['in', 'in/exempt', 'out', 'aud']) mkdirSync(`${cg.path}/${sub}`);
  dir = mkdtempSync(`${tmpdir()}/bpfgate-pc-${tag}-`);
  writeFileSync(
    `${dir}/packets.yaml`,
    `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: scoped-packets
spec:
  scope: { cgroups: ["${cg.rel}/in/**"] }
  rules:
    - id: out-udp
      kind: egress
      action: block
      match: { interfaces: [${a}], addresses: [${net.b.v4}/32], ports: [9101], protocols: [udp] }
      unless: { cgroups: ["${cg.rel}/in/exempt"] }
    - id: in-udp
      kind: ingress
      action: block
      match: { interfaces: [${a}], ports: [9104], protocols: [udp] }
    - id: out-tcp
      kind: egress
      action: block
      match: { interfaces: [${a}], addresses: [10.${N}.0.0/24], ports: [9102], protocols: [tcp] }
---
apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: audited-packets
spec:
  scope: { cgroups: ["${cg.rel}/aud"] }
  rules:
    - id: out-audit
      kind: egress
      action: audit
      match: { interfaces: [${a}], ports: [9101], protocols: [udp] }
`,
  );
  daemon = await DaemonProcess.start(
    ['--policies', dir, '--cgroup', cg.path, '--metrics', '127.0.0.1:0', '--pin-root', 'off'],
    { prefix: net.enter(net.a) },
  );
}, 60_000);

afterAll(async () => {
  await daemon?.stop('SIGTERM');
  net?.remove();
  await cg?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ingress and egress rules scoped to cgroups (cgroup_skb)', () => {
  it('drops UDP from a process in the scoped cgroup: the sender gets EPERM, nothing arrives', async () => {
    const rx = await net.receive(net.b, 'udp', 4, 9101);
    expect(sendFrom('in', 'udp', 9101, 4)).toBe('0 EPERM');
    expect(await rx.stop()).toBe(0);
    await settle();
    const e = eventsOfRule(daemon, 'out-udp')[0]!;
    expect(eventSchemaErrors(e)).toEqual([]);
    expect(e).toMatchObject({
      action: 'block',
      mechanism: 'cgroup',
      outcome: 'denied',
      target: { family: 'ipv4', address: net.b.v4, port: 9101, protocol: 'udp', localAddress: net.a.v4 },
    });
  });

  it('passes the same datagrams from a process outside the scope, and from the excepted cgroup', async () => {
    for (const sub of ['out', 'in/exempt']) {
      const rx = await net.receive(net.b, 'udp', 4, 9101);
      expect(sendFrom(sub, 'udp', 9101, 4), sub).toBe('4');
      expect(await rx.stop(), sub).toBe(4);
    }
  });

  it('drops a TCP connection from the scoped cgroup; the same connect from outside completes', async () => {
    const server = await net.receive(net.b, 'tcp', 4, 9102);
    expect(sendFrom('in', 'tcp', 9102, 2)).toMatch(/^failed/);
    expect(sendFrom('out', 'tcp', 9102, 3)).toBe('connected');
    expect(await server.stop()).toBe(1);
  });

  it('audit passes and records', async () => {
    const rx = await net.receive(net.b, 'udp', 4, 9101);
    expect(sendFrom('aud', 'udp', 9101, 3)).toBe('3');
    expect(await rx.stop()).toBe(3);
    await settle();
    expect(eventsOfRule(daemon, 'out-audit')[0]).toMatchObject({
      action: 'audit',
      mechanism: 'cgroup',
      outcome: 'allowed',
    });
  });

  it('ingress: drops datagrams for a socket in the scoped cgroup, passes them to one outside', async () => {
    expect(await receiveIn('in', 9104, 3)).toBe(0);
    expect(await receiveIn('out', 9104, 3)).toBe(3);
    await settle();
    expect(eventsOfRule(daemon, 'in-udp')[0]).toMatchObject({
      action: 'block',
      mechanism: 'cgroup',
      outcome: 'denied',
      target: { address: net.b.v4, port: 9104, protocol: 'udp', localAddress: net.a.v4 },
    });
  });

  it('counts the matches of each rule, and none of the passes', async () => {
    const s = await statusIn(daemon, net, net.a);
    expect(Number(countsOf(s, 'in-udp').packets)).toBe(3);
    expect(Number(countsOf(s, 'out-udp').packets)).toBe(4);
    expect(Number(countsOf(s, 'out-tcp').packets)).toBeGreaterThanOrEqual(1);
    expect(Number(countsOf(s, 'out-audit').packets)).toBe(3);
  });
});
