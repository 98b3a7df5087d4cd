// A NATS cluster, the way users outgrow one server: three JetStream nodes,
// the BPFGATE stream replicated R3, and the real `bpfgate run` given all three
// URLs. During a flood of denied connects (a test cgroup's own, KERNEL.md
// Safety), the stream's leader is killed, then a second node (the one the
// daemon is connected to, when it still stands): the stream loses its quorum,
// the daemon reconnects and spools, the nodes come back, the spool drains,
// and every event id the daemon printed is in the stream exactly once. The
// metrics show the reconnects and the spooling.
// NATS: the testcontainers launcher (test/support/nats-cluster.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inCgroup } from '../support/cgroup.ts';
import { Child } from '../support/child.ts';
import { DaemonProcess, scopedArgs } from '../support/daemon.ts';
import { scrape } from '../support/metrics.ts';
import { createStream, readStream, STREAM } from '../support/nats.ts';
import { type ClusterRig, clusterRig } from '../support/nats-cluster.ts';
import { freePort } from '../support/ports.ts';
import { sleep, waitFor } from '../support/wait.ts';

const NAME = `bpfgate-cluster-${process.pid}`;

// connect() to a denied port in a loop until a stop file appears; prints "attempts denied"
const FLOOD_PY = `
import os, socket, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
n = denied = 0
while not os.path.exists(stop):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
    except OSError as e:
        denied += e.errno == 1
    finally:
        s.close()
    n += 1
    time.sleep(0.02)
print(n, denied, flush=True)
`;

describe('a three-node JetStream cluster: the stream leader and a second node killed during a flood', () => {
  let rig: ClusterRig;
  let port: number;

  beforeAll(async () => {
    rig = await clusterRig(NAME);
    const { cluster, nc, dir } = rig;
    await createStream(nc, { replicas: 3 });
    port = await freePort();
    writeFileSync(
      join(dir, 'policy.yaml'),
      `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: no-port-${port} }
spec:
  scope: { cgroups: [/${NAME}] }
  rules:
    - { id: port, kind: connect, action: block, match: { ports: [${port}], protocols: [tcp] } }
`,
    );
    writeFileSync(
      join(dir, 'config.yaml'),
      JSON.stringify({
        nats: {
          servers: cluster.urls,
          publishTimeoutMs: 1000,
          reconnectWaitMs: 200,
          spool: { dir: join(dir, 'spool') },
        },
      }),
    );
  }, 120_000);

  afterAll(async () => rig?.close());

  it('every event id lands in the stream exactly once; the metrics show reconnects and spooling', async () => {
    const { cluster, nc, cg, dir } = rig;
    const jsm = await jetstreamManager(nc);
    const daemon = await DaemonProcess.start([
      '--config',
      join(dir, 'config.yaml'),
      ...scopedArgs(join(dir, 'policy.yaml'), cg.path),
      '--host',
      'cluster-host',
      // one event per denied connect (the flood repeats one violation past the kernel's 16 records a second)
      '--kernel-records',
      '0',
      '--metrics',
      '127.0.0.1:0',
    ]);
    rig.daemon = daemon;
    const metrics = await daemon.metricsUrl();
    const stop = join(dir, 'stop');
    const flood = new Child(inCgroup(['python3', '-c', FLOOD_PY, String(port), stop], cg.path));
    const violations = () => daemon.events.filter((e) => e.type === 'violation');
    await waitFor(() => violations().length >= 20, 15_000, 'the first violations');

    const leader = (await jsm.streams.info(STREAM)).cluster?.leader;
    expect(leader).toMatch(/^n[123]$/);
    await cluster.kill(leader!);
    await sleep(2000);
    // the second: the node the daemon is connected to now, unless that is the leader (then it reconnected already)
    const serving = await cluster.serving('bpfgate');
    const second = serving ?? cluster.nodes.find((n) => n.running)!.name;
    await cluster.kill(second);
    // one node of three: no quorum, publishing fails, the daemon spools
    await waitFor(async () => (await scrape(metrics)).bpfgate_spool_pending_events! > 0, 20_000, 'spooling');
    const during = await scrape(metrics);
    await sleep(2000);

    await cluster.revive(leader!);
    await cluster.revive(second);
    await sleep(2000);
    writeFileSync(stop, '');
    await flood.until(() => (flood.stdoutLines()[0] ? true : undefined), 'the flood to end', 10_000);
    const [attempts, denied] = flood.stdoutLines()[0]!.split(' ').map(Number);
    await waitFor(
      async () => {
        const m = await scrape(metrics);
        return m.bpfgate_spool_pending_events === 0 && m.bpfgate_nats_queue_events === 0;
      },
      60_000,
      'the spool replayed',
    );
    const after = await scrape(metrics);
    expect((await daemon.stop('SIGTERM')).code).toBe(0);
    const printed = violations().map((e) => e.id as string);

    // every denied connect is one event; every event is in the stream exactly once
    expect(denied).toBe(attempts);
    expect(printed).toHaveLength(denied!);
    const stored = (await readStream(nc)).map((m) => m.msgId);
    expect(new Set(stored).size).toBe(stored.length);
    expect([...stored].sort()).toEqual([...printed].sort());

    expect(during.bpfgate_nats_publish_failures_total).toBeGreaterThan(0);
    expect(after.bpfgate_nats_reconnects_total).toBeGreaterThanOrEqual(1);
    expect(after.bpfgate_spool_events_total).toBeGreaterThan(0);
    expect(after.bpfgate_spool_replayed_total).toBe(after.bpfgate_spool_events_total);
    expect(after.bpfgate_nats_queue_dropped_total! + after.bpfgate_spool_dropped_total!).toBe(0);
    expect(after.bpfgate_nats_published_total).toBe(printed.length);

    // the stream is whole on all three replicas again
    await waitFor(
      async () => {
        const c = (await jsm.streams.info(STREAM)).cluster;
        return (c?.replicas ?? []).length === 2 && c!.replicas!.every((r) => r.current);
      },
      30_000,
      'the replicas current',
    );
  });
});
