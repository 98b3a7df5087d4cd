// Enforcement that outlives the daemon, on this host (docs/persistence.md):
//   npx vitest run --project host test/host/pins.test.ts
// A raw-socket block scoped to a cgroup this test creates (KERNEL.md,
// "Safety"); pins under a bpffs folder of the test's own, never
// /sys/fs/bpf/bpfgate. The daemon runs as a child process so that it can be
// SIGKILLed.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfLink, isBpffs } from '../../src/kernel/binding.ts';
import { PinLayout, pinnedLinkKeys, removePins } from '../../src/kernel/pins.ts';
import { CGROUP2_ROOT, createCgroup, run, type TestCgroup, tryRawSocket } from './helpers/cgroup.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PIN_ROOT = `/sys/fs/bpf/bpfgate-pins-test-${process.pid}`;
const CG_NAME = `bpfgate-pins-test-${process.pid}`;
const layout = new PinLayout(PIN_ROOT);

let cg: TestCgroup | undefined;
let work = '';
const daemons: ChildProcess[] = [];

// The daemon with the options under test, built in a child (SIGTERM: orderly stop).
const DAEMON_JS = `
const [root, json] = process.argv.slice(1);
const { composeDaemon } = await import(root + 'src/daemon/compose.ts');
const { defaultDaemonOptions } = await import(root + 'src/config/daemon.ts');
const { probeFeatures } = await import(root + 'src/kernel/probe.ts');
const { createLogger } = await import(root + 'src/log.ts');
const log = createLogger({ level: 'info', pretty: false });
const d = composeDaemon({ ...defaultDaemonOptions(), ...JSON.parse(json) }, { log, probe: () => probeFeatures() });
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  d.stop().then(() => process.exit(0), (e) => { console.error(e); process.exit(4); });
});
try {
  await d.start();
} catch (e) {
  console.error(e);
  process.exit(4);
}
setInterval(() => {}, 1 << 30);
`;

interface Running {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnDaemon(opts: Record<string, unknown>): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', DAEMON_JS, ROOT, JSON.stringify(opts)],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  daemons.push(child);
  return child;
}

