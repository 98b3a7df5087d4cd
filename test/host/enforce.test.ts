// Enforcement on this host's kernel through the real daemon (run as root):
//   npx vitest run --project host test/host/enforce.test.ts
// One `bpfgate run` for the whole file, its policies scoped to a cgroup this
// file creates; attacker programs (test/attacks/) run inside that cgroup and,
// for comparison, outside it. Every case checks both what the attacker saw
// and the violation event the daemon printed. Loopback addresses only; the
// only sysctl written is kernel.hostname, with its current value.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSchemaErrors } from '../../src/events/schema.ts';
import { buildAttacks } from '../support/attacks.ts';
import { bpfgate, type DaemonProcess, type Json } from '../support/daemon.ts';
import { type AttemptResult, EnforceHarness } from '../support/enforce.ts';

const EPERM = 1;
/** the attacker stays alive this long after its attempt, so the daemon can read its /proc entry */
const HOLD = ['--hold', '300'];

let h: EnforceHarness;
let daemon: DaemonProcess;
let ATTACK = '';
let MARKER = '';
let plan: Json;
let doctor: Json;
const servers: Server[] = [];
const port = { allowed: 0, denied: 0, audited: 0, otherHost: 0 };

function listen(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => c.destroy());
    servers.push(s);
    s.once('error', reject);
    s.listen(0, host, () => resolve((s.address() as { port: number }).port));
  });
}

function attack(args: string[], where: 'inside' | 'outside'): Promise<AttemptResult> {
  return h.attempt([ATTACK, ...HOLD, ...args], where);
}

function planned(policy: string, rule: string): Json {
  const r = (plan.rules as Json[]).find((x) => x.policy === policy && x.rule === rule);
  if (!r) throw new Error(`no rule ${policy}/${rule} in the plan`);
  return r;
}

/** The attempt was refused with EPERM (and the attacker said so). */
function expectDenied(r: AttemptResult): void {
  expect({ code: r.code, signal: r.signal, stdout: r.stdout }).toEqual({
    code: EPERM,
    signal: null,
    stdout: 'errno 1 EPERM',
  });
}

function expectAllowed(r: AttemptResult): void {
  expect({ code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr }).toEqual({
    code: 0,
    signal: null,
    stdout: 'ok',
    stderr: '',
  });
}

/** No violation of process `pid` arrives (checked after the others' latency). */
async function expectNoEvent(pid: number): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  expect(daemon.eventsOf(pid)).toEqual([]);
}

/**
 * The one violation of the attacker `r`, checked against the schema and for
 * the fields every violation carries: policy, rule, action, the acting
 * process (pid, ppid, uid, comm, executable) and the test's cgroup.
 */
async function violationOf(
  r: AttemptResult,
  want: { policy: string; rule: string; action: string; outcome: string; kind: string },
  opts: { executable?: string; comm?: string } = {},
): Promise<Json> {
  const e = await daemon.oneEventOf(r.pid);
  expect(eventSchemaErrors(e)).toEqual([]);
  expect({
    policy: e.policy.name,
    rule: e.policy.rule,
    action: e.action,
    outcome: e.outcome,
    kind: e.kind,
  }).toEqual(want);
  expect(e.mode).toBe('enforce');
  expect(e.process).toMatchObject({
    pid: r.pid,
    tgid: r.pid,
    ppid: process.pid,
    uid: 0,
    euid: 0,
    comm: opts.comm ?? 'attack',
    executable: opts.executable ?? ATTACK,
    cgroup: { id: String(h.cgroup.id), path: `/${h.name}` },
  });
  return e;
}

beforeAll(async () => {
  ({ attack: ATTACK, marker: MARKER } = buildAttacks());
  h = new EnforceHarness();
  port.allowed = await listen('127.0.0.1');
  port.denied = await listen('127.0.0.1');
  port.audited = await listen('127.0.0.1');
  port.otherHost = await listen('127.0.0.2');
  // our own device nodes: 1:3 (the numbers of /dev/null) allowed, 1:5 (/dev/zero) blocked
  execFileSync('mknod', [`${h.dir}/null`, 'c', '1', '3']);
  execFileSync('mknod', [`${h.dir}/zero`, 'c', '1', '5']);
  writeFileSync(`${h.dir}/secret`, 'not for you\n');
  h.writePolicies('enforce', {
    PORT_DENIED: port.denied,
    PORT_AUDITED: port.audited,
    MARKER,
    SECRET: `${h.dir}/secret`,
  });
  const compiled = await bpfgate(['compile', h.policiesDir, '--json']);
  expect(compiled.code, compiled.stderr).toBe(0);
  plan = JSON.parse(compiled.stdout) as Json;
  const doc = await bpfgate(['doctor', '--json']);
  expect(doc.code, doc.stderr).toBe(0);
  doctor = JSON.parse(doc.stdout) as Json;
  daemon = await h.startDaemon();
});

