// `bpfgate run --audit` on this host's kernel (run as root):
//   npx vitest run --project host test/host/enforce-audit.test.ts
// The same policies as enforce.test.ts, every policy in audit mode: nothing is
// denied or killed, each block is reported as would-block and each kill as
// would-kill. Stopped with SIGINT at the end.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSchemaErrors } from '../../src/events/schema.ts';
import { buildAttacks } from '../support/attacks.ts';
import { bpfgate, type DaemonProcess, type Json } from '../support/daemon.ts';
import { type AttemptResult, EnforceHarness } from '../support/enforce.ts';

const HOLD = ['--hold', '300'];

let h: EnforceHarness;
let daemon: DaemonProcess;
let ATTACK = '';
let MARKER = '';
let plan: Json;
let server: Server | undefined;
let deniedPort = 0;

function attack(args: string[]): Promise<AttemptResult> {
  return h.attempt([ATTACK, ...HOLD, ...args], 'inside');
}

function expectAllowed(r: AttemptResult): void {
  expect({ code: r.code, signal: r.signal, stdout: r.stdout }).toEqual({
    code: 0,
    signal: null,
    stdout: 'ok',
  });
}

/** The one event of `r`: valid, in audit mode, with the outcome and the rule given. */
async function auditEventOf(r: AttemptResult, rule: string, action: string, outcome: string): Promise<Json> {
  const e = await daemon.oneEventOf(r.pid);
  expect(eventSchemaErrors(e)).toEqual([]);
  expect({
    rule: `${e.policy.name}/${e.policy.rule}`,
    action: e.action,
    outcome: e.outcome,
    mode: e.mode,
  }).toEqual({
    rule,
    action,
    outcome,
    mode: 'audit',
  });
  expect(e.process).toMatchObject({ pid: r.pid, cgroup: { id: String(h.cgroup.id), path: `/${h.name}` } });
  return e;
}

beforeAll(async () => {
  ({ attack: ATTACK, marker: MARKER } = buildAttacks());
  h = new EnforceHarness();
  server = createServer((c) => c.destroy());
  deniedPort = await new Promise<number>((resolve, reject) => {
    server!.once('error', reject);
    server!.listen(0, '127.0.0.1', () => resolve((server!.address() as { port: number }).port));
  });
  execFileSync('mknod', [`${h.dir}/zero`, 'c', '1', '5']);
  writeFileSync(`${h.dir}/secret`, 'not for you\n');
  h.writePolicies('enforce', {
    PORT_DENIED: deniedPort,
    PORT_AUDITED: deniedPort + 1 > 65535 ? deniedPort - 1 : deniedPort + 1,
    MARKER,
    SECRET: `${h.dir}/secret`,
  });
  const compiled = await bpfgate(['compile', h.policiesDir, '--json', '--audit']);
  expect(compiled.code, compiled.stderr).toBe(0);
  plan = JSON.parse(compiled.stdout) as Json;
  daemon = await h.startDaemon(['--audit']);
});

afterAll(async () => {
  server?.close();
  await h?.close();
});

describe('bpfgate run --audit', () => {
  it('says it runs in audit mode, never that it enforces, and marks every rule as a dry run', async () => {
    const ready = daemon.logs.find((l) => l.ready === true);
    expect(ready).toMatchObject({ mode: 'audit', state: 'audit' });
    expect(ready?.msg).toMatch(/^bpfgate is running in audit mode: nothing is denied or killed/);
    expect(daemon.logs.map((l) => l.msg)).not.toContain('bpfgate is enforcing');
    for (const r of plan.rules as Json[]) expect(r.dryRun, `${r.policy}/${r.rule}`).toBe(true);
  });

  it('lets a raw socket through and reports would-block', async () => {
    const r = await attack(['raw_socket']);
    expectAllowed(r);
    const e = await auditEventOf(r, 'host-net/raw-inet', 'block', 'would-block');
    expect(e).toMatchObject({ kind: 'socket', mechanism: 'cgroup', ret: 0 });
  });

  it('lets a connect to a blocked port through and reports would-block', async () => {
    const r = await attack(['connect', '127.0.0.1', String(deniedPort)]);
    expectAllowed(r);
    const e = await auditEventOf(r, 'host-net/deny-port', 'block', 'would-block');
    expect(e.target).toEqual({
      family: 'ipv4',
      address: '127.0.0.1',
      port: deniedPort,
      protocol: 'tcp',
      call: 'connect',
    });
  });

  it('lets a sysctl write (of the current value) through and reports would-block', async () => {
    const hostname = readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
    const r = await attack(['sysctl_write', 'kernel.hostname', hostname]);
    expectAllowed(r);
    await auditEventOf(r, 'host-system/hostname-write', 'block', 'would-block');
    expect(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()).toBe(hostname);
  });

  it('lets a blocked device be opened and created and reports would-block for each', async () => {
    const open = await attack(['open_dev', `${h.dir}/zero`, 'r']);
    expectAllowed(open);
    const e1 = await auditEventOf(open, 'host-system/dev-zero', 'block', 'would-block');
    expect(e1.target).toMatchObject({ access: ['read'] });
    const mknod = await attack(['mknod', `${h.dir}/zero2`, 'c', '1', '5']);
    expectAllowed(mknod);
    const e2 = await auditEventOf(mknod, 'host-system/dev-zero', 'block', 'would-block');
    expect(e2.target).toMatchObject({ access: ['mknod'] });
  });

  it('lets a program under a kill rule run and reports would-kill', async () => {
    const mark = `${h.dir}/marker`;
    const r = await h.attempt([MARKER, mark], 'inside');
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
    expect(existsSync(mark)).toBe(true);
    const e = await auditEventOf(r, 'host-system/marker-exec', 'kill', 'would-kill');
    expect(e).toMatchObject({ kind: 'exec', target: { path: MARKER } });
  });

  it('reports a block downgraded to kill-after as would-kill-after and lets the process live', async () => {
    const rule = (plan.rules as Json[]).find((x) => x.policy === 'host-lsm' && x.rule === 'secret-file')!;
    const r = await attack(['open', `${h.dir}/secret`, 'r']);
    expectAllowed(r);
    // the outcome follows what enforcing would do on this kernel
    const outcome =
      { kill: 'would-kill', 'kill-after': 'would-kill-after' }[rule.achieved as string] ?? 'would-block';
    await auditEventOf(r, 'host-lsm/secret-file', 'block', outcome);
  });

  it('SIGINT detaches everything and exits 0', async () => {
    expect((await h.attachedToCgroup()).length).toBeGreaterThan(0);
    expect(await daemon.stop('SIGINT')).toEqual({ code: 0, signal: null });
    expect(await h.attachedToCgroup()).toEqual([]);
    expect(h.pinnedLinks()).toEqual([]);
    for (const e of daemon.events) expect(eventSchemaErrors(e), JSON.stringify(e)).toEqual([]);
    expect(daemon.events.filter((e) => ['denied', 'killed', 'killed-after'].includes(e.outcome))).toEqual([]);
  });
});
