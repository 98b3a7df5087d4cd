// The fleet KV bucket on a three-node NATS cluster, replicated R3: a daemon
// watching it keeps enforcing through a node's loss, and a policy change made
// while one node is down reaches it.
// NATS: the testcontainers launcher (test/support/nats-cluster.ts).
import { jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostStatus } from '../../src/fleet/status.ts';
import { fleetRawSocketPolicy, tryRawSocket } from '../support/cgroup.ts';
import { DaemonProcess } from '../support/daemon.ts';
import { signed, TRUSTED_KEYS } from '../support/fleet.ts';
import { type ClusterRig, clusterRig } from '../support/nats-cluster.ts';
import { waitFor } from '../support/wait.ts';

const NAME = `bpfgate-fleet-cluster-${process.pid}`;
const BUCKET = 'bpfgate-policies';
const HOST = 'fleet-1';

// every entry signed by the test's operator key, which the daemon trusts (--fleet-trust)
const policy = (action: string): string =>
  signed('policies.no-raw', fleetRawSocketPolicy(`/${NAME}`, action));

describe('the fleet bucket replicated R3: a policy change while a node is down', () => {
  let rig: ClusterRig;
  let kv: KV;
  /** the hosts' status bucket (fleet.statusBucket), replicated the same way */
  let hosts: KV;

  beforeAll(async () => {
    rig = await clusterRig(NAME);
    kv = await new Kvm(rig.nc).create(BUCKET, { history: 5, replicas: 3 });
    hosts = await new Kvm(rig.nc).create('bpfgate-hosts', { history: 1, replicas: 3 });
  }, 120_000);

  afterAll(async () => rig?.close());

  it('the daemon follows the change through the nodes left, and the node that was down catches up', async () => {
    const { cluster, nc, cg, dir: cache } = rig;
    const jsm = await jetstreamManager(nc);
    const stream = `KV_${BUCKET}`;
    expect((await jsm.streams.info(stream)).config.num_replicas).toBe(3);
    await kv.put('policies.no-raw', policy('audit'));
    const daemon = await DaemonProcess.start([
      ...cluster.urls.flatMap((u) => ['--fleet', u]),
      ...TRUSTED_KEYS.flatMap((k) => ['--fleet-trust', k]),
      '--fleet-label',
      'role=web',
      '--fleet-cache',
      cache,
      '--cgroup',
      cg.path,
      '--pin-root',
      'off',
      '--host',
      HOST,
      '--no-stdout',
    ]);
    rig.daemon = daemon;
    expect(await tryRawSocket(cg.path)).toBe('ok'); // audit: reported, not denied
    const status = async () => (await hosts.get(`hosts.${HOST}`))?.json<HostStatus>();
    await waitFor(async () => (await status())?.applied.length === 1, 15_000, 'the first status');

    // the node the daemon's bucket connection uses goes down
    await waitFor(
      async () => (await cluster.serving('bpfgate-fleet')) !== undefined,
      10_000,
      'the connection',
    );
    const down = (await cluster.serving('bpfgate-fleet'))!;
    await cluster.kill(down);
    // the operator's put: while the bucket's stream elects a new leader it has no responders; tried again
    let block = 0;
    await waitFor(
      async () => {
        block = await kv.put('policies.no-raw', policy('block')).catch(() => 0);
        return block > 0;
      },
      20_000,
      'the put with a node down',
    );

    await waitFor(
      async () => (await tryRawSocket(cg.path)) === 'errno 1',
      30_000,
      'the change enforced',
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${daemon.stderr.slice(-3000)}`);
    });
    expect(await tryRawSocket()).toBe('ok'); // outside the test's cgroup nothing changed
    await waitFor(
      async () => (await status())?.applied[0]?.revision === block,
      30_000,
      'the status written with a node down',
    );
    expect(cluster.node(down).running).toBe(false);

    // the node comes back and catches up: current, nothing to replay
    await cluster.revive(down);
    await waitFor(
      async () => {
        const c = (await jsm.streams.info(stream)).cluster;
        if (c?.leader === down) return (c.replicas ?? []).every((r) => r.current);
        const r = c?.replicas?.find((x) => x.name === down);
        return r?.current === true && (r.lag ?? 0) === 0;
      },
      30_000,
      `${down} current again`,
    );
    expect((await kv.get('policies.no-raw'))?.revision).toBe(block);
    expect((await daemon.stop('SIGTERM')).code).toBe(0);
  });
});
