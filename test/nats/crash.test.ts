// A daemon's NATS sink killed (SIGKILL) in the middle of an outage, and
// started again once the broker is back, replays what it had spooled: every
// spooled id reaches the stream exactly once. The sink runs alone in a child
// process (test/nats/spool-child.ts, a Child of test/support/child.ts) so
// that the test controls every event id.
// NATS: the direct nats-server launcher (test/support/nats-server.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { Child } from '../support/child.ts';
import { createStream, readStream, withConnection } from '../support/nats.ts';
import { NatsServer, stopAllServers } from '../support/nats-server.ts';
import { sleep } from '../support/wait.ts';

const CHILD = fileURLToPath(new URL('./spool-child.ts', import.meta.url));
const children: Child[] = [];
const spoolDir = mkdtempSync(join(tmpdir(), 'bpfgate-crash-'));
let server: NatsServer | undefined;

afterAll(async () => {
  for (const c of children) await c.kill();
  await server?.dispose();
  await stopAllServers();
  rmSync(spoolDir, { recursive: true, force: true });
});

/** The sink child (spool-child.ts) with its environment. */
function runChild(env: Record<string, string>) {
  const child = new Child([process.execPath, CHILD], { env: { ...process.env, ...env } });
  children.push(child);
  const waitLine = (prefix: string) =>
    child.until(() => child.stdoutLines().find((l) => l.startsWith(prefix)), `a line ${prefix}`, 30_000);
  return { child, lines: () => child.stdoutLines(), waitLine };
}

it('a spool survives a killed process: everything spooled arrives once after restart', async () => {
  server = await NatsServer.start();
  await withConnection({ servers: server.url }, (nc) => createStream(nc));
  const url = server.url;
  await server.stop();

  const first = runChild({ NATS_URL: url, SPOOL_DIR: spoolDir, COUNT: '300', PHASE: 'outage' });
  const spooled = JSON.parse((await first.waitLine('SPOOLED ')).slice(8)) as string[];
  await sleep(300); // a steady stream of extra events keeps flowing into the spool
  await first.child.kill();
  const extras = first
    .lines()
    .filter((l) => l.startsWith('EXTRA '))
    .map((l) => l.slice(6));
  expect(extras.length).toBeGreaterThan(0);

  await server.restart();
  const second = runChild({ NATS_URL: url, SPOOL_DIR: spoolDir, COUNT: '50', PHASE: 'resume' });
  const fresh = JSON.parse((await second.waitLine('DONE ')).slice(5)) as string[];

  const stored = await withConnection({ servers: url }, (nc) => readStream(nc));
  const storedIds = stored.map((m) => m.msgId!);
  expect(new Set(storedIds).size).toBe(storedIds.length);
  const got = new Set(storedIds);
  for (const id of [...spooled, ...fresh]) expect(got.has(id), id).toBe(true);
  // nothing foreign: whatever else arrived is an extra the first process had made
  const known = new Set([...spooled, ...fresh, ...extras]);
  for (const id of storedIds) expect(known.has(id)).toBe(true);
  // the spooled backlog went first, in order
  expect(storedIds.slice(0, spooled.length)).toEqual(spooled);
});
