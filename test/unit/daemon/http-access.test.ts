// Who may read /status (it says which rules are not enforced): loopback peers
// only by default, every peer with the bearer token once one is configured; a
// bare port binds loopback. Real sockets: the endpoint on this machine's
// loopback and on its non-loopback address.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MetricsServer, parseListen, readStatusToken } from '../../../src/daemon/http.ts';
import { DaemonMetrics, type DaemonView } from '../../../src/daemon/metrics.ts';

const dir = mkdtempSync(join(tmpdir(), 'bpfgate-http-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = { warn: () => {}, info: () => {} };
const view = { enforcing: true, readingStopped: null } as unknown as DaemonView;
/** this machine's first non-loopback IPv4 address (the test machine has one: eth0) */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

async function serve(listen: string, tokenFile: string | null = null): Promise<MetricsServer> {
  const s = new MetricsServer(new DaemonMetrics(), view, log);
  await s.start(listen, tokenFile);
  return s;
}
const port = (s: MetricsServer) => Number(s.address?.split(':').at(-1));

describe('the metrics endpoint', () => {
  it('a bare port binds loopback', async () => {
    expect(parseListen('9477')).toEqual({ host: '127.0.0.1', port: 9477 });
    const s = await serve('0');
    try {
      expect(s.address).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      await s.stop();
    }
  });

  it('without a token, /status is served to loopback peers only; /metrics and /healthz to all', async () => {
    expect(external).toBeDefined();
    const s = await serve('0.0.0.0:0');
    try {
      const p = port(s);
      expect((await fetch(`http://127.0.0.1:${p}/status`)).status).not.toBe(403);
      const remote = await fetch(`http://${external}:${p}/status`);
      expect(remote.status).toBe(403);
      expect(await remote.text()).toMatch(/loopback only/);
      expect((await fetch(`http://${external}:${p}/healthz`)).status).toBe(200);
    } finally {
      await s.stop();
    }
  });

  it('with a token, every /status request must carry it', async () => {
    const file = join(dir, 'token');
    const token = 'a-status-token-of-some-length';
    writeFileSync(file, `${token}\n`);
    const s = await serve('0.0.0.0:0', file);
    try {
      const p = port(s);
      const none = await fetch(`http://127.0.0.1:${p}/status`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      const wrong = await fetch(`http://${external}:${p}/status`, {
        headers: { authorization: 'Bearer nope' },
      });
      expect(wrong.status).toBe(401);
      const right = await fetch(`http://${external}:${p}/status`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(right.status).not.toBe(401);
      expect(right.status).not.toBe(403);
    } finally {
      await s.stop();
    }
  });

  it('a token file that is short or missing is refused without repeating it', async () => {
    const file = join(dir, 'short');
    writeFileSync(file, 'short-secret\n');
    await expect(readStatusToken(file)).rejects.toThrow(/at least 16 characters/);
    await readStatusToken(file).catch((err: Error) => expect(err.message).not.toContain('short-secret'));
    await expect(readStatusToken(join(dir, 'absent'))).rejects.toThrow(/cannot read/);
  });
});
