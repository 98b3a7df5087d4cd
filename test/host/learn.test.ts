// bpfgate learn end to end on this host's kernel: a small service (a Python
// script that runs a program, writes its state file, calls an upstream and
// listens on a port) runs in a cgroup this test made, observed by the shipped
// observe policy (scoped to that cgroup) under the real daemon; `bpfgate
// learn` turns the daemon's events into an allowlist that validates; with
// that allowlist enforced, the service still works, and a program it never
// ran is killed before its first instruction and a connection it never made
// is denied. Every program the daemon attaches is scoped to the test's
// cgroup (KERNEL.md, Safety); nothing is pinned.
// NATS: none.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroup, inCgroup, type TestCgroup } from '../support/cgroup.ts';
import { runCommand } from '../support/child.ts';
import { bpfgate, DaemonProcess, type Json, scopedArgs } from '../support/daemon.ts';
import { ROOT } from '../support/paths.ts';
import { freePort } from '../support/ports.ts';
import { sleep } from '../support/wait.ts';

const NAME = `bpfgate-learn-${process.pid}`;

// The service. argv: state directory, upstream port, listen port, then what to
// do besides its work: "" (nothing), "exec" (run /usr/bin/id), "connect" (a
// port it never called). Prints one line per step; exits 0 when its work is done.
const SERVICE_PY = `
import os, socket, subprocess, sys
state, upstream, listen, extra = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
stamp = subprocess.run(["/usr/bin/date", "+%s"], capture_output=True, text=True).stdout.strip()
with open(os.path.join(state, "last-run"), "w") as f:
    f.write(stamp)
c = socket.create_connection(("127.0.0.1", upstream), timeout=5)
c.sendall(b"ping")
reply = c.recv(4)
c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", listen))
s.listen()
s.close()
print("work", stamp != "", reply.decode(), flush=True)
if extra == "exec":
    print("exec", subprocess.run(["/usr/bin/id", "-u"], capture_output=True).returncode, flush=True)
if extra == "connect":
    try:
        socket.create_connection(("127.0.0.1", upstream + 1), timeout=5).close()
        print("connect ok", flush=True)
    except OSError as e:
        print("connect errno", e.errno, flush=True)
`;

describe('bpfgate learn: observe a service, learn, enforce', () => {
  let cg: TestCgroup;
  let dir: string;
  let upstream: Server;
  let upstreamPort: number;
  let listenPort: number;
  let daemon: DaemonProcess | null = null;

  beforeAll(async () => {
    cg = createCgroup(NAME);
    dir = mkdtempSync(join(tmpdir(), 'bpfgate-learn-'));
    mkdirSync(join(dir, 'state'));
    writeFileSync(join(dir, 'service.py'), SERVICE_PY);
    upstream = createServer((sock) => sock.once('data', () => sock.end('pong')));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamPort = (upstream.address() as { port: number }).port;
    listenPort = await freePort();
  });

  afterAll(async () => {
    await daemon?.kill();
    upstream?.close();
    await cg?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The service in the test cgroup: exit code and output lines. */
  async function service(extra: '' | 'exec' | 'connect' = '') {
    const argv = [
      '/usr/bin/python3',
      '-B',
      join(dir, 'service.py'),
      join(dir, 'state'),
      String(upstreamPort),
    ];
    const r = await runCommand(inCgroup([...argv, String(listenPort), extra], cg.path), {
      timeoutMs: 30_000,
    });
    return { code: r.code, lines: r.stdout.trim().split('\n'), stderr: r.stderr };
  }

  async function startDaemon(policy: string, events: string): Promise<DaemonProcess> {
    return DaemonProcess.start(scopedArgs(policy, cg.path), { stdout: { file: events } });
  }

  const ofCgroup = (events: Json[]) =>
    events.filter((e) => e.type === 'violation' && e.process?.cgroup?.id === String(cg.id));

  it('the learned allowlist lets the service work and stops what it never did', async () => {
    // 1. observe, with the shipped observe policy scoped to the test cgroup
    const observe = readFileSync(`${ROOT}policies/observe.yaml`, 'utf8').replace(
      'cgroups: [/system.slice/myapp.service]',
      `cgroups: [${cg.rel}]`,
    );
    expect(observe).toContain(cg.rel);
    writeFileSync(join(dir, 'observe.yaml'), observe);
    const observed = join(dir, 'observed.jsonl');
    daemon = await startDaemon(join(dir, 'observe.yaml'), observed);
    for (let i = 0; i < 2; i++) {
      const r = await service();
      expect(r.code, r.stderr).toBe(0);
      expect(r.lines).toEqual(['work True pong']);
    }
    await sleep(500);
    expect((await daemon.stop('SIGTERM')).code).toBe(0);
    const seen = ofCgroup(daemon.events);
    daemon = null;
    expect(seen.every((e) => e.policy.name === 'observe' && e.mode === 'audit')).toBe(true);
    expect(new Set(seen.map((e) => e.kind))).toEqual(new Set(['exec', 'file', 'connect', 'bind']));

    // 2. learn, and the result validates
    const learned = join(dir, 'learned.yaml');
    const l = await bpfgate([
      'learn',
      observed,
      '--cgroup',
      cg.rel,
      '--policy',
      'observe',
      '--output',
      learned,
    ]);
    expect(l.code, l.stderr).toBe(0);
    const text = readFileSync(learned, 'utf8');
    expect(text).toMatch(/- \/usr\/bin\/date {2}# 2\n/);
    expect(text).toContain(`- ${join(dir, 'state')}/  # `);
    expect(text).toMatch(new RegExp(`- 127\\.0\\.0\\.1/32 {2}# 2\\n\\s+ports: \\[${upstreamPort}\\]`));
    expect(text).toMatch(new RegExp(`ports: \\[${listenPort}\\]`));
    expect(text).toContain('mode: audit');
    const valid = await bpfgate(['validate', learned]);
    expect(valid.code, valid.stderr).toBe(0);

    // 3. enforce the learned policy: the service works, nothing of it is reported
    writeFileSync(learned, text.replace('mode: audit', 'mode: enforce'));
    daemon = await startDaemon(learned, join(dir, 'enforced.jsonl'));
    const why = () => `${text}\n${JSON.stringify(ofCgroup(daemon!.events))}\n${daemon!.stderr.slice(-3000)}`;
    const ok = await service();
    await sleep(500);
    expect(ok.code, `${ok.stderr}\n${why()}`).toBe(0);
    expect(ok.lines).toEqual(['work True pong']);
    expect(ofCgroup(daemon.events)).toEqual([]);

    // 4. what it never did is stopped: a new program killed before it runs, a new connection denied
    const exec = await service('exec');
    expect(exec.lines, why()).toEqual(['work True pong', 'exec -9']);
    const connect = await service('connect');
    expect(connect.lines, why()).toEqual(['work True pong', 'connect errno 1']);
    await sleep(500);
    const stopped = ofCgroup(daemon.events);
    expect(stopped.map((e) => [e.kind, e.outcome, e.target.path ?? e.target.port])).toEqual([
      ['exec', 'killed', '/usr/bin/id'],
      ['connect', 'denied', upstreamPort + 1],
    ]);
    expect(stopped[0]!.message).toContain('not on the allowlist');
    expect((await daemon.stop('SIGTERM')).code).toBe(0);
    daemon = null;
  });
});
