// The testcontainers NATS launcher: a JetStream cluster of real nats-server
// containers on a network of their own, reached from the host on loopback.
// The image is Debian's nats-server built locally FROM scratch by
// scripts/engine.sh (which also starts the engine when it is not running):
// nothing is pulled. Ryuk is disabled (its image cannot be pulled) and the
// host is given (otherwise testcontainers pulls alpine to find it).
//
// Each node publishes its client port on a fixed loopback port chosen free at
// start and advertises 127.0.0.1:<that port> to clients, so a node that is
// killed and started again (docker kill / docker start: same container, same
// store) comes back at the same URL, and the URLs the cluster gossips to
// clients are reachable from the host. Routes use the containers' names,
// which resolve on the cluster's own network.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { StartedNetwork, StartedTestContainer } from 'testcontainers';
import { createCgroup, type TestCgroup } from './cgroup.ts';
import type { DaemonProcess } from './daemon.ts';
import { PROJECT_ROOT } from './paths.ts';
import { freePort } from './ports.ts';
import { sleep } from './wait.ts';

let clusters = 0;
const CLIENT_PORT = 4222;
const ROUTE_PORT = 6222;
const MONITOR_PORT = 8222;

/** The environment testcontainers needs on this machine (set before it is loaded). */
export function useLocalEngine(): void {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
}