afterAll(async () => {
  for (const s of servers) s.close();
  const exit = h?.daemon?.running ? await h.daemon.stop('SIGTERM') : null;
  await h?.close();
  // the daemon must stop cleanly, whatever the tests did
  if (exit) expect(exit).toEqual({ code: 0, signal: null });
});

describe('socket rules', () => {
  it('denies a raw inet socket in the cgroup with EPERM, reports it once, and allows it outside', async () => {
    const inside = await attack(['raw_socket'], 'inside');
    expectDenied(inside);
    const e = await violationOf(inside, {
      policy: 'host-net',
      rule: 'raw-inet',
      action: 'block',
      outcome: 'denied',
      kind: 'socket',
    });
    expect(e).toMatchObject({
      mechanism: 'cgroup',
      message: 'raw sockets are not allowed',
      ret: -EPERM,
      target: { family: 'inet', familyNumber: 2, type: 'raw', typeNumber: 3, protocol: 1 },
      policy: { severity: 'high', tags: ['T1040'] },
      parent: { pid: process.pid },
    });
    expect(e.process.args).toEqual([ATTACK, ...HOLD, 'raw_socket']);

    const outside = await attack(['raw_socket'], 'outside');
    expectAllowed(outside);
    await expectNoEvent(outside.pid);
  });

  it('enforces a packet socket rule as the plan says it achieves', async () => {
    const rule = planned('host-net', 'packet');
    const inside = await attack(['packet_socket'], 'inside');
    switch (rule.achieved) {
      case 'kill-after': {
        // socket() returned (the socket was made), then the process died: killed after the call
        expect({ code: inside.code, signal: inside.signal, stdout: inside.stdout }).toEqual({
          code: null,
          signal: 'SIGKILL',
          stdout: '',
        });
        const e = await daemon.oneEventOf(inside.pid);
        expect(eventSchemaErrors(e)).toEqual([]);
        expect(e).toMatchObject({
          policy: { name: 'host-net', rule: 'packet' },
          action: 'block',
          outcome: 'killed-after',
          kind: 'socket',
          mechanism: rule.mechanism,
          target: { family: 'packet', familyNumber: 17 },
          process: { pid: inside.pid, comm: 'attack', cgroup: { id: String(h.cgroup.id) } },
        });
        break;
      }
      case 'block': {
        expectDenied(inside);
        const e = await violationOf(inside, {
          policy: 'host-net',
          rule: 'packet',
          action: 'block',
          outcome: 'denied',
          kind: 'socket',
        });
        expect(e.target).toMatchObject({ family: 'packet', familyNumber: 17 });
        break;
      }
      case 'unavailable': {
        // nothing sees the call: it succeeds, no event, and the daemon said so at start
        expectAllowed(inside);
        await expectNoEvent(inside.pid);
        // one warning per cause of downgrades, naming the rules it weakens
        const warn = daemon.logs.find(
          (l) =>
            l.level === 40 &&
            (l.rules as string[] | undefined)?.some((x) => x.startsWith('host-net/packet (')),
        );
        expect(warn?.rules).toContain('host-net/packet (socket, block → unavailable)');
        expect(warn?.msg).toMatch(
          /enforced more weakly than asked \(.*host-net\/packet \(socket, block → unavailable\)/,
        );
        break;
      }
      default:
        throw new Error(`unexpected achieved enforcement for a packet socket rule: ${rule.achieved}`);
    }
    const outside = await attack(['packet_socket'], 'outside');
    expectAllowed(outside);
    await expectNoEvent(outside.pid);
  });
});

describe('connect rules (loopback only)', () => {
  it('denies a connect to a blocked port and lets one to an allowed port through', async () => {
    const denied = await attack(['connect', '127.0.0.1', String(port.denied)], 'inside');
    expectDenied(denied);
    const e = await violationOf(denied, {
      policy: 'host-net',
      rule: 'deny-port',
      action: 'block',
      outcome: 'denied',
      kind: 'connect',
    });
    expect(e.target).toEqual({
      family: 'ipv4',
      address: '127.0.0.1',
      port: port.denied,
      protocol: 'tcp',
      call: 'connect',
    });

    const allowed = await attack(['connect', '127.0.0.1', String(port.allowed)], 'inside');
    expectAllowed(allowed);
    await expectNoEvent(allowed.pid);

    const outside = await attack(['connect', '127.0.0.1', String(port.denied)], 'outside');
    expectAllowed(outside);
    await expectNoEvent(outside.pid);
  });

  it('denies every port of a blocked address (127.0.0.2/32)', async () => {
    const denied = await attack(['connect', '127.0.0.2', String(port.otherHost)], 'inside');
    expectDenied(denied);
    const e = await violationOf(denied, {
      policy: 'host-net',
      rule: 'deny-host',
      action: 'block',
      outcome: 'denied',
      kind: 'connect',
    });
    expect(e.target).toEqual({
      family: 'ipv4',
      address: '127.0.0.2',
      port: port.otherHost,
      protocol: 'tcp',
      call: 'connect',
    });

    const outside = await attack(['connect', '127.0.0.2', String(port.otherHost)], 'outside');
    expectAllowed(outside);
    await expectNoEvent(outside.pid);
  });
});

describe('sysctl rules', () => {
  it('denies a write (of the current value) and allows the read', async () => {
    const hostname = readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
    const write = await attack(['sysctl_write', 'kernel.hostname', hostname], 'inside');
    expectDenied(write);
    const e = await violationOf(write, {
      policy: 'host-system',
      rule: 'hostname-write',
      action: 'block',
      outcome: 'denied',
      kind: 'sysctl',
    });
    expect(e).toMatchObject({
      mechanism: 'cgroup',
      policy: { severity: 'critical' },
      target: {
        name: 'kernel.hostname',
        path: '/proc/sys/kernel/hostname',
        operation: 'write',
        newValue: hostname,
      },
    });

    const read = await attack(['sysctl_read', 'kernel.hostname'], 'inside');
    expectAllowed(read);
    await expectNoEvent(read.pid);
    expect(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()).toBe(hostname);
  });
});

describe('device rules', () => {
  it('denies opening a blocked device node and allows another', async () => {
    const zero = await attack(['open_dev', `${h.dir}/zero`, 'r'], 'inside');
    expectDenied(zero);
    const e = await violationOf(zero, {
      policy: 'host-system',
      rule: 'dev-zero',
      action: 'block',
      outcome: 'denied',
      kind: 'device',
    });
    expect(e.target).toEqual({ type: 'char', major: 1, minor: 5, access: ['read'] });

    const nul = await attack(['open_dev', `${h.dir}/null`, 'rw'], 'inside');
    expectAllowed(nul);
    await expectNoEvent(nul.pid);

    const outside = await attack(['open_dev', `${h.dir}/zero`, 'r'], 'outside');
    expectAllowed(outside);
    await expectNoEvent(outside.pid);
  });

  it('denies mknod of a blocked device and allows mknod of another', async () => {
    const blocked = await attack(['mknod', `${h.dir}/zero2`, 'c', '1', '5'], 'inside');
    expectDenied(blocked);
    expect(existsSync(`${h.dir}/zero2`)).toBe(false);
    const e = await violationOf(blocked, {
      policy: 'host-system',
      rule: 'dev-zero',
      action: 'block',
      outcome: 'denied',
      kind: 'device',
    });
    expect(e.target).toEqual({ type: 'char', major: 1, minor: 5, access: ['mknod'] });

    const allowed = await attack(['mknod', `${h.dir}/null2`, 'c', '1', '3'], 'inside');
    expectAllowed(allowed);
    await expectNoEvent(allowed.pid);
  });
});

describe('exec rules', () => {
  it('kills an exec matching a kill rule before its first instruction', async () => {
    const mark = `${h.dir}/marker-inside`;
    const inside = await h.attempt([MARKER, mark], 'inside');
    expect({ code: inside.code, signal: inside.signal }).toEqual({ code: null, signal: 'SIGKILL' });
    // the marker's first act would have been to create this file
    expect(existsSync(mark)).toBe(false);
    const e = await violationOf(
      inside,
      { policy: 'host-system', rule: 'marker-exec', action: 'kill', outcome: 'killed', kind: 'exec' },
      { executable: MARKER, comm: 'marker' },
    );
    expect(e).toMatchObject({ mechanism: 'tracepoint', target: { path: MARKER } });

    const markOut = `${h.dir}/marker-outside`;
    const outside = await h.attempt([MARKER, markOut], 'outside');
    expect({ code: outside.code, signal: outside.signal }).toEqual({ code: 0, signal: null });
    expect(existsSync(markOut)).toBe(true);
    await expectNoEvent(outside.pid);
  });
});

describe('audit rules', () => {
  it('report a sysctl read without blocking it (outcome allowed)', async () => {
    const read = await attack(['sysctl_read', 'kernel.ostype'], 'inside');
    expectAllowed(read);
    const e = await violationOf(read, {
      policy: 'host-system',
      rule: 'ostype-read',
      action: 'audit',
      outcome: 'allowed',
      kind: 'sysctl',
    });
    expect(e).toMatchObject({
      policy: { severity: 'info' },
      target: { name: 'kernel.ostype', operation: 'read' },
    });
  });

  it('report a connect without blocking it (outcome allowed)', async () => {
    const c = await attack(['connect', '127.0.0.1', String(port.audited)], 'inside');
    expectAllowed(c);
    const e = await violationOf(c, {
      policy: 'host-net',
      rule: 'audit-port',
      action: 'audit',
      outcome: 'allowed',
      kind: 'connect',
    });
    expect(e.target).toEqual({
      family: 'ipv4',
      address: '127.0.0.1',
      port: port.audited,
      protocol: 'tcp',
      call: 'connect',
    });
  });
});

describe('rules that need BPF-LSM', () => {
  it('are downgraded at start exactly as bpfgate doctor predicts, named once in the warning of their cause', () => {
    const rows = doctor.matrix.rows as Json[];
    for (const [rule, kind] of [
      ['secret-file', 'file'],
      ['sys-admin', 'capability'],
    ] as const) {
      const cell = rows.find((r) => r.kind === kind)?.block as Json;
      expect(cell, `doctor has no ${kind} row`).toBeDefined();
      // the plan the daemon compiled agrees with the doctor's matrix
      expect(planned('host-lsm', rule)).toMatchObject({
        achieved: cell.achieved,
        mechanism: cell.mechanism,
        downgraded: cell.downgraded,
      });
      // the warning of the cause that weakens it names it, once
      const label = `host-lsm/${rule} (${kind}, block → ${cell.achieved})`;
      const warnings = daemon.logs.filter(
        (l) => l.level === 40 && (l.rules as string[] | undefined)?.includes(label),
      );
      if (cell.downgraded) {
        expect(warnings).toHaveLength(1);
        expect(warnings[0]!.causes.join('\n')).toContain(doctor.features.lsm.reason);
      } else {
        expect(warnings).toEqual([]);
      }
    }
    // on this host (KERNEL.md): no BPF-LSM, so both are downgraded
    expect(doctor.features.lsm.available).toBe(false);
  });

  it('a file rule downgraded to kill-after kills the reader after the call (killed-after)', async () => {
    const rule = planned('host-lsm', 'secret-file');
    const r = await attack(['open', `${h.dir}/secret`, 'r'], 'inside');
    if (rule.achieved === 'kill-after') {
      expect({ code: r.code, signal: r.signal }).toEqual({ code: null, signal: 'SIGKILL' });
      const e = await daemon.oneEventOf(r.pid);
      expect(eventSchemaErrors(e)).toEqual([]);
      expect(e).toMatchObject({
        policy: { name: 'host-lsm', rule: 'secret-file' },
        action: 'block',
        outcome: 'killed-after',
        kind: 'file',
        mechanism: rule.mechanism,
        target: { path: `${h.dir}/secret`, operation: 'read' },
        process: { pid: r.pid, comm: 'attack', cgroup: { id: String(h.cgroup.id) } },
      });
    } else {
      expect(rule.achieved).toBe('block');
      expectDenied(r);
      await violationOf(r, {
        policy: 'host-lsm',
        rule: 'secret-file',
        action: 'block',
        outcome: 'denied',
        kind: 'file',
      });
    }
    const outside = await attack(['open', `${h.dir}/secret`, 'r'], 'outside');
    expectAllowed(outside);
    await expectNoEvent(outside.pid);
  });
});

describe('every event', () => {
  it('validates against the event schema and names one violation of one attacker', () => {
    expect(daemon.events.length).toBeGreaterThan(0);
    for (const e of daemon.events) expect(eventSchemaErrors(e), JSON.stringify(e)).toEqual([]);
    const ids = daemon.events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    // only the attackers in the cgroup produced violations
    for (const e of daemon.events.filter((x) => x.type === 'violation'))
      expect(e.process.cgroup.id).toBe(String(h.cgroup.id));
  });
});

describe('stopping', () => {
  it('SIGTERM detaches everything and exits 0; the raw socket works again', async () => {
    expect((await h.attachedToCgroup()).length).toBeGreaterThan(0);
    const exit = await daemon.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(daemon.logs.map((l) => l.msg)).toContain('stopped');
    expect(await h.attachedToCgroup()).toEqual([]);
    expect(h.pinnedLinks()).toEqual([]);
    expectAllowed(await attack(['raw_socket'], 'inside'));
    const mark = `${h.dir}/marker-after`;
    expect((await h.attempt([MARKER, mark], 'inside')).code).toBe(0);
    expect(existsSync(mark)).toBe(true);
  });
});
