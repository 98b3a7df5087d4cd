// A daemon killed (SIGKILL) in the middle of an outage, and started again
// once the broker is back, replays what it had spooled: every spooled id
// reaches the stream exactly once.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { createStream, readStream, withConnection } from '../support/nats.ts';
import { NatsServer, stopAllServers } from '../support/nats-server.ts';
import { sleep } from '../support/wait.ts';

const CHILD = fileURLToPath(new URL('./spool-child.ts', import.meta.url));
const children = new Set<ChildProcess>();
const spoolDir = mkdtempSync(join(tmpdir(), 'bpfgate-crash-'));
let server: NatsServer | undefined;

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await server?.dispose();
  await stopAllServers();
  rmSync(spoolDir, { recursive: true, force: true });
});

function runChild(env: Record<string, string>): {
  child: ChildProcess;
  lines: string[];
  waitLine: (p: string) => Promise<string>;
} {
  const child = spawn(process.execPath, [CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines: string[] = [];
  let buf = '';
  const waiters: { prefix: string; resolve: (l: string) => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i = buf.indexOf('\n');
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of waiters.filter((w) => line.startsWith(w.prefix))) w.resolve(line);
      i = buf.indexOf('\n');
    }
  });
  const waitLine = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      const found = lines.find((l) => l.startsWith(prefix));
      if (found) return resolve(found);
      const t = setTimeout(() => reject(new Error(`child never printed ${prefix}`)), 30_000);
      waiters.push({
        prefix,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before ${prefix}`)));
    });
  return { child, lines, waitLine };
}

it('a spool survives a killed process: everything spooled arrives once after restart', async () => {
  server = await NatsServer.start();
  await withConnection({ servers: server.url }, (nc) => createStream(nc));
  const url = server.url;
  await server.stop();

  const first = runChild({ NATS_URL: url, SPOOL_DIR: spoolDir, COUNT: '300', PHASE: 'outage' });
  const spooled = JSON.parse((await first.waitLine('SPOOLED ')).slice(8)) as string[];
  await sleep(300); // a steady stream of extra events keeps flowing into the spool
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  const extras = first.lines.filter((l) => l.startsWith('EXTRA ')).map((l) => l.slice(6));
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
