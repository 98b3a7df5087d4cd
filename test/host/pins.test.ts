// Enforcement that outlives the daemon, on this host (docs/persistence.md):
//   npx vitest run --project host test/host/pins.test.ts
// A raw-socket block scoped to a cgroup this test creates (KERNEL.md,
// "Safety"); pins under a bpffs folder of the test's own, never
// /sys/fs/bpf/bpfgate. The daemon is the real `bpfgate run --pin-root DIR
// [--keep-enforcing] [--protect]` in a child process (test/support/daemon.ts),
// so that it can be SIGKILLed.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfLink, isBpffs } from '../../src/kernel/binding.ts';
import { PinLayout, pinnedLinkKeys, removePins } from '../../src/kernel/pins.ts';
import { buildAttacks } from '../support/attacks.ts';
import { cgroup2Root, createCgroup, run, type TestCgroup, tryRawSocket } from '../support/cgroup.ts';
import { bpfgate, DaemonProcess } from '../support/daemon.ts';

const PIN_ROOT = `/sys/fs/bpf/bpfgate-pins-test-${process.pid}`;
const CG_NAME = `bpfgate-pins-test-${process.pid}`;
const layout = new PinLayout(PIN_ROOT);

let cg: TestCgroup | undefined;
let work = '';
const daemons: DaemonProcess[] = [];

/** `bpfgate run` on the test's policy, cgroup and pin root (test/support/daemon.ts), not yet enforcing. */
interface DaemonFlags {
  keepEnforcing: boolean;
  protect?: boolean;
  stdout?: boolean;
  /** --kernel-records N (0: a record for every attempt) */
  kernelRecords?: number;
}

function spawnDaemon(flags: DaemonFlags): DaemonProcess {
  const d = new DaemonProcess([
    '--policies',
    `${work}/policy.yaml`,
    '--cgroup',
    cg!.path,
    ...(flags.stdout ? [] : ['--no-stdout']),
    '--no-policy-watch',
    '--pin-root',
    PIN_ROOT,
    ...(flags.keepEnforcing ? ['--keep-enforcing'] : []),
    ...(flags.protect ? ['--protect'] : []),
    ...(flags.kernelRecords !== undefined ? ['--kernel-records', String(flags.kernelRecords)] : []),
  ]);
  daemons.push(d);
  return d;
}

