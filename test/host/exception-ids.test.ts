// unless.uids and unless.euids, on this machine's kernel with the real daemon
// scoped to a cgroup of the test's own: an exception by real uid follows the
// real uid, one by effective uid the effective uid, whichever the other is.
// The adversarial case exception-effective-uid is the attack (root that
// switched its effective uid gains nothing from `euids: [0]`); this file shows
// both exceptions exempting whom they name, and nobody else.
//   npx vitest run --project host test/host/exception-ids.test.ts
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAttacks } from '../support/attacks.ts';
import { attemptIn, createCgroup, type TestCgroup } from '../support/cgroup.ts';
import { DaemonProcess, scopedArgs } from '../support/daemon.ts';

describe('exceptions by real and by effective uid', () => {
  let cg: TestCgroup;
  let dir: string;
  let daemon: DaemonProcess | null = null;
  let attack: string;
  /** bind 0.0.0.0:port as real:effective uid; the attack program prints "ok" or "errno N NAME" */
  const bindAs = async (ids: string, port: number) =>
    (await attemptIn([attack, '--ids', ids, 'bind', '0.0.0.0', String(port)], cg.path)).stdout.trim();

  beforeAll(async () => {
    attack = buildAttacks().attack;
    cg = createCgroup(`bpfgate-test-excids-${process.pid}`);
    dir = mkdtempSync(join(tmpdir(), 'bpfgate-excids-'));
    writeFileSync(
      join(dir, 'ids.yaml'),
      `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: exception-ids }
spec:
  scope: { cgroups: [${cg.rel}] }
  rules:
    - { id: by-real, kind: bind, action: block, match: { ports: [8091] }, unless: { uids: [0] } }
    - { id: by-effective, kind: bind, action: block, match: { ports: [8092] }, unless: { euids: [0] } }
`,
    );
    daemon = await DaemonProcess.start(scopedArgs(join(dir, 'ids.yaml'), cg.path));
  }, 60_000);

  afterAll(async () => {
    if (daemon?.running) expect((await daemon.stop('SIGTERM')).code).toBe(0);
    await cg?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('unless.uids exempts the real uid: a set-uid root program run by uid 1000 is not exempt', async () => {
    expect(await bindAs('0:1000', 8091)).toMatch(/^ok/);
    expect(await bindAs('1000:0', 8091)).toBe('errno 1 EPERM');
  });

  it('unless.euids exempts the effective uid: root acting as uid 1000 is not exempt', async () => {
    expect(await bindAs('1000:0', 8092)).toMatch(/^ok/);
    expect(await bindAs('0:1000', 8092)).toBe('errno 1 EPERM');
  });

  it('each refusal is one event naming its rule', async () => {
    const events = await daemon!.until(
      () => {
        const v = daemon!.events.filter((e) => e.type === 'violation');
        return v.length >= 2 ? v : undefined;
      },
      'two events',
      5000,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(
      daemon!.events
        .filter((e) => e.type === 'violation')
        .map((e) => [e.policy.rule, e.process.uid, e.process.euid]),
    ).toEqual([
      ['by-real', 1000, 0],
      ['by-effective', 0, 1000],
    ]);
    expect(events).toHaveLength(2);
  });
});
