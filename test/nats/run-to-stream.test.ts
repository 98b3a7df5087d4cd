// End to end, kernel to stream: `bpfgate run --nats URL` as a real process
// on this host's kernel, a raw socket denied inside a cgroup this test made,
// and the violation read back from a JetStream stream on a real nats-server:
// on its subject, with Nats-Msg-Id = the event id, valid against
// schemas/event.schema.json (native) and the OCSF 1.8.0 definitions (ocsf).
// Scoped to the test's cgroup (KERNEL.md, Safety); nothing is pinned. The
// daemon is the launcher of test/support/daemon.ts.
// NATS: the direct nats-server launcher (test/support/nats-server.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSchemaErrors } from '../../src/events/schema.ts';
import { createCgroup, type TestCgroup, tryRawSocket } from '../support/cgroup.ts';
import { DaemonProcess, scopedArgs } from '../support/daemon.ts';
import { createStream, readStream, STREAM } from '../support/nats.ts';
import { NatsServer, stopAllServers } from '../support/nats-server.ts';
import { OcsfSchema } from '../support/ocsf-schema.ts';
import { waitFor } from '../support/wait.ts';

const NAME = `bpfgate-run-nats-${process.pid}`;
const HOST = 'e2e-host';

const POLICY = `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: no-raw-e2e
  severity: high
  tags: [T1095]
spec:
  scope:
    cgroups: [/${NAME}]
  rules:
    - id: raw
      kind: socket
      action: block
      message: raw socket in the test cgroup
      match: { families: [inet], types: [raw] }
`;

/** `bpfgate run --nats URL` on the test's cgroup, nothing pinned, until it enforces (test/support/daemon.ts). */
function startDaemon(
  dir: string,
  cg: TestCgroup,
  url: string,
  format: 'native' | 'ocsf',
): Promise<DaemonProcess> {
  return DaemonProcess.start(
    [...scopedArgs(dir, cg.path), '--no-stdout', '--host', HOST, '--format', format, '--nats', url],
    { stdout: 'ignore' },
  );
}

describe('bpfgate run --nats: a kernel violation reaches the JetStream stream', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let cg: TestCgroup;
  let dir: string;
  let daemon: DaemonProcess | null = null;

  beforeAll(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
    await createStream(nc);
    cg = createCgroup(NAME);
    dir = mkdtempSync(join(tmpdir(), 'bpfgate-run-nats-'));
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
  });

  afterAll(async () => {
    await daemon?.stop('SIGTERM');
    await cg?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await nc?.close();
    await stopAllServers();
  });

  async function violationOnce(format: 'native' | 'ocsf') {
    const before = (await readStream(nc)).length;
    daemon = await startDaemon(dir, cg, server.url, format);
    expect(await tryRawSocket(cg.path)).toBe('errno 1'); // EPERM inside the cgroup
    expect(await tryRawSocket()).toBe('ok'); // allowed outside it
    await waitFor(async () => (await readStream(nc)).length > before, 20_000, 'the event in the stream');
    expect((await daemon.stop('SIGTERM')).code).toBe(0);
    daemon = null;
    const added = (await readStream(nc)).slice(before);
    expect(added).toHaveLength(1); // once: one denied call, one event, no duplicate
    return added[0]!;
  }

  it('native: on bpfgate.v1.<host>.socket.denied, Nats-Msg-Id = id, schema-valid', async () => {
    const m = await violationOnce('native');
    expect(m.subject).toBe(`bpfgate.v1.${HOST}.socket.denied`);
    expect(m.msgId).toBe(m.body.id);
    expect(eventSchemaErrors(m.body)).toEqual([]);
    expect(m.body).toMatchObject({
      type: 'violation',
      host: HOST,
      policy: { name: 'no-raw-e2e', rule: 'raw', severity: 'high', tags: ['T1095'] },
      action: 'block',
      outcome: 'denied',
      kind: 'socket',
      mechanism: 'cgroup',
      target: { family: 'inet', type: 'raw' },
      process: { comm: 'python3', cgroup: { id: String(cg.id) } },
    });
  });

  it('ocsf: the same violation as an OCSF 1.8.0 Network Activity event', async () => {
    const m = await violationOnce('ocsf');
    expect(m.subject).toBe(`bpfgate.v1.${HOST}.socket.denied`);
    expect(new OcsfSchema().check(m.body)).toEqual([]);
    expect(m.body).toMatchObject({ class_uid: 4001, action_id: 2, disposition_id: 2 });
    expect(m.msgId).toBe((m.body.metadata as { uid: string }).uid);
  });

  it('the stream is the one bpfgate nats setup creates (docs/nats.md)', async () => {
    const info = await (await import('@nats-io/jetstream'))
      .jetstreamManager(nc)
      .then((j) => j.streams.info(STREAM));
    expect(info.config.subjects).toEqual(['bpfgate.v1.>']);
  });
});