/** Start a daemon and wait until it enforces. */
async function startDaemon(flags: DaemonFlags): Promise<DaemonProcess> {
  const d = spawnDaemon(flags);
  await d.ready(45_000);
  return d;
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

/** The pinned bg_state record: the daemon's tgid and start time (bpf/lib/abi.h). */
function stateRecord(): { daemonTgid: number; daemonStart: number } {
  const [entry] = bpftoolJson(['map', 'dump', 'pinned', layout.mapPath('bg_state')]) as { value: string[] }[];
  const v = Buffer.from(entry!.value.map((b) => Number.parseInt(b, 16)));
  return { daemonTgid: v.readUInt32LE(8), daemonStart: v.readUInt32LE(12) };
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

// FLOOD_PY's attempts, then as many again as a line of stdin says, once it comes (the process lives on)
const FLOOD_STAY_PY = `
import socket, sys
def flood(k):
    n = 0
    for _ in range(k):
        try:
            socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
        except OSError:
            n += 1
    return n
print(flood(int(sys.argv[1])), flush=True)
flood(int(sys.stdin.readline()))
`;

const FLOOD_PY = `
import socket, sys
n = 0
for _ in range(int(sys.argv[1])):
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    except OSError:
        n += 1
print(n)
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
  for (const d of daemons) await d.kill();
  removePins(layout);
  rmSync(work, { recursive: true, force: true });
  await cg?.remove();
});

describe('pinned enforcement on this host', () => {
  it('survives SIGKILL, is adopted by a restart with no gap and no duplicate, and bpfgate unload removes it', async () => {
    expect(cgroup2Root()).toBe('/sys/fs/cgroup/unified');
    const a = await startDaemon({ keepEnforcing: true });
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

    expect((await a.kill()).signal).toBe('SIGKILL');
    // nobody holds the programs but the pins: still enforcing
    expect(await tryRawSocket(cg!.path)).toBe('errno 1');
    expect(cgroupPrograms().map((p) => p.id)).toEqual([before.get('bg_cg_sock_create')]);

    const b = await startDaemon({ keepEnforcing: true });
    expect(b.stderr).toContain('adopting the enforcement a previous daemon left pinned');
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
    expect((await b.stop('SIGTERM')).code).toBe(0);
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

  it('drops while no daemon read the ring are reported by the daemon that adopts the pins', async () => {
    // a record for every attempt (its programs stay attached after it): the ring overflows
    const a = await startDaemon({ keepEnforcing: true, kernelRecords: 0 });
    expect((await a.stop('SIGTERM')).code).toBe(0);
    // nobody reads the ring buffer now: fill it (4 MiB) with denials, well past its size
    const flood = await run(['python3', '-c', FLOOD_PY, '60000'], cg!.path);
    expect(Number(flood.stdout.trim())).toBe(60000);
    const b = await startDaemon({ keepEnforcing: false, stdout: true });
    expect(b.stderr).toContain('adopting the enforcement a previous daemon left pinned');
    const loss = await b.until(
      () => b.events.find((e) => e.type === 'loss' && e.loss?.source === 'ringbuf'),
      'a ringbuf loss event',
      30_000,
    );
    expect(loss.loss.count).toBeGreaterThan(0);
    expect(b.stderr).toContain('lost while no daemon read them');
    // the records that fitted were read, the rest counted: together every attempt
    const read = b.events
      .filter((e) => e.type === 'violation')
      .reduce((n, e) => n + (typeof e.count === 'number' ? e.count : 1), 0);
    expect(read + loss.loss.count).toBe(60000);
    expect((await b.stop('SIGTERM')).code).toBe(0);
  });

  it('repeats counted while no daemon ran, or after one crashed, are reported by the daemon that adopts the pins: each exactly once', async () => {
    const attempts = (d: DaemonProcess) =>
      d.events
        .filter((e) => e.type === 'violation' || e.type === 'loss')
        .reduce(
          (n, e) =>
            n + (e.type === 'loss' ? (e.loss.count as number) : ((e.count as number | undefined) ?? 1)),
          0,
        );
    // a counts 20,000 attempts and reports them, then stops; 30,000 more while no daemon runs
    const a = await startDaemon({ keepEnforcing: true, stdout: true });
    expect(Number((await run(['python3', '-c', FLOOD_PY, '20000'], cg!.path)).stdout.trim())).toBe(20000);
    await a.until(() => (attempts(a) >= 20000 ? true : undefined), 'a: 20000 attempts reported', 20_000);
    expect((await a.stop('SIGTERM')).code).toBe(0);
    expect(attempts(a)).toBe(20000);
    expect(Number((await run(['python3', '-c', FLOOD_PY, '30000'], cg!.path)).stdout.trim())).toBe(30000);
    // b adopts: reports the 30,000 only; then crashes after counting 10,000 more by a process
    // that lives on (its key stays in the kernel, with its count)
    const b = await startDaemon({ keepEnforcing: true, stdout: true });
    await b.until(() => (attempts(b) >= 30000 ? true : undefined), 'b: 30000 attempts reported', 20_000);
    const alive = spawn('sh', [
      '-c',
      `echo $$ > ${cg!.path}/cgroup.procs && exec python3 -c "$0" 10000`,
      FLOOD_STAY_PY,
    ]);
    try {
      const out = await new Promise<string>((resolve) =>
        alive.stdout.once('data', (d: Buffer) => resolve(String(d))),
      );
      expect(Number(out.trim())).toBe(10000);
      await b.until(() => (attempts(b) >= 40000 ? true : undefined), 'b: 40000 attempts reported', 20_000);
      // the sweep keeps what it reported in the pins within a second (a margin for a loaded machine)
      await new Promise((r) => setTimeout(r, 2500));
      expect((await b.kill()).signal).toBe('SIGKILL');
      expect(attempts(b)).toBe(40000);
      // c adopts after the crash: nothing b reported is reported again
      const c = await startDaemon({ keepEnforcing: false, stdout: true });
      await new Promise((r) => setTimeout(r, 3000));
      expect(attempts(c)).toBe(0);
      // the process goes on: c reports only what is new
      alive.stdin.end('100\n');
      await c.until(() => (attempts(c) >= 100 ? true : undefined), 'c: 100 new attempts', 20_000);
      await new Promise((r) => setTimeout(r, 2500));
      expect(attempts(c)).toBe(100);
      expect((await c.stop('SIGTERM')).code).toBe(0);
    } finally {
      alive.kill('SIGKILL');
    }
  });

  it("the daemon's exemption ends with it: a process given its pid after a crash is enforced on, and an orderly stop clears it", async () => {
    const attack = buildAttacks().attack;
    const a = await startDaemon({ keepEnforcing: true });
    const pid = a.pid;
    const state = stateRecord();
    expect(state.daemonTgid).toBe(pid);
    expect(state.daemonStart).toBeGreaterThan(0);
    expect((await a.kill()).signal).toBe('SIGKILL');
    // nothing cleared bg_state (no exit tracking in this policy): only the start time tells them apart
    expect(stateRecord().daemonTgid).toBe(pid);
    // the intruder's process gets the dead daemon's pid (clone3 set_tid), in the cgroup, and opens a raw socket
    const r = await run([attack, '--as-pid', String(pid), 'raw_socket'], cg!.path);
    expect(r.stdout).toBe(`pid ${pid}\nerrno 1 EPERM\n`);

    // a restart adopts, an orderly keep-enforcing stop leaves the programs enforcing and exempting nobody
    const b = await startDaemon({ keepEnforcing: true });
    expect(stateRecord().daemonTgid).toBe(b.pid);
    expect((await b.stop('SIGTERM')).code).toBe(0);
    expect(stateRecord()).toMatchObject({ daemonTgid: 0, daemonStart: 0 });
    const again = await run([attack, '--as-pid', String(b.pid), 'raw_socket'], cg!.path);
    expect(again.stdout).toBe(`pid ${b.pid}\nerrno 1 EPERM\n`);
    expect((await bpfgate(['unload', '--pin-root', PIN_ROOT])).code).toBe(0);
  });

  it('by default an orderly stop detaches everything and removes the pins', async () => {
    const d = await startDaemon({ keepEnforcing: false });
    expect(await tryRawSocket(cg!.path)).toBe('errno 1');
    expect(existsSync(layout.linkPath('bg_cg_sock_create'))).toBe(true);
    expect((await d.stop('SIGTERM')).code).toBe(0);
    expect(existsSync(PIN_ROOT)).toBe(false);
    expect(cgroupPrograms()).toEqual([]);
    expect(await tryRawSocket(cg!.path)).toBe('ok');
  });

  it('one daemon per pin root; bpfgate unload stops a running daemon first, then removes its pins', async () => {
    const d = await startDaemon({ keepEnforcing: true });
    expect(await tryRawSocket(cg!.path)).toBe('errno 1');
    const progIds = pinnedProgIds();

    // a second daemon on the same pins refuses to start (a runtime error) and leaves the first one's enforcement alone
    const second = spawnDaemon({ keepEnforcing: true });
    expect((await second.exited).code).toBe(4);
    expect(second.stderr).toContain('PIN_IN_USE');
    expect(pinnedProgIds()).toEqual(progIds);
    expect(await tryRawSocket(cg!.path)).toBe('errno 1');
    const u = await bpfgate(['unload', '--pin-root', PIN_ROOT]);
    expect(u.code).toBe(0);
    expect(u.stdout).toContain(`stopped the daemon (pid ${d.pid})`);
    expect((await d.exited).code).toBe(0);
    expect(existsSync(PIN_ROOT)).toBe(false);
    expect(cgroupPrograms()).toEqual([]);
    expect(await tryRawSocket(cg!.path)).toBe('ok');
  });

  it('protect on a kernel with neither BPF-LSM nor fmod_ret refuses to start (never silently unprotected), says why, and leaves nothing', async () => {
    const d = spawnDaemon({ keepEnforcing: true, protect: true });
    // the CLI's exit code for a kernel that cannot give what was asked: 3 (PrivilegeError)
    expect((await d.exited).code).toBe(3);
    expect(d.stderr).toContain(
      'self-protection needs BPF-LSM or fmod_ret on the security_* functions; BPF-LSM: ',
    );
    expect(d.stderr).toMatch(/; fmod_ret: fmod_ret\/security_sb_statfs \(bg_fmr_probe\) load: EPERM/);
    expect(existsSync(PIN_ROOT)).toBe(false);
    expect(cgroupPrograms()).toEqual([]);
  });
});
