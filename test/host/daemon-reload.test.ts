// Hot reload through the real daemon (in process): a cgroup-scoped raw-socket
// block stays in force at every instant across 100 reloads, a rule added to
// the policy folder takes effect once the watcher has reloaded, and an
// invalid edit keeps the old set enforcing and is reported as a policy_error
// event. Everything is scoped to a cgroup this test creates (KERNEL.md, Safety).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.ts';
import { composeService } from '../../src/daemon/compose.ts';
import type { Service } from '../../src/daemon/service.ts';
import type { BpfgateEvent, PolicyErrorEvent } from '../../src/events/types.ts';
import { probeFeatures } from '../../src/kernel/probe.ts';
import { createLogger } from '../../src/log.ts';
import { createCgroup, inCgroup, run, type TestCgroup, tryRawSocket } from '../support/cgroup.ts';

const NAME = `bpfgate-reload-${process.pid}`;

function policy(name: string, rule: string, types: string): string {
  return `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: ${name}
spec:
  scope:
    cgroups: [/${NAME}]
  rules:
    - id: ${rule}
      kind: socket
      action: block
      match: { families: [inet], types: [${types}] }
`;
}

const UDP_PY = `
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
    print("ok")
except OSError as e:
    print("errno", e.errno)
`;

async function tryUdpSocket(cgroup?: string): Promise<string> {
  return (await run(['python3', '-c', UDP_PY], cgroup)).stdout.trim();
}

// Tries a raw socket in a tight loop (20 attempts per millisecond, each denial
// an event for the daemon to handle) until its stdin closes; prints "ok denied other".
const LOOP_PY = `
import socket, sys, select
ok = denied = other = 0
print("ready", flush=True)
while True:
    for _ in range(20):
        try:
            socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
            ok += 1
        except PermissionError:
            denied += 1
        except OSError:
            other += 1
    r, _, _ = select.select([sys.stdin], [], [], 0.001)
    if r:
        break
print(ok, denied, other, flush=True)
`;

function startLoop(cgroup: string) {
  const [cmd, ...args] = inCgroup(['python3', '-c', LOOP_PY], cgroup);
  const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const ready = new Promise<void>((resolve) => {
    const check = () => (out.includes('ready') ? resolve() : setTimeout(check, 5));
    check();
  });
  const finish = async (): Promise<{ ok: number; denied: number; other: number }> => {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stdin.end('stop\n');
    await exited;
    const [ok, denied, other] = out.trim().split('\n').at(-1)!.split(' ').map(Number);
    return { ok: ok!, denied: denied!, other: other! };
  };
  return { ready, finish };
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('daemon hot reload', () => {
  let cg: TestCgroup;
  let dir: string;
  let service: Service;
  const events: BpfgateEvent[] = [];

  beforeAll(async () => {
    cg = createCgroup(NAME);
    dir = mkdtempSync(join(tmpdir(), 'bpfgate-reload-'));
    writeFileSync(join(dir, 'raw.yaml'), policy('no-raw', 'raw', 'raw'));
    const config = resolveConfig({
      policies: [dir],
      cgroupAttach: cg.path,
      output: { stdout: false },
      policyWatch: { enabled: true, debounceMs: 100 },
      // nothing pinned: never adopt (or remove) what another daemon on this host pinned
      pins: { root: null },
    });
    service = composeService(config, {
      log: createLogger({ level: 'warn', pretty: false }),
      probe: probeFeatures,
      outputs: [{ publish: (e) => (e.type === 'violation' ? undefined : events.push(e)) }],
    });
    await service.start();
  });

  afterAll(async () => {
    await service?.stop();
    await cg?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('enforces the raw-socket block inside the cgroup only', async () => {
    expect(service.daemon.enforcing).toBe(true);
    expect(await tryRawSocket(cg.path)).toBe('errno 1');
    expect(await tryRawSocket()).toBe('ok');
  });

  it('a blocked action stays blocked at every instant across 100 reloads', async () => {
    const before = service.daemon.counters.reloads;
    const loop = startLoop(cg.path);
    await loop.ready;
    const results: boolean[] = [];
    for (let i = 0; i < 100; i++) results.push(await service.reload('api'));
    const { ok, denied, other } = await loop.finish();
    expect(results.every(Boolean)).toBe(true);
    expect(service.daemon.counters.reloads - before).toBe(100);
    expect(ok).toBe(0);
    expect(other).toBe(0);
    // the loop kept trying while every reload swapped a generation
    expect(denied).toBeGreaterThan(500);
  });

  it('100 reloads asked for at once (as SIGHUPs arrive) run one after another, the block holding throughout', async () => {
    const before = service.daemon.counters.reloads;
    const loop = startLoop(cg.path);
    await loop.ready;
    const all = await Promise.all(Array.from({ length: 100 }, () => service.reload('signal')));
    const { ok, denied } = await loop.finish();
    expect(all.every(Boolean)).toBe(true);
    expect(service.daemon.counters.reloads - before).toBe(100);
    expect(ok).toBe(0);
    expect(denied).toBeGreaterThan(0);
  });

  it('a rule added to the policy folder takes effect after the watcher reloads', async () => {
    expect(await tryUdpSocket(cg.path)).toBe('ok');
    const before = service.daemon.counters.reloads;
    writeFileSync(join(dir, 'udp.yaml'), policy('no-udp', 'udp', 'dgram'));
    await until('the watcher to reload', () => service.daemon.counters.reloads > before);
    expect(service.daemon.plan?.policies.map((p) => p.name).sort()).toEqual(['no-raw', 'no-udp']);
    expect(await tryUdpSocket(cg.path)).toBe('errno 1');
    expect(await tryUdpSocket()).toBe('ok');
    expect(await tryRawSocket(cg.path)).toBe('errno 1');
  });

  it('an invalid edit keeps the old set enforcing and emits a policy_error event', async () => {
    const failures = service.daemon.counters.reloadFailures;
    const reloads = service.daemon.counters.reloads;
    const file = join(dir, 'udp.yaml');
    writeFileSync(file, policy('no-udp', 'udp', 'datagram'));
    await until('the rejected reload', () => service.daemon.counters.reloadFailures > failures);
    expect(service.daemon.counters.reloads).toBe(reloads);
    const error = events.find((e): e is PolicyErrorEvent => e.type === 'policy_error');
    expect(error).toBeDefined();
    expect(error!.diagnostics[0]).toMatchObject({ file, line: 12, severity: 'error' });
    // the old set: both blocks still in force
    expect(await tryUdpSocket(cg.path)).toBe('errno 1');
    expect(await tryRawSocket(cg.path)).toBe('errno 1');
    expect(service.daemon.plan?.policies.map((p) => p.name).sort()).toEqual(['no-raw', 'no-udp']);
  });
});