async function startDaemon(opts: Record<string, unknown>): Promise<Running> {
  const child = spawnDaemon(opts);
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + 45_000;
  while (!err.includes('bpfgate is enforcing')) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline)
      throw new Error(`the daemon did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, stderr: () => err, exited };
}

function daemonOptions(keepEnforcing: boolean): Record<string, unknown> {
  return {
    policyPaths: [`${work}/policy.yaml`],
    cgroupAttach: cg!.path,
    stdout: false,
    pinRoot: PIN_ROOT,
    keepEnforcing,
    statsIntervalMs: 60_000,
  };
}

function bpftoolJson(args: string[]): unknown {
  return JSON.parse(execFileSync('bpftool', [...args, '-j'], { encoding: 'utf8' }).trim() || '[]');
}

/** Programs attached to the test cgroup: { id, name } as bpftool lists them. */
function cgroupPrograms(): { id: number; name: string; attach_type: string }[] {
  return bpftoolJson(['cgroup', 'show', cg!.path]) as { id: number; name: string; attach_type: string }[];
}

function programExists(id: number): boolean {
  try {
    execFileSync('bpftool', ['prog', 'show', 'id', String(id)], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** Program id behind every link pinned under the test's root. */
function pinnedProgIds(): Map<string, number> {
  const out = new Map<string, number>();
  for (const key of pinnedLinkKeys(layout)) {
    const l = BpfLink.openPinned(layout.linkPath(key));
    try {
      out.set(key, l.info().progId);
    } finally {
      l.destroy();
    }
  }
  return out;
}

function bpfgate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [`${ROOT}bin/bpfgate.js`, ...args], { cwd: ROOT }, (e, stdout, stderr) => {
      const code = e ? (typeof e.code === 'number' ? e.code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

// A loop of raw-socket attempts in the cgroup until the stop file appears: "ok errors".
const PROBE_PY = `
import os, socket, sys, time
ok = err = 0
while not os.path.exists(sys.argv[1]):
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
        ok += 1
    except OSError:
        err += 1
    time.sleep(0.002)
print(ok, err)
`;

beforeAll(() => {
  if (!isBpffs('/sys/fs/bpf')) execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
  cg = createCgroup(CG_NAME);
  work = mkdtempSync(`${tmpdir()}/bpfgate-pins-`);
  writeFileSync(
    `${work}/policy.yaml`,
    `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: pins-test-raw
  description: raw IP sockets are refused in the test's cgroup
  severity: high
spec:
  scope:
    cgroups: [/${CG_NAME}]
  rules:
    - id: raw
      kind: socket
      action: block
      message: raw socket
      match:
        families: [inet, inet6]
        types: [raw]
`,
  );
});

afterAll(async () => {
  for (const d of daemons) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  removePins(layout);
  rmSync(work, { recursive: true, force: true });
  await cg?.remove();
});

describe('pinned enforcement on this host', () => {
  it('survives SIGKILL, is adopted by a restart with no gap and no duplicate, and bpfgate unload removes it', async () => {
    expect(CGROUP2_ROOT).toBe('/sys/fs/cgroup/unified');
    const a = await startDaemon(daemonOptions(true));
    expect(await tryRawSocket(cg!.path)).toBe('errno 1');
    expect(await tryRawSocket()).toBe('ok');
    expect(pinnedLinkKeys(layout)).toContain('bg_cg_sock_create');
    expect(existsSync(layout.mapPath('bg_state'))).toBe(true);
    const before = pinnedProgIds();
    const cgBefore = cgroupPrograms();
    expect(cgBefore.map((p) => p.id)).toEqual([before.get('bg_cg_sock_create')]);

    // attempts in the cgroup all along: SIGKILL, the gap while nothing runs, the restart
    const stopFile = `${work}/stop-probe`;
    const probe = run(['python3', '-c', PROBE_PY, stopFile], cg!.path);
    await new Promise((r) => setTimeout(r, 300));

    a.child.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');
    // nobody holds the programs but the pins: still enforcing
    expect(await tryRawSocket(cg!.path)).toBe('errno 1');
    expect(cgroupPrograms().map((p) => p.id)).toEqual([before.get('bg_cg_sock_create')]);

    const b = await startDaemon(daemonOptions(true));
    expect(b.stderr()).toContain('adopting the enforcement a previous daemon left pinned');
    writeFileSync(stopFile, '');
    const [ok, denied] = (await probe).stdout.trim().split(' ').map(Number);
    expect(ok).toBe(0); // no gap
    expect(denied).toBeGreaterThan(50);

    // adopted: the same links, now running the new daemon's programs; the old programs are gone
    const after = pinnedProgIds();
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [key, progId] of after) {
      expect(progId, key).not.toBe(before.get(key));
      expect(programExists(before.get(key)!), `old program of ${key}`).toBe(false);
    }
    const cgAfter = cgroupPrograms();
    expect(cgAfter).toHaveLength(1); // each program once: no duplicate on the cgroup
    expect(cgAfter[0]!.id).toBe(after.get('bg_cg_sock_create'));
    expect(await tryRawSocket(cg!.path)).toBe('errno 1');

    // an orderly stop in keep-enforcing mode leaves the pins enforcing
    b.child.kill('SIGTERM');
    expect((await b.exited).code).toBe(0);
    expect(await tryRawSocket(cg!.path)).toBe('errno 1');
    expect(pinnedProgIds()).toEqual(after);

    const u = await bpfgate(['unload', '--pin-root', PIN_ROOT]);
    expect(u.stderr).toBe('');
    expect(u.code).toBe(0);
    expect(u.stdout).toContain('detached bg_cg_sock_create');
    expect(u.stdout).toContain('removed map bg_state');
    expect(u.stdout).toContain(`removed ${PIN_ROOT}`);
    expect(existsSync(PIN_ROOT)).toBe(false);
    expect(cgroupPrograms()).toEqual([]);
    expect(await tryRawSocket(cg!.path)).toBe('ok');
    for (const id of after.values()) expect(programExists(id)).toBe(false);

    const again = await bpfgate(['unload', '--pin-root', PIN_ROOT]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`nothing pinned under ${PIN_ROOT}\n`);
  });

  it('by default an orderly stop detaches everything and removes the pins', async () => {
    const d = await startDaemon(daemonOptions(false));
    expect(await tryRawSocket(cg!.path)).toBe('errno 1');
    expect(existsSync(layout.linkPath('bg_cg_sock_create'))).toBe(true);
    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
    expect(existsSync(PIN_ROOT)).toBe(false);
    expect(cgroupPrograms()).toEqual([]);
    expect(await tryRawSocket(cg!.path)).toBe('ok');
  });

  it('one daemon per pin root; bpfgate unload stops a running daemon first, then removes its pins', async () => {
    const d = await startDaemon(daemonOptions(true));
    expect(await tryRawSocket(cg!.path)).toBe('errno 1');
    const progIds = pinnedProgIds();

    // a second daemon on the same pins refuses to start and leaves the first one's enforcement alone
    const second = spawnDaemon(daemonOptions(true));
    let secondErr = '';
    second.stderr!.on('data', (b: Buffer) => {
      secondErr += b.toString();
    });
    const code = await new Promise<number | null>((resolve) => second.on('exit', (c) => resolve(c)));
    expect(code).toBe(4);
    expect(secondErr).toContain('PIN_IN_USE');
    expect(pinnedProgIds()).toEqual(progIds);
    expect(await tryRawSocket(cg!.path)).toBe('errno 1');
    const u = await bpfgate(['unload', '--pin-root', PIN_ROOT]);
    expect(u.code).toBe(0);
    expect(u.stdout).toContain(`stopped the daemon (pid ${d.child.pid})`);
    expect((await d.exited).code).toBe(0);
    expect(existsSync(PIN_ROOT)).toBe(false);
    expect(cgroupPrograms()).toEqual([]);
    expect(await tryRawSocket(cg!.path)).toBe('ok');
  });

  it('protect on a kernel without BPF-LSM refuses to start (never silently unprotected) and leaves nothing', async () => {
    const child = spawnDaemon({ ...daemonOptions(true), protect: true });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(4);
    expect(err).toContain('self-protection needs BPF-LSM');
    expect(existsSync(PIN_ROOT)).toBe(false);
    expect(cgroupPrograms()).toEqual([]);
  });
});
