// The fleet policy source against a real nats-server with JetStream: policies
// put into the KV bucket reach the hosts they select, a change reaches a
// reload, an invalid policy is reported with its key and revision while the
// previous set stays, each host's status is readable in the bucket, a host
// that cannot reach NATS at start enforces its cached set (or refuses), and a
// host refuses an older signed entry put back or a policy deleted without a
// signed tombstone.
// The reload here is the daemon's path without the kernel: load(), compile
// for a shipped feature set, settled().
// NATS: the direct nats-server launcher (test/support/nats-server.ts).
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KV, Kvm } from '@nats-io/kv';
import { createUser } from '@nats-io/nkeys';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler/compile.ts';
import { loadFeatureFile, SHIPPED_FEATURES } from '../../src/compiler/feature-file.ts';
import { ValidationError } from '../../src/errors.ts';
import { cacheFile } from '../../src/fleet/cache.ts';
import { FleetPolicies, FleetUnavailableError } from '../../src/fleet/kv.ts';
import { defaultFleetOptions, type FleetOptions } from '../../src/fleet/options.ts';
import {
  EMPTY_MARKER_KEY,
  EMPTY_MARKER_TEXT,
  signEntry,
  TOMBSTONE_TEXT,
  verifyEntry,
} from '../../src/fleet/signature.ts';
import type { HostStatus } from '../../src/fleet/status.ts';
import { createLogger } from '../../src/log.ts';
import { bpfgate } from '../support/daemon.ts';
import { signed, TRUSTED_KEYS } from '../support/fleet.ts';
import { NatsServer, stopAllServers } from '../support/nats-server.ts';
import { waitFor } from '../support/wait.ts';

const BUCKET = 'bpfgate-policies';
const STATUS_BUCKET = 'bpfgate-hosts';
const features = loadFeatureFile(SHIPPED_FEATURES['no-lsm']);
const log = createLogger({ level: 'silent' });

function policy(name: string, hosts: string | null, kind = 'ptrace', action = 'block'): string {
  const match = kind === 'ptrace' ? 'modes: [attach]' : 'directories: [/tmp/]';
  return [
    'apiVersion: bpfgate.dev/v1',
    'kind: Policy',
    'metadata:',
    `  name: ${name}`,
    ...(hosts !== null ? ['  labels:', `    bpfgate.dev/hosts: "${hosts}"`] : []),
    'spec:',
    '  rules:',
    '    - id: r1',
    `      kind: ${kind}`,
    `      action: ${action}`,
    '      match:',
    `        ${match}`,
    '',
  ].join('\n');
}

let server: NatsServer;
let nc: NatsConnection;
let kv: KV;
/** the hosts' status, a bucket apart from the policies */
let hosts: KV;
let dir: string;
const open: FleetPolicies[] = [];

async function fleet(host: string, labels: Record<string, string>, over: Partial<FleetOptions> = {}) {
  const o: FleetOptions = {
    ...defaultFleetOptions(),
    servers: [server.url],
    labels,
    cacheDir: join(dir, host),
    connectTimeoutMs: 2000,
    reconnectWaitMs: 100,
    trustedKeys: TRUSTED_KEYS,
    ...over,
  };
  const f = await FleetPolicies.open(o, { host, mode: 'enforce', log });
  open.push(f);
  return f;
}

/** The daemon's reload without the kernel: validate, compile, report the outcome. */
async function reload(f: FleetPolicies): Promise<boolean> {
  const { set, diagnostics } = await f.load();
  if (!set) {
    await f.settled({
      ok: false,
      error: new ValidationError(diagnostics.filter((d) => d.severity === 'error')),
    });
    return false;
  }
  await f.settled({ ok: true, plan: compile(set, features, { gen: 0, audit: false }) });
  return true;
}

async function clearBucket(): Promise<void> {
  for await (const k of await kv.keys()) await kv.purge(k);
  for await (const k of await hosts.keys()) await hosts.purge(k);
}

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  kv = await new Kvm(nc).create(BUCKET, { history: 5 });
  hosts = await new Kvm(nc).create(STATUS_BUCKET, { history: 1 });
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.stop()));
  rmSync(dir, { recursive: true, force: true });
  if (!server.running) await server.restart();
  if (nc.isClosed()) {
    nc = await connect({ servers: server.url });
    kv = await new Kvm(nc).open(BUCKET);
    hosts = await new Kvm(nc).open(STATUS_BUCKET);
  }
  await clearBucket();
});