let image: string | undefined;
/** The locally built nats-server image (built, and the engine started, when missing). */
export function natsImage(): string {
  image ??= execFileSync('bash', [`${PROJECT_ROOT}/scripts/engine.sh`, 'nats-image'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return image;
}

async function tc(): Promise<typeof import('testcontainers')> {
  useLocalEngine();
  return import('testcontainers');
}

interface Jsz {
  meta_cluster?: { leader?: string; replicas?: { name: string; current?: boolean; offline?: boolean }[] };
}

export interface ClusterNode {
  /** server name and network alias: n1, n2... */
  readonly name: string;
  /** the loopback port its client port is published on (kept across kill/revive) */
  readonly port: number;
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  /** the loopback port of its monitoring endpoint (changes on revive) */
  monitorPort: number;
  running: boolean;
  container: StartedTestContainer;
}

export class NatsCluster {
  readonly nodes: ClusterNode[];
  readonly #network: StartedNetwork;

  private constructor(network: StartedNetwork, nodes: ClusterNode[]) {
    this.#network = network;
    this.nodes = nodes;
  }

  /** Start `size` nodes (default 3) and wait until JetStream has a meta leader. */
  static async start(size = 3): Promise<NatsCluster> {
    const { GenericContainer, Network, Wait } = await tc();
    const img = natsImage();
    const network = await new Network().start();
    const names = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    // container names, unique on the engine, resolve on the cluster's own network
    const id = `bpfgate-${process.pid}-${++clusters}`;
    const hosts = new Map(names.map((n) => [n, `${id}-${n}`]));
    const routes = names.map((n) => `nats://${hosts.get(n)}:${ROUTE_PORT}`).join(',');
    const started = await Promise.allSettled(
      names.map(async (name): Promise<ClusterNode> => {
        const port = await freePort();
        const container = await new GenericContainer(img)
          // the network only (no alias: an alias makes testcontainers attach the engine's default
          // bridge too, which these tests neither need nor may rely on)
          .withNetwork(network)
          .withName(hosts.get(name)!)
          .withHostname(name)
          .withExposedPorts({ container: CLIENT_PORT, host: port }, MONITOR_PORT)
          .withCommand([
            '--server_name',
            name,
            '--cluster_name',
            'bpfgate-test',
            '-js',
            '-sd',
            '/data',
            '-p',
            String(CLIENT_PORT),
            '-m',
            String(MONITOR_PORT),
            '--cluster',
            `nats://0.0.0.0:${ROUTE_PORT}`,
            '--routes',
            routes,
            '--client_advertise',
            `127.0.0.1:${port}`,
          ])
          .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
          .withStartupTimeout(30_000)
          .start();
        return {
          name,
          port,
          url: `nats://127.0.0.1:${port}`,
          monitorPort: container.getMappedPort(MONITOR_PORT),
          running: true,
          container,
        };
      }),
    );
    const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const cluster = new NatsCluster(network, nodes);
    const failed = started.find((r) => r.status === 'rejected');
    try {
      if (failed) throw failed.reason;
      await cluster.waitForJetStream();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Every node's URL (what the daemon is given). */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** A client connection to the running nodes (it follows the cluster when one goes away). */
  connect(): Promise<NatsConnection> {
    return connect({
      servers: this.nodes.filter((n) => n.running).map((n) => n.url),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
  }

  /**
   * Wait until the JetStream meta group has a leader and every running node
   * as a current peer (before that, an R3 stream finds no placement), then
   * until JetStream answers a client.
   */
  async waitForJetStream(timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    const running = this.nodes.filter((n) => n.running);
    let last: unknown;
    while (Date.now() < until) {
      try {
        const leader = (await this.monitor<Jsz>(running[0]!.name, 'jsz')).meta_cluster?.leader;
        // the leader's view lists the other peers and whether they are current
        const meta =
          leader && this.node(leader).running
            ? (await this.monitor<Jsz>(leader, 'jsz')).meta_cluster
            : undefined;
        const peers = (meta?.replicas ?? []).filter((r) => r.current && !r.offline).length;
        if (meta?.leader && peers >= running.length - 1) {
          const nc = await this.connect();
          try {
            await (await jetstreamManager(nc, { timeout: 2000 })).getAccountInfo();
            return;
          } finally {
            await nc.close();
          }
        }
        last = `meta group: ${JSON.stringify(meta)}`;
      } catch (e) {
        last = e;
      }
      await sleep(250);
    }
    throw new Error(`JetStream did not answer within ${timeoutMs} ms: ${String(last)}`);
  }

  /** The monitoring endpoint's JSON (varz, connz, jsz...) of a running node. */
  async monitor<T>(name: string, path: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.node(name).monitorPort}/${path}`);
    if (!res.ok) throw new Error(`${name} /${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  /** The node a client named `client` is connected to now (from each running node's connz), or undefined. */
  async serving(client: string): Promise<string | undefined> {
    for (const n of this.nodes.filter((x) => x.running)) {
      const connz = await this.monitor<{ connections?: { name?: string }[] }>(n.name, 'connz');
      if (connz.connections?.some((c) => c.name === client)) return n.name;
    }
    return undefined;
  }

  /** SIGKILL a node's server: nothing orderly happens; its container and store stay for revive(). */
  async kill(name: string): Promise<void> {
    const n = this.node(name);
    const { getContainerRuntimeClient } = await tc();
    const client = await getContainerRuntimeClient();
    await client.container.getById(n.container.getId()).kill({ signal: 'SIGKILL' });
    n.running = false;
  }

  /** Start a killed node again: the same container, store and client URL. */
  async revive(name: string): Promise<void> {
    const n = this.node(name);
    const { getContainerRuntimeClient } = await tc();
    const client = await getContainerRuntimeClient();
    const c = client.container.getById(n.container.getId());
    const since = Math.floor(Date.now() / 1000);
    await c.start();
    const info = await c.inspect();
    n.monitorPort = Number(info.NetworkSettings.Ports[`${MONITOR_PORT}/tcp`]?.[0]?.HostPort);
    const until = Date.now() + 30_000;
    for (;;) {
      const logs = (await c.logs({ stdout: true, stderr: true, since })).toString();
      if (/Server is ready/.test(logs)) break;
      if (Date.now() > until) throw new Error(`${name} did not come back:\n${logs.slice(-2000)}`);
      await sleep(200);
    }
    n.running = true;
  }

  /** Remove every container and the network. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.container.stop({ timeout: 0 }).catch(() => undefined)));
    await this.#network.stop().catch(() => undefined);
  }
}

/** What a cluster test with a daemon needs: the cluster, a client, the test's own cgroup, a scratch folder. */
export interface ClusterRig {
  cluster: NatsCluster;
  nc: NatsConnection;
  cg: TestCgroup;
  dir: string;
  /** the test's daemon, killed by close() if still running */
  daemon: DaemonProcess | null;
  /** everything removed, in reverse */
  close(): Promise<void>;
}

/** A three-node cluster, a client connected to it, the cgroup `name` and a scratch folder. */
export async function clusterRig(name: string): Promise<ClusterRig> {
  const cluster = await NatsCluster.start(3);
  const nc = await cluster.connect();
  const cg = createCgroup(name);
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const rig: ClusterRig = {
    cluster,
    nc,
    cg,
    dir,
    daemon: null,
    async close() {
      await rig.daemon?.kill();
      await cg.remove();
      await nc.close();
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return rig;
}
