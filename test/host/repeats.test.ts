// A flood, as an intruder would send one: a process in a scoped cgroup asks
// for a denied raw socket tens of thousands of times, from one thread and
// from several. The kernel denies every attempt, records a few a second per
// process and rule, and counts the rest (bg_repeats); the daemon's events
// (their counts), plus any loss event, add up exactly to the attempts the
// process saw refused. A process that stops (or exits) mid-flood has its
// count reported by the sweep. The real daemon on this host's kernel; the
// cgroup program acts only in the test's cgroup.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroup, rawSocketPolicyDir, run, type TestCgroup } from '../support/cgroup.ts';
import { DaemonProcess, type Json, scopedArgs } from '../support/daemon.ts';
import { waitFor } from '../support/wait.ts';

// N attempts on T threads; prints "<pid> <refused>" (EPERM: 1)
const FLOOD_PY = `
import os, socket, sys, threading
n, threads = int(sys.argv[1]), int(sys.argv[2])
refused = [0] * threads
def flood(i):
    for _ in range(n // threads):
        try:
            socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
        except PermissionError:
            refused[i] += 1
ts = [threading.Thread(target=flood, args=(i,)) for i in range(threads)]
for t in ts: t.start()
for t in ts: t.join()
print(os.getpid(), sum(refused))
`;

// 1000 raw ICMP sockets, one raw UDP socket, 1000 raw ICMP sockets: all in well under a second
const HIDE_PY = `
import os, socket
refused = 0
def raw(proto):
    global refused
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, proto).close()
    except PermissionError:
        refused += 1
for _ in range(1000): raw(socket.IPPROTO_ICMP)
raw(socket.IPPROTO_UDP)
for _ in range(1000): raw(socket.IPPROTO_ICMP)
print(os.getpid(), refused)
`;

async function flood(cg: TestCgroup, n: number, threads: number): Promise<{ pid: number; refused: number }> {
  const r = await run(['python3', '-c', FLOOD_PY, String(n), String(threads)], cg.path);
  const [pid, refused] = r.stdout.trim().split(' ').map(Number);
  return { pid: pid!, refused: refused! };
}

/** Attempts the events of `pid` stand for (their counts), plus the losses reported. */
function accounted(events: Json[], pid: number): { attempts: number; events: number; losses: number } {
  const mine = events.filter((e) => e.type === 'violation' && e.process?.tgid === pid);
  const losses = events.filter((e) => e.type === 'loss').reduce((n, e) => n + (e.loss.count as number), 0);
  return {
    attempts: mine.reduce((n, e) => n + ((e.count as number | undefined) ?? 1), 0),
    events: mine.length,
    losses,
  };
}

describe('a flood of one denied violation', () => {
  let cg: TestCgroup;
  let dir: string;
  let daemon: DaemonProcess;

  beforeAll(async () => {
    cg = createCgroup(`bpfgate-flood-${process.pid}`);
    dir = rawSocketPolicyDir('flood', cg);
    daemon = await DaemonProcess.start([...scopedArgs(dir, cg.path), '--metrics', '127.0.0.1:0']);
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop();
    await cg?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['one thread', 40_000, 1],
    ['four threads at once', 40_000, 4],
  ])(
    '%s: every attempt is denied, and the events count each exactly once',
    async (_what, n, threads) => {
      const { pid, refused } = await flood(cg, n, threads);
      expect(refused).toBe(n);
      // the last attempts are reported by a sweep, once the process is idle for a second
      const got = await daemon.until(
        () => {
          const a = accounted(daemon.events, pid);
          return a.attempts + a.losses >= n ? a : undefined;
        },
        `events of pid ${pid} standing for ${n} attempts`,
        20_000,
      );
      await new Promise((r) => setTimeout(r, 1500));
      const settled = accounted(daemon.events, pid);
      expect(settled).toEqual(got);
      expect(got.losses).toBe(0);
      expect(got.attempts).toBe(n);
      // a few records a second, not one per attempt
      expect(got.events).toBeLessThan(n / 20);
      const counted = daemon.eventsOf(pid).filter((e) => (e.count ?? 1) > 1);
      expect(counted.length).toBeGreaterThan(0);
      for (const e of counted) {
        expect(e).toMatchObject({ outcome: 'denied', policy: { name: 'flood', rule: 'raw-inet' } });
        expect(BigInt(e.firstTimeNs)).toBeLessThanOrEqual(BigInt(e.lastTimeNs));
      }
    },
    120_000,
  );

  it('a repeat never hides another target: one raw UDP socket inside a flood of raw ICMP ones has its own event', async () => {
    const r = await run(['python3', '-c', HIDE_PY], cg.path);
    const [pid, refused] = r.stdout.trim().split(' ').map(Number);
    expect(refused).toBe(2001);
    const hidden = await daemon.until(
      () => daemon.eventsOf(pid!).find((e) => e.target?.protocol === 17),
      'the event of the raw UDP socket',
      10_000,
    );
    expect(hidden).toMatchObject({ outcome: 'denied', policy: { rule: 'raw-inet' } });
    expect(hidden.count ?? 1).toBe(1);
    const all = await daemon.until(
      () => {
        const a = accounted(daemon.events, pid!);
        return a.attempts >= 2001 ? a : undefined;
      },
      'every attempt accounted',
      10_000,
    );
    expect(all.attempts).toBe(2001);
  }, 60_000);

  it('the counters say how many attempts were counted without a record', async () => {
    const url = await daemon.metricsUrl();
    const text = await (await fetch(`${url}/metrics`)).text();
    const repeats = Number(/^bpfgate_kernel_repeats_total (\d+)$/m.exec(text)?.[1]);
    const denied = Number(/^bpfgate_kernel_denied_total (\d+)$/m.exec(text)?.[1]);
    const records = Number(/^bpfgate_kernel_events_total (\d+)$/m.exec(text)?.[1]);
    expect(denied).toBe(80_000 + 2001);
    // every denial is a record or a counted repeat
    expect(records + repeats).toBe(denied);
    expect(repeats).toBeGreaterThan(72_000);
    // the flooding processes are gone: their keys are deleted once reported (the sweep, every second)
    const keys = async () =>
      Number(/^bpfgate_kernel_repeat_keys (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1]);
    await waitFor(async () => (await keys()) === 0, 5000, 'no repeat keys left');
  });
});

describe('--kernel-records 0', () => {
  let cg: TestCgroup;
  let dir: string;
  let daemon: DaemonProcess;

  beforeAll(async () => {
    cg = createCgroup(`bpfgate-flood0-${process.pid}`);
    dir = rawSocketPolicyDir('flood', cg);
    daemon = await DaemonProcess.start([...scopedArgs(dir, cg.path), '--kernel-records', '0']);
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop();
    await cg?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes a record for every attempt: nothing is counted in the kernel', async () => {
    const { pid, refused } = await flood(cg, 500, 1);
    expect(refused).toBe(500);
    const events = await daemon.until(
      () => (daemon.eventsOf(pid).length >= 500 ? daemon.eventsOf(pid) : undefined),
      '500 events',
      20_000,
    );
    expect(events).toHaveLength(500);
    expect(events.every((e) => e.count === undefined)).toBe(true);
  }, 60_000);
});
