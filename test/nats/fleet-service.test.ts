// The fleet source through the real service (in process, root): policies put
// into the KV bucket are enforced by this host's kernel, a put reaches a
// reload, an invalid put is a policy_error event naming the key and revision
// while the old set keeps enforcing, and the host's status is in the bucket.
// Everything is scoped to a cgroup this test creates (KERNEL.md, Safety);
// nothing is pinned.
// NATS: the direct nats-server launcher (test/support/nats-server.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.ts';
import { composeService } from '../../src/daemon/compose.ts';
import type { Service } from '../../src/daemon/service.ts';
import type { BpfgateEvent, PolicyErrorEvent } from '../../src/events/types.ts';
import type { HostStatus } from '../../src/fleet/status.ts';
import { probeFeatures } from '../../src/kernel/probe.ts';
import { createLogger } from '../../src/log.ts';
import { createCgroup, fleetRawSocketPolicy, type TestCgroup, tryRawSocket } from '../support/cgroup.ts';
import { signed, TRUSTED_KEYS } from '../support/fleet.ts';
import { NatsServer, stopAllServers } from '../support/nats-server.ts';
import { waitFor } from '../support/wait.ts';

const NAME = `bpfgate-fleet-${process.pid}`;
const BUCKET = 'bpfgate-policies';

const policy = (action: string, hosts = 'role=web'): string =>
  fleetRawSocketPolicy(`/${NAME}`, action, hosts);

describe('the service with its policies from the fleet bucket', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let kv: KV;
  let hosts: KV;
  let cg: TestCgroup;
  let dir: string;
  let service: Service;
  const events: BpfgateEvent[] = [];

  beforeAll(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
    kv = await new Kvm(nc).create(BUCKET, { history: 5 });
    hosts = await new Kvm(nc).create('bpfgate-hosts', { history: 1 });
    cg = createCgroup(NAME);
    dir = mkdtempSync(join(tmpdir(), 'bpfgate-fleet-service-'));
    await kv.put('policies.no-raw', signed('policies.no-raw', policy('audit')));
    const config = resolveConfig({
      host: 'web-1',
      cgroupAttach: cg.path,
      output: { stdout: false },
      policyWatch: { debounceMs: 100 },
      pins: { root: null },
      fleet: {
        servers: [server.url],
        labels: { role: 'web' },
        cacheDir: dir,
        connectTimeoutMs: 2000,
        trustedKeys: TRUSTED_KEYS,
      },
    });
    service = composeService(config, {
      log: createLogger({ level: 'warn', pretty: false }),
      probe: probeFeatures,
      outputs: [{ publish: (e) => (e.type === 'policy_error' ? events.push(e) : undefined) }],
    });
    await service.start();
  });

  afterAll(async () => {
    await service?.stop();
    await cg?.remove();
    await nc?.close();
    await server?.dispose();
    await stopAllServers();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('enforces the bucket set, follows a put, and keeps it when a put is invalid', async () => {
    expect(service.daemon.enforcing).toBe(true);
    expect(await tryRawSocket(cg.path)).toBe('ok'); // audit only
    const status = async () => (await hosts.get('hosts.web-1'))?.json<HostStatus>();
    expect((await status())?.rules).toMatchObject([{ policy: 'no-raw', rule: 'raw', achieved: 'audit' }]);

    const block = await kv.put('policies.no-raw', signed('policies.no-raw', policy('block')));
    await waitFor(async () => (await status())?.applied[0]?.revision === block, 15_000, 'the block applied');
    expect(await tryRawSocket(cg.path)).toBe('errno 1');
    expect(await tryRawSocket()).toBe('ok');

    const bad = await kv.put('policies.no-raw', signed('policies.no-raw', policy('smite')));
    await waitFor(() => events.length > 0, 15_000, 'a policy_error event');
    const e = events[0] as PolicyErrorEvent;
    expect(e.diagnostics).toMatchObject([
      { code: 'INVALID_VALUE', file: `kv://${BUCKET}/policies.no-raw@rev${bad}`, line: 13, column: 15 },
    ]);
    await waitFor(
      async () => (await status())?.lastReload.ok === false,
      15_000,
      'the failed reload in the status',
    );
    expect((await status())?.applied).toEqual([{ name: 'no-raw', key: 'policies.no-raw', revision: block }]);
    expect(await tryRawSocket(cg.path)).toBe('errno 1');

    // a policy for other hosts leaves this one with nothing
    const db = await kv.put('policies.no-raw', signed('policies.no-raw', policy('block', 'role=db')));
    await waitFor(async () => (await status())?.lastReload.ok === true, 15_000, 'the reload');
    expect((await status())?.applied).toEqual([]);
    expect((await status())?.lastReload.read).toEqual([]);
    expect(db).toBeGreaterThan(bad);
    expect(await tryRawSocket(cg.path)).toBe('ok');
  });
});