afterAll(async () => {
  await nc?.close();
  await server?.dispose();
  await stopAllServers();
});

describe('fleet policies from a KV bucket', () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bpfgate-fleet-'));
  });

  it('yields the policies put into the bucket, each host those its labels select', async () => {
    await kv.put('policies.no-ptrace', signed('policies.no-ptrace', policy('no-ptrace', null)));
    const webRev = await kv.put(
      'policies.web-tmp',
      signed('policies.web-tmp', policy('web-tmp', 'role=web', 'exec')),
    );
    await kv.put(
      'policies.db-only',
      signed('policies.db-only', policy('db-only', 'role in (db, cache), env=prod', 'exec')),
    );
    await kv.put('hosts.someone', '{"not":"a policy"}');

    const web = await fleet('web-1', { role: 'web', env: 'prod' });
    const db = await fleet('db-1', { role: 'db', env: 'prod' });
    const w = await web.load();
    expect(w.diagnostics).toEqual([]);
    expect(w.set?.policies.map((p) => p.name)).toEqual(['no-ptrace', 'web-tmp']);
    expect(w.set?.policies[1]?.pos.file).toBe(`kv://${BUCKET}/policies.web-tmp@rev${webRev}`);
    const d = await db.load();
    expect(d.set?.policies.map((p) => p.name)).toEqual(['db-only', 'no-ptrace']);
  });

  it('a change in the bucket reaches a reload, debounced; the host status follows every apply', async () => {
    await kv.put('policies.no-ptrace', signed('policies.no-ptrace', policy('no-ptrace', null)));
    const web = await fleet('web-1', { role: 'web' });
    expect(await reload(web)).toBe(true);
    const reasons: string[][] = [];
    let reloads = 0;
    web.watch(100, (what) => {
      reasons.push(what);
      void reload(web).then(() => reloads++);
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(reasons).toEqual([]); // the watch's initial values are the set already applied

    // a burst: two puts, one reload
    await kv.put('policies.web-tmp', signed('policies.web-tmp', policy('web-tmp', 'role=web', 'exec')));
    const rev = await kv.put(
      'policies.web-tmp',
      signed('policies.web-tmp', policy('web-tmp', 'role=web', 'exec', 'kill')),
    );
    await kv.put('policies.db-only', signed('policies.db-only', policy('db-only', 'role=db', 'exec')));
    await waitFor(() => reloads === 1, 10_000, 'a reload');
    expect(reasons[0]).toContain(`policies.web-tmp@rev${rev}`);
    expect(web.applied).toEqual([
      { name: 'no-ptrace', key: 'policies.no-ptrace', revision: expect.any(Number) },
      { name: 'web-tmp', key: 'policies.web-tmp', revision: rev },
    ]);

    const entry = await hosts.get('hosts.web-1');
    // the status is in a bucket of its own: the hosts reading the policies do not see it
    expect(await kv.get('hosts.web-1')).toBeNull();
    const status = entry?.json<HostStatus>();
    expect(status).toMatchObject({
      host: 'web-1',
      labels: { role: 'web' },
      bucket: BUCKET,
      source: 'kv',
      mode: 'enforce',
      applied: web.applied,
      lastReload: { ok: true, errors: [] },
    });
    expect(status?.rules.find((r) => r.policy === 'web-tmp')).toMatchObject({
      action: 'kill',
      achieved: 'kill',
    });
    expect(Object.values(status?.enforcement ?? {}).reduce((a, b) => a + b, 0)).toBe(status?.rules.length);

    // a policy deleted with a signed tombstone leaves the set
    await kv.put('policies.web-tmp', signed('policies.web-tmp', TOMBSTONE_TEXT));
    await waitFor(() => reloads === 2, 10_000, 'a reload after a delete');
    expect(web.applied.map((e) => e.name)).toEqual(['no-ptrace']);
  });

  it('an invalid policy is reported with its key and revision, and the previous set stays', async () => {
    const good = await kv.put('policies.no-ptrace', signed('policies.no-ptrace', policy('no-ptrace', null)));
    const web = await fleet('web-1', { role: 'web' });
    expect(await reload(web)).toBe(true);
    let outcome: boolean | null = null;
    web.watch(50, () => void reload(web).then((ok) => (outcome = ok)));

    const bad = await kv.put(
      'policies.no-ptrace',
      signed('policies.no-ptrace', policy('no-ptrace', null, 'ptrace', 'smite')),
    );
    await waitFor(() => outcome !== null, 10_000, 'a reload');
    expect(outcome).toBe(false);
    expect(web.applied).toEqual([{ name: 'no-ptrace', key: 'policies.no-ptrace', revision: good }]);
    const status = (await hosts.get('hosts.web-1'))?.json<HostStatus>();
    expect(status?.applied).toEqual(web.applied);
    expect(status?.lastReload.ok).toBe(false);
    expect(status?.lastReload.read).toEqual([
      { name: 'no-ptrace', key: 'policies.no-ptrace', revision: bad },
    ]);
    expect(status?.lastReload.errors).toHaveLength(1);
    expect(status?.lastReload.errors[0]).toMatch(
      new RegExp(`^kv://${BUCKET}/policies\\.no-ptrace@rev${bad}:9:15: .*\\[INVALID_VALUE\\]$`),
    );
    // the rules reported are still those of the set being enforced
    expect(status?.rules).toMatchObject([{ policy: 'no-ptrace', action: 'block' }]);

    // a malformed selector is every host's error, even one it would not select
    outcome = null;
    const sel = await kv.put(
      'policies.db-only',
      signed('policies.db-only', policy('db-only', 'role in (db', 'exec')),
    );
    await waitFor(() => outcome !== null, 10_000, 'a reload');
    const again = (await hosts.get('hosts.web-1'))?.json<HostStatus>();
    expect(
      again?.lastReload.errors.some((e) => e.startsWith(`kv://${BUCKET}/policies.db-only@rev${sel}:6:`)),
    ).toBe(true);
  });

  it('starts from the cached set when NATS (or the bucket) is down, refuses without one, and moves to the bucket once it is back', async () => {
    const rev = await kv.put('policies.no-ptrace', signed('policies.no-ptrace', policy('no-ptrace', null)));
    const first = await fleet('web-1', { role: 'web' });
    expect(await reload(first)).toBe(true);
    await first.stop();

    await server.stop();
    await expect(fleet('web-2', { role: 'web' }, { connectTimeoutMs: 300 })).rejects.toThrow(
      FleetUnavailableError,
    );
    await expect(fleet('web-2', { role: 'web' }, { connectTimeoutMs: 300, cacheDir: null })).rejects.toThrow(
      /no cache is configured: refusing to start without policies/,
    );

    await server.restart();
    await expect(
      fleet('web-2', { role: 'web' }, { connectTimeoutMs: 300, cacheDir: null, bucket: 'no-such-bucket' }),
    ).rejects.toThrow(/cannot reach the fleet policy bucket 'no-such-bucket'/);
    await server.stop();

    const cached = await fleet('web-1', { role: 'web' }, { connectTimeoutMs: 300 });
    expect(cached.connected).toBe(false);
    const seen: string[][] = [];
    cached.watch(50, (what) => seen.push(what));
    expect(await reload(cached)).toBe(true);
    expect(cached.source).toBe('cache');
    expect(cached.applied).toEqual([{ name: 'no-ptrace', key: 'policies.no-ptrace', revision: rev }]);
    expect(cached.status?.source).toBe('cache');

    await server.restart();
    await waitFor(() => seen.length > 0, 15_000, 'the bucket to be reachable again');
    expect(seen[0]).toContain('connected');
    expect(cached.connected).toBe(true);
    nc = await connect({ servers: server.url });
    kv = await new Kvm(nc).open(BUCKET);
    hosts = await new Kvm(nc).open(STATUS_BUCKET);
    await kv.put('policies.web-tmp', signed('policies.web-tmp', policy('web-tmp', 'role=web', 'exec')));
    expect(await reload(cached)).toBe(true);
    expect(cached.source).toBe('kv');
    expect(cached.applied.map((e) => e.name)).toEqual(['no-ptrace', 'web-tmp']);
    await waitFor(
      async () => (await hosts.get('hosts.web-1'))?.json<HostStatus>().source === 'kv',
      10_000,
      'the status written once the bucket is back',
    );
  });

  it('keeps watching across a server restart', async () => {
    await kv.put('policies.no-ptrace', signed('policies.no-ptrace', policy('no-ptrace', null)));
    const web = await fleet('web-1', { role: 'web' });
    expect(await reload(web)).toBe(true);
    const seen: string[] = [];
    let reloads = 0;
    web.watch(50, (what) => {
      seen.push(...what);
      void reload(web).then(() => reloads++);
    });
    await nc.close();
    await server.restart();
    // the reconnect itself reads the bucket again (changes may have been missed while away)
    await waitFor(() => reloads === 1, 20_000, 'the reload after the reconnect');
    expect(seen).toContain('reconnected');
    nc = await connect({ servers: server.url });
    kv = await new Kvm(nc).open(BUCKET);
    hosts = await new Kvm(nc).open(STATUS_BUCKET);
    // and the watch goes on: a later put is seen as a change of its own
    const rev = await kv.put(
      'policies.web-tmp',
      signed('policies.web-tmp', policy('web-tmp', 'role=web', 'exec')),
    );
    await waitFor(() => seen.includes(`policies.web-tmp@rev${rev}`), 20_000, 'the watch to see the change');
    await waitFor(() => web.applied.some((e) => e.revision === rev), 20_000, 'the change applied');
  });
});

