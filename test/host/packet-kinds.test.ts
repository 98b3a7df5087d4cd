// ingress and egress rules on this host's kernel, through the real daemon:
//   npx vitest run --project host test/host/packet-kinds.test.ts
// The daemon runs in network namespace a of a pair this file creates (a veth
// pair, traffic only between a and b) and attaches to a's end alone: the
// host's own interfaces are never touched. Packets are sent for real; drops
// are seen as datagrams or connections that never arrive.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSchemaErrors } from '../../src/events/schema.ts';
import { createCgroup, type TestCgroup } from '../support/cgroup.ts';
import { bpfgate, DaemonProcess, type Json } from '../support/daemon.ts';
import { createNetnsPair, type NetnsPair, type Side } from '../support/netns.ts';
import { countsOf, eventsOfRule, settle, statusIn } from '../support/packet-daemon.ts';

const N = 100 + (randomBytes(1)[0]! % 100);
let net: NetnsPair;
let cg: TestCgroup;
let dir: string;
let daemon: DaemonProcess;
let plan: Json;

/** `count` UDP datagrams over IPv4 to a blocked port and to an open one of `to`: what each received. */
async function udpToPorts(from: Side, to: Side, blockedPort: number, openPort: number, count: number) {
  const blocked = await net.receive(to, 'udp', 4, blockedPort);
  const open = await net.receive(to, 'udp', 4, openPort);
  net.send(from, 4, to.v4, blockedPort, count);
  net.send(from, 4, to.v4, openPort, count);
  return { blocked: await blocked.stop(), open: await open.stop() };
}

