// Every authentication mode of the sink, each against a server configured for
// it; and a publisher whose permissions cover only its own host's subjects.
// NATS: the direct nats-server launcher (test/support/nats-server.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { createUser } from '@nats-io/nkeys';
import { credsAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { NatsAuth } from '../../src/nats/auth.ts';
import { connectionOptions } from '../../src/nats/options.ts';
import { sampleEvents } from '../support/events.ts';
import { createStream, makeSink, readStream, withConnection } from '../support/nats.ts';
import { OperatorChain } from '../support/nats-jwt.ts';
import { NatsServer, stopAllServers } from '../support/nats-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'bpfgate-auth-'));
const servers: NatsServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.dispose();
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

/** A CA, a server certificate for 127.0.0.1 and a client certificate, in `where`. */
function makeCertificates(where: string): void {
  const ssl = (cmd: string) => execFileSync('openssl', cmd.split(' '), { cwd: where, stdio: 'pipe' });
  ssl('req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=bpfgate-test-CA');
  writeFileSync(join(where, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const [name, cn, ext] of [
    ['server', '127.0.0.1', ' -extfile server.ext'],
    ['client', 'bpfgate-client', ''],
  ]) {
    ssl(`req -newkey rsa:2048 -nodes -keyout ${name}.key -out ${name}.csr -subj /CN=${cn}`);
    ssl(`x509 -req -in ${name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out ${name}.pem -days 1${ext}`);
  }
}

async function server(config: string): Promise<NatsServer> {
  const s = await NatsServer.start({ config });
  servers.push(s);
  return s;
}

/** The sink with `auth` publishes every sample event into the stream. */
async function roundTrip(
  s: NatsServer,
  auth: NatsAuth,
  admin: NodeConnectionOptions,
  host = 'auth-host',
): Promise<void> {
  const url = auth.tls ? `tls://127.0.0.1:${s.port}` : s.url;
  await withConnection({ ...admin, servers: url }, (nc) => createStream(nc));
  const sink = makeSink({ servers: [url], auth }, host);
  await sink.start();
  const events = sampleEvents(host);
  for (const e of events) sink.publish(e);
  expect(await sink.idle(15_000)).toBe(true);
  const stats = sink.stats();
  await sink.stop();
  expect(stats.published).toBe(events.length);
  const stored = await withConnection({ ...admin, servers: url }, (nc) => readStream(nc));
  expect(stored.map((m) => m.msgId)).toEqual(events.map((e) => e.id));
}

describe('authentication', () => {
  it('token', async () => {
    const s = await server('authorization { token: "s3cr3t-token" }\n');
    await roundTrip(s, { token: 's3cr3t-token' }, { token: 's3cr3t-token' });
    // a wrong token is refused
    await expect(withConnection({ servers: s.url, token: 'wrong' }, async () => 1)).rejects.toThrow();
  });

  it('user and password', async () => {
    const s = await server('authorization { users: [ { user: "bpfgate", password: "pw-123" } ] }\n');
    await roundTrip(s, { user: 'bpfgate', password: 'pw-123' }, { user: 'bpfgate', pass: 'pw-123' });
    await expect(
      withConnection({ servers: s.url, user: 'bpfgate', pass: 'nope' }, async () => 1),
    ).rejects.toThrow();
  });

  it('nkey seed file', async () => {
    const u = createUser();
    const seedFile = join(dir, 'user.nk');
    writeFileSync(seedFile, new TextDecoder().decode(u.getSeed()));
    const s = await server(`authorization { users: [ { nkey: "${u.getPublicKey()}" } ] }\n`);
    const admin = connectionOptions([s.url], { nkeySeedFile: seedFile }, 'admin');
    await roundTrip(s, { nkeySeedFile: seedFile }, admin);
  });

  it('creds file (operator / account / user JWTs, memory resolver)', async () => {
    const chain = new OperatorChain();
    const s = await server(chain.serverConfig());
    const creds = join(dir, 'user.creds');
    writeFileSync(creds, chain.user('bpfgate'));
    const admin = { authenticator: credsAuthenticator(new TextEncoder().encode(chain.user('admin'))) };
    await roundTrip(s, { credsFile: creds }, admin);
  });

  it('TLS with a client certificate', async () => {
    makeCertificates(dir);
    const p = (f: string) => join(dir, f);
    const s = await server(
      `tls { cert_file: "${p('server.pem')}", key_file: "${p('server.key')}", ca_file: "${p('ca.pem')}", verify: true }\n`,
    );
    const tls = { caFile: p('ca.pem'), certFile: p('client.pem'), keyFile: p('client.key') };
    await roundTrip(s, { tls }, { tls });
    // without a client certificate the server refuses the connection
    await expect(
      withConnection(
        { servers: `tls://127.0.0.1:${s.port}`, tls: { caFile: p('ca.pem') }, timeout: 3000 },
        async () => 1,
      ),
    ).rejects.toThrow();
  });
});

describe('permissions', () => {
  it('a publisher limited to its own subjects publishes there and is refused elsewhere', async () => {
    const chain = new OperatorChain();
    const s = await server(chain.serverConfig());
    const creds = join(dir, 'limited.creds');
    writeFileSync(
      creds,
      chain.user('host-a', {
        pub: { allow: ['bpfgate.v1.host-a.>', '$JS.API.STREAM.INFO.*'] },
        sub: { allow: ['_INBOX.>'] },
      }),
    );
    const admin = { authenticator: credsAuthenticator(new TextEncoder().encode(chain.user('admin'))) };
    await roundTrip(s, { credsFile: creds }, admin, 'host-a');
    // the same credentials, publishing as another host: refused by the server
    await withConnection(connectionOptions([s.url], { credsFile: creds }, 'intruder'), async (nc) => {
      const js = jetstream(nc, { timeout: 2000 });
      await expect(js.publish('bpfgate.v1.host-b.exec.denied', 'x', { msgID: 'forged' })).rejects.toThrow();
    });
    const stored = await withConnection({ ...admin, servers: s.url }, (nc) => readStream(nc));
    expect(stored.some((m) => m.subject.includes('host-b'))).toBe(false);
  });
});