describe('signed fleet policies', () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bpfgate-fleet-'));
  });

  const codes = (r: { diagnostics: { code: string; pos: { file: string; line: number } }[] }) =>
    r.diagnostics.map((d) => `${d.code} ${d.pos.file}:${d.pos.line}`);

  it('an unsigned entry, or one signed by a key the host does not trust, is refused where it is; the set stays', async () => {
    const good = await kv.put('policies.no-ptrace', signed('policies.no-ptrace', policy('no-ptrace', null)));
    const web = await fleet('web-1', { role: 'web' });
    expect(await reload(web)).toBe(true);

    // anyone who can write to the bucket: an unsigned replacement
    const plain = await kv.put('policies.no-ptrace', policy('no-ptrace', null, 'ptrace', 'audit'));
    const r = await web.load();
    expect(r.set).toBeNull();
    expect(codes(r)).toEqual([`FLEET_SIGNATURE kv://${BUCKET}/policies.no-ptrace@rev${plain}:11`]);
    await web.settled({ ok: false, error: new ValidationError(r.diagnostics) });
    expect(web.applied).toEqual([{ name: 'no-ptrace', key: 'policies.no-ptrace', revision: good }]);
    const status = (await hosts.get('hosts.web-1'))?.json<HostStatus>();
    expect(status?.lastReload.errors[0]).toMatch(/is not signed/);

    // a key of its own: signed, but not trusted
    const mallory = createUser();
    const forged = await kv.put(
      'policies.no-ptrace',
      signEntry(mallory, 'policies.no-ptrace', policy('no-ptrace', null, 'ptrace', 'audit')),
    );
    expect(codes(await web.load())).toEqual([
      `FLEET_SIGNATURE kv://${BUCKET}/policies.no-ptrace@rev${forged}:12`,
    ]);
    expect(await reload(web)).toBe(false);
    expect(web.applied).toEqual([{ name: 'no-ptrace', key: 'policies.no-ptrace', revision: good }]);

    // a signed entry copied under another key
    await kv.put('policies.no-ptrace', signed('policies.no-ptrace', policy('no-ptrace', null)));
    const copied = await kv.put('policies.other', signed('policies.no-ptrace', policy('no-ptrace', null)));
    expect(codes(await web.load())).toEqual([
      `FLEET_SIGNATURE kv://${BUCKET}/policies.other@rev${copied}:12`,
    ]);
  });

  it('deleting every entry changes nothing; the signed empty-set marker and tombstones empty the set', async () => {
    const good = await kv.put('policies.no-ptrace', signed('policies.no-ptrace', policy('no-ptrace', null)));
    const web = await fleet('web-1', { role: 'web' });
    expect(await reload(web)).toBe(true);
    await kv.delete('policies.no-ptrace');
    const r = await web.load();
    expect(codes(r)).toEqual([`FLEET_DELETED kv://${BUCKET}/policies.no-ptrace:1`]);
    expect(await reload(web)).toBe(false);
    expect(web.applied).toEqual([{ name: 'no-ptrace', key: 'policies.no-ptrace', revision: good }]);
    // an unsigned marker is refused like any unsigned entry
    await kv.put(EMPTY_MARKER_KEY, EMPTY_MARKER_TEXT);
    expect(await reload(web)).toBe(false);
    // the signed marker alone does not delete a policy this host applies: its tombstone does
    await kv.put(EMPTY_MARKER_KEY, signed(EMPTY_MARKER_KEY, EMPTY_MARKER_TEXT));
    expect(codes(await web.load())).toEqual([`FLEET_DELETED kv://${BUCKET}/policies.no-ptrace:1`]);
    await kv.put('policies.no-ptrace', signed('policies.no-ptrace', TOMBSTONE_TEXT));
    expect(await reload(web)).toBe(true);
    expect(web.applied).toEqual([]);
    // a fresh host with no cache: the bucket without policies, the marker says it is meant
    const fresh = await fleet('web-9', { role: 'web' });
    expect(await reload(fresh)).toBe(true);
    expect(fresh.applied).toEqual([]);
  });

  it('an older signed entry put back is refused, also after a restart; a deletion needs a signed tombstone', async () => {
    const v1 = signed('policies.no-ptrace', policy('no-ptrace', null, 'ptrace', 'audit'));
    await kv.put('policies.no-ptrace', v1);
    const web = await fleet('web-1', { role: 'web' });
    expect(await reload(web)).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    const v2rev = await kv.put('policies.no-ptrace', signed('policies.no-ptrace', policy('no-ptrace', null)));
    expect(await reload(web)).toBe(true);
    expect(web.applied).toEqual([{ name: 'no-ptrace', key: 'policies.no-ptrace', revision: v2rev }]);
    // a writer of the bucket puts the older, weaker revision back: refused where it is, the set stays
    const replayed = await kv.put('policies.no-ptrace', v1);
    const r = await web.load();
    expect(codes(r)).toEqual([`FLEET_REPLAY kv://${BUCKET}/policies.no-ptrace@rev${replayed}:1`]);
    await web.settled({ ok: false, error: new ValidationError(r.diagnostics) });
    expect(web.applied).toEqual([{ name: 'no-ptrace', key: 'policies.no-ptrace', revision: v2rev }]);
    // a restarted host remembers what it applied (the fleet cache)
    await web.stop();
    const again = await fleet('web-1', { role: 'web' });
    expect(codes(await again.load())).toEqual([
      `FLEET_REPLAY kv://${BUCKET}/policies.no-ptrace@rev${replayed}:1`,
    ]);
    // the current entry back; then deleted without a tombstone: refused, with one: gone
    await new Promise((r) => setTimeout(r, 5));
    await kv.put('policies.no-ptrace', signed('policies.no-ptrace', policy('no-ptrace', null)));
    await kv.put('policies.other', signed('policies.other', policy('other', null, 'exec')));
    expect(await reload(again)).toBe(true);
    await kv.purge('policies.other');
    expect(codes(await again.load())).toEqual([`FLEET_DELETED kv://${BUCKET}/policies.other:1`]);
    expect(await reload(again)).toBe(false);
    expect(again.applied.map((e) => e.name)).toEqual(['no-ptrace', 'other']);
    await kv.put('policies.other', signed('policies.other', TOMBSTONE_TEXT));
    expect(await reload(again)).toBe(true);
    expect(again.applied.map((e) => e.name)).toEqual(['no-ptrace']);
  });

  it('a cached set edited on disk is refused at start', async () => {
    await kv.put('policies.no-ptrace', signed('policies.no-ptrace', policy('no-ptrace', null)));
    const first = await fleet('web-1', { role: 'web' });
    expect(await reload(first)).toBe(true);
    await first.stop();
    const file = cacheFile(join(dir, 'web-1'), BUCKET);
    writeFileSync(file, readFileSync(file, 'utf8').replace('action: block', 'action: audit'));
    await nc.close(); // reopened after the test
    await server.stop();
    const cached = await fleet('web-1', { role: 'web' }, { connectTimeoutMs: 300 });
    const r = await cached.load();
    expect(r.set).toBeNull();
    expect(r.diagnostics.map((d) => d.code)).toEqual(['FLEET_SIGNATURE']);
  });

  it('bpfgate fleet keygen, sign and push: what an operator pushes, a host trusting the key applies', async () => {
    const seed = join(dir, 'ops.seed');
    const gen = await bpfgate(['fleet', 'keygen', '--out', seed]);
    expect(gen.code).toBe(0);
    const pub = gen.stdout.trim();
    expect(pub).toMatch(/^U[A-Z2-7]{55}$/);
    expect(statSync(seed).mode & 0o777).toBe(0o600);
    expect((await bpfgate(['fleet', 'keygen', '--out', seed])).stderr).toMatch(/it exists/);
    expect(gen.stdout + gen.stderr).not.toContain(readFileSync(seed, 'utf8').trim());

    const file = join(dir, 'no-ptrace.yaml');
    writeFileSync(file, policy('no-ptrace', null));
    const sign = await bpfgate(['fleet', 'sign', '--seed-file', seed, file]);
    expect(sign.code).toBe(0);
    expect(verifyEntry('policies.no-ptrace', sign.stdout, [pub]).ok).toBe(true);

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, policy('bad', null, 'ptrace', 'smite'));
    const refused = await bpfgate(['fleet', 'push', '--seed-file', seed, '--nats', server.url, bad]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/INVALID_VALUE/);
    expect(await kv.get('policies.bad')).toBeNull();

    const pushed = await bpfgate(['fleet', 'push', '--seed-file', seed, '--nats', server.url, file]);
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    const rev = Number(/policies\.no-ptrace@rev(\d+)/.exec(pushed.stdout)?.[1]);
    const web = await fleet('web-1', { role: 'web' }, { trustedKeys: [pub] });
    expect(await reload(web)).toBe(true);
    expect(web.applied).toEqual([{ name: 'no-ptrace', key: 'policies.no-ptrace', revision: rev }]);
    // the test operator's key is not this host's: refused
    const other = await fleet('web-2', { role: 'web' });
    expect(codes(await other.load())).toEqual([
      `FLEET_SIGNATURE kv://${BUCKET}/policies.no-ptrace@rev${rev}:12`,
    ]);

    // a single policy deleted by the operator: a signed tombstone, the host drops it
    const extra = join(dir, 'extra.yaml');
    writeFileSync(extra, policy('extra', null, 'exec'));
    expect((await bpfgate(['fleet', 'push', '--seed-file', seed, '--nats', server.url, extra])).code).toBe(0);
    expect(await reload(web)).toBe(true);
    expect(web.applied.map((e) => e.name)).toEqual(['extra', 'no-ptrace']);
    const del = await bpfgate([
      'fleet',
      'push',
      '--seed-file',
      seed,
      '--nats',
      server.url,
      '--delete',
      'extra',
    ]);
    expect(del.code).toBe(0);
    expect(del.stdout).toMatch(/^deleted policies\.extra@rev\d+\n$/);
    expect(await reload(web)).toBe(true);
    expect(web.applied.map((e) => e.name)).toEqual(['no-ptrace']);
    expect((await bpfgate(['fleet', 'push', '--seed-file', seed, '--delete', 'Not/A name'])).code).toBe(2);

    const empty = await bpfgate(['fleet', 'push', '--seed-file', seed, '--nats', server.url, '--empty']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/deleted policies\.no-ptrace/);
    expect(await reload(web)).toBe(true);
    expect(web.applied).toEqual([]);
    // pushing a policy again takes the marker away
    expect((await bpfgate(['fleet', 'push', '--seed-file', seed, '--nats', server.url, file])).code).toBe(0);
    expect((await kv.get(EMPTY_MARKER_KEY))?.operation).not.toBe('PUT');
    // NATS away: a clear error, no stack trace
    const away = await bpfgate(['fleet', 'push', '--seed-file', seed, '--nats', 'nats://127.0.0.1:1', file]);
    expect(away.code).toBe(4);
    expect(away.stderr).toMatch(
      /^bpfgate fleet: cannot reach NATS at nats:\/\/127\.0\.0\.1:1: .*\[FLEET_UNAVAILABLE\]\n$/,
    );
  });
});