beforeAll(async () => {
  const tag = randomBytes(3).toString('hex');
  net = createNetnsPair(`bg${tag}`, N);
  const a = net.a.dev;
  cg = createCgroup(`bpfgate-pk-${tag}`);
  dir = mkdtempSync(`${tmpdir()}/bpfgate-pk-${tag}-`);
  writeFileSync(
    `${dir}/packets.yaml`,
    `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: packets
spec:
  rules:
    - id: in-udp4
      kind: ingress
      action: block
      match: { interfaces: [${a}], addresses: [10.${N}.0.0/24], ports: [9001], protocols: [udp] }
    - id: in-tcp6
      kind: ingress
      action: block
      match: { interfaces: [${a}], addresses: ["fd00:${N}::/64"], ports: [9002], protocols: [tcp] }
    - id: in-audit
      kind: ingress
      action: audit
      match: { interfaces: [${a}], ports: [9003], protocols: [udp] }
    - id: out-udp4
      kind: egress
      action: block
      match: { interfaces: [${a}], addresses: [10.${N}.0.2/32], ports: [9004], protocols: [udp] }
    - id: in-xdp
      kind: ingress
      action: block
      match: { interfaces: [${a}], ports: [9005], protocols: [udp], xdp: generic }
`,
  );
  // compiled on the host, where a's interface does not exist
  const compiled = await bpfgate(['compile', dir, '--json']);
  if (compiled.code !== 0) throw new Error(`compile failed: ${compiled.stderr}`);
  plan = JSON.parse(compiled.stdout) as Json;
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

describe('ingress and egress rules on a veth pair', () => {
  it('leaves out, with the reason, rules whose interface this namespace does not have', () => {
    const rules = plan.rules as Json[];
    expect(rules).toHaveLength(5);
    for (const r of rules) {
      expect(r).toMatchObject({ achieved: 'unavailable', downgraded: true, programs: [] });
      expect(r.reason).toMatch(/interface bg\w+a0 does not exist/);
    }
    expect((plan.programs as Json[]).filter((p) => String(p.program).match(/^bg_(tc|xdp)_/))).toEqual([]);
    // in namespace a the daemon attaches them: tcx and XDP on a's end only
    expect(daemon.running).toBe(true);
  });

  it('tc ingress drops UDP over IPv4 to a blocked port and passes another port', async () => {
    expect(await udpToPorts(net.b, net.a, 9001, 9006, 5)).toEqual({ blocked: 0, open: 5 });
    await settle();
    const evs = eventsOfRule(daemon, 'in-udp4');
    expect(evs.length).toBeGreaterThanOrEqual(1);
    const e = evs[0]!;
    expect(eventSchemaErrors(e)).toEqual([]);
    expect(e).toMatchObject({
      action: 'block',
      mechanism: 'tc',
      outcome: 'denied',
      target: { family: 'ipv4', address: net.b.v4, port: 9001, protocol: 'udp', localAddress: net.a.v4 },
    });
  });

  it('tc ingress drops TCP over IPv6: the connection never completes', async () => {
    const server = await net.receive(net.a, 'tcp', 6, 9002);
    expect(net.connect(net.b, 6, net.a.v6, 9002, 1)).toMatch(/^failed/);
    expect(await server.stop()).toBe(0);
    // the same port over IPv4 is no rule's: it connects
    const v4 = await net.receive(net.a, 'tcp', 4, 9002);
    expect(net.connect(net.b, 4, net.a.v4, 9002, 3)).toBe('connected');
    expect(await v4.stop()).toBe(1);
  });

  it('tc egress drops UDP to a blocked destination and passes another port', async () => {
    expect(await udpToPorts(net.a, net.b, 9004, 9007, 3)).toEqual({ blocked: 0, open: 3 });
  });

  it('generic XDP drops before the stack, on a link in generic mode', () => {
    const link = execFileSync('ip', ['-n', net.a.ns, '-d', 'link', 'show', 'dev', net.a.dev], {
      encoding: 'utf8',
    });
    expect(link).toMatch(/xdpgeneric/);
  });

  it('generic XDP drops a blocked port and passes another', async () => {
    expect(await udpToPorts(net.b, net.a, 9005, 9008, 5)).toEqual({ blocked: 0, open: 5 });
    await settle();
    expect(eventsOfRule(daemon, 'in-xdp')[0]).toMatchObject({
      mechanism: 'xdp',
      outcome: 'denied',
      target: { port: 9005 },
    });
  });

  it('a flood of audited packets is a handful of events; the counters hold every packet', async () => {
    const rx = await net.receive(net.a, 'udp', 4, 9003);
    net.send(net.b, 4, net.a.v4, 9003, 5_000);
    await settle(1_100);
    net.send(net.b, 4, net.a.v4, 9003, 5_000);
    const received = await rx.stop();
    // audit drops nothing (the socket's buffer may)
    expect(received).toBeGreaterThan(0);
    await settle(600);
    const evs = eventsOfRule(daemon, 'in-audit');
    // at most one event per rule per second per CPU
    expect(evs.length).toBeGreaterThanOrEqual(1);
    expect(evs.length).toBeLessThanOrEqual(12);
    expect(evs[0]).toMatchObject({ action: 'audit', outcome: 'allowed' });
    const c = countsOf(await statusIn(daemon, net, net.a), 'in-audit');
    // every match is either an event or counted as suppressed
    expect(c.packets).toBe(Number(c.events) + Number(c.suppressed));
    expect(c.events).toBe(evs.length);
    expect(Number(c.packets)).toBeGreaterThanOrEqual(received);
    expect(Number(c.packets)).toBeGreaterThan(1_000);
    expect(Number(c.bytes)).toBeGreaterThan(Number(c.packets) * 32);
  });

  it('counts the blocked packets of each rule', async () => {
    const s = await statusIn(daemon, net, net.a);
    expect(Number(countsOf(s, 'in-udp4').packets)).toBeGreaterThanOrEqual(5);
    expect(Number(countsOf(s, 'in-xdp').packets)).toBeGreaterThanOrEqual(5);
    expect(Number(countsOf(s, 'out-udp4').packets)).toBeGreaterThanOrEqual(3);
  });
});
