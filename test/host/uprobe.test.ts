// uprobe rules on this host's kernel through the real daemon:
//   npx vitest run --project host test/host/uprobe.test.ts
// A test program with known symbols (built here into a temp dir), bash
// driven through a pseudo-terminal (script(1)), and su's PAM
// authentication. Uprobes fire in every process that runs the probed inode:
// the policy is scoped to a cgroup this file creates, and only the test's own
// children run in it (KERNEL.md, "Safety"); processes outside it are checked
// to be neither reported nor killed.
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toOcsf } from '../../src/events/ocsf.ts';
import { eventSchemaErrors } from '../../src/events/schema.ts';
import type { ViolationEvent } from '../../src/events/types.ts';
import { deviceText } from '../../src/kernel/elf.ts';
import { compileC } from '../support/build.ts';
import { attemptIn, createCgroup, type TestCgroup } from '../support/cgroup.ts';
import { bpfgate, DaemonProcess, type Json } from '../support/daemon.ts';
import { FIXTURES } from '../support/paths.ts';

let cg: TestCgroup;
let dir: string;
let daemon: DaemonProcess;
let target: string;
let killme: string;
let killret: string;
let swapme: string;

const runIn = (argv: string[], where: 'inside' | 'outside', input?: string) =>
  attemptIn(argv, where === 'inside' ? cg.path : undefined, input);

/** The events of `pid` and its descendants' (script, sh -c), after the daemon had time to report. */
async function eventsWhere(pred: (e: Json) => boolean, expected: number): Promise<Json[]> {
  const of = () => daemon.events.filter((e) => e.type === 'violation' && pred(e));
  if (expected > 0) await daemon.until(() => (of().length >= expected ? true : undefined), 'events', 8_000);
  await new Promise((r) => setTimeout(r, 400));
  return of();
}

/** Run `binary 5` in the test cgroup: it must die of SIGKILL having printed nothing, with one valid event. */
async function killedInside(binary: string): Promise<{ event: Json }> {
  const r = await runIn([binary, '5'], 'inside');
  expect({ code: r.code, signal: r.signal, stdout: r.stdout }).toEqual({
    code: null,
    signal: 'SIGKILL',
    stdout: '',
  });
  const evs = await eventsWhere((e) => (e.process as Json).pid === r.pid, 1);
  expect(evs).toHaveLength(1);
  expect(eventSchemaErrors(evs[0]!)).toEqual([]);
  return { event: evs[0]! };
}

const byPid = (pid: number) => (e: Json) => (e.process as Json).pid === pid;
const byRule = (rule: string) => (e: Json) => (e.policy as Json).rule === rule;

beforeAll(async () => {
  const name = `bpfgate-up-${randomBytes(4).toString('hex')}`;
  cg = createCgroup(name);
  dir = mkdtempSync(`${tmpdir()}/${name}-`);
  target = compileC(`${FIXTURES}/uprobe/target.c`, `${dir}/target`, ['-O0']);
  linkSync(target, `${dir}/target-link`);
  copyFileSync(target, `${dir}/target-copy`);
  killme = compileC(`${FIXTURES}/uprobe/target.c`, `${dir}/killme`, ['-O0']);
  killret = compileC(`${FIXTURES}/uprobe/target.c`, `${dir}/killret`, ['-O0']);
  swapme = compileC(`${FIXTURES}/uprobe/target.c`, `${dir}/swapme`, ['-O0']);
  mkdirSync(`${dir}/policies`);
  writeFileSync(
    `${dir}/policies/uprobes.yaml`,
    `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: uprobes
spec:
  scope:
    cgroups: ["/${name}/**"]
  rules:
    - id: entry
      kind: uprobe
      action: audit
      message: bg_target entered
      match: { binary: ${target}, symbol: bg_target }
    - id: line
      kind: uprobe
      action: audit
      message: bg_line returned
      match: { binary: ${target}, symbol: bg_line, capture: returned-string }
    - id: shell
      kind: uprobe
      action: audit
      message: a command typed in bash
      match: { binary: /usr/bin/bash, symbol: readline, capture: returned-string }
    - id: pam
      kind: uprobe
      action: audit
      message: a PAM authentication
      match: { binary: /usr/lib/x86_64-linux-gnu/libpam.so.0, symbol: pam_authenticate, capture: pam }
    - id: kill
      kind: uprobe
      action: kill
      message: bg_target entered in killme
      match: { binary: ${dir}/killme, symbol: bg_target }
    - id: kill-return
      kind: uprobe
      action: kill
      message: bg_line returned in killret
      match: { binary: ${dir}/killret, symbol: bg_line, capture: returned-string }
    - id: swap
      kind: uprobe
      action: audit
      message: bg_target entered in swapme
      match: { binary: ${dir}/swapme, symbol: bg_target }
`,
  );
  daemon = await DaemonProcess.start(['--policies', `${dir}/policies`, '--cgroup', cg.path]);
});

afterAll(async () => {
  await daemon?.stop('SIGTERM');
  await cg?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('uprobe rules', () => {
  it('reports a function entered, with its first argument, and its returned string', async () => {
    const r = await runIn([target, '21'], 'inside');
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: 'ok secret-line 42\n' });
    const evs = await eventsWhere(byPid(r.pid), 2);
    for (const e of evs) expect(eventSchemaErrors(e)).toEqual([]);
    const entry = evs.find(byRule('entry'));
    // the inode the probe is bound to, as the kernel numbers the file
    const st = statSync(target, { bigint: true });
    expect(entry).toMatchObject({
      kind: 'uprobe',
      action: 'audit',
      outcome: 'allowed',
      mechanism: 'uprobe',
      target: {
        binary: target,
        symbol: 'bg_target',
        capture: 'none',
        value: '0x15',
        device: deviceText(st.dev),
        inode: String(st.ino),
      },
    });
    expect(evs.find(byRule('line'))).toMatchObject({
      target: { symbol: 'bg_line', capture: 'returned-string', captured: 'secret-line 42' },
    });
    expect(evs).toHaveLength(2);
  });

  it('covers a hard link (the same inode), not a byte-identical copy', async () => {
    expect(statSync(`${dir}/target-link`).ino).toBe(statSync(target).ino);
    const link = await runIn([`${dir}/target-link`, '1'], 'inside');
    expect(link.code).toBe(0);
    expect(await eventsWhere(byPid(link.pid), 2)).toHaveLength(2);
    const copy = await runIn([`${dir}/target-copy`, '1'], 'inside');
    expect(copy.code).toBe(0);
    expect(await eventsWhere(byPid(copy.pid), 0)).toEqual([]);
  });

  it('compile --explain names the inode each rule covers', async () => {
    const r = await bpfgate(['compile', `${dir}/policies`, '--explain']);
    expect(r.code).toBe(0);
    const st = statSync(target, { bigint: true });
    expect(r.stdout).toContain(
      `${target}:bg_target: device ${deviceText(st.dev)} inode ${st.ino} (2 hard links)`,
    );
    expect(r.stdout).toMatch(/a copy of the file elsewhere is another inode and is not covered/);
  });

  it('kills a process in scope once it entered the function, and only there', async () => {
    const { event } = await killedInside(killme);
    expect(event).toMatchObject({
      action: 'kill',
      outcome: 'killed',
      mechanism: 'uprobe',
      target: { binary: killme, symbol: 'bg_target', value: '0x5' },
    });
    expect(toOcsf(event as unknown as ViolationEvent).status_detail).toMatch(
      /killed .* after the function was entered; the call was not blocked/,
    );
    const outside = await runIn([killme, '5'], 'outside');
    expect({ code: outside.code, signal: outside.signal }).toEqual({ code: 0, signal: null });
    expect(await eventsWhere(byPid(outside.pid), 0)).toEqual([]);
  });

  it('a kill on return lands after the function returned: killed-after, before the caller used the value', async () => {
    // main prints bg_line()'s value after it returned: the process died first (nothing printed)
    const { event } = await killedInside(killret);
    expect(event).toMatchObject({
      action: 'kill',
      outcome: 'killed-after',
      target: { binary: killret, symbol: 'bg_line', captured: 'secret-line 42' },
    });
    expect(toOcsf(event as unknown as ViolationEvent).status_detail).toMatch(
      /the function returned .* then bpfgate killed/,
    );
  });

  it('a binary replaced on disk is covered again once the policies are reloaded, at its new inode', async () => {
    const before = statSync(swapme, { bigint: true });
    const first = await runIn([swapme, '1'], 'inside');
    expect((await eventsWhere(byPid(first.pid), 1))[0]).toMatchObject({
      target: { inode: String(before.ino) },
    });

    // an upgrade: a new file renamed over the path (a new inode; the old one lives on while used)
    copyFileSync(swapme, `${swapme}.new`);
    renameSync(`${swapme}.new`, swapme);
    const after = statSync(swapme, { bigint: true });
    expect(after.ino).not.toBe(before.ino);
    // until a reload the rule still covers the old inode only: the new file is not seen
    const unseen = await runIn([swapme, '2'], 'inside');
    expect(unseen.code).toBe(0);
    expect(await eventsWhere(byPid(unseen.pid), 0)).toEqual([]);

    process.kill(daemon.pid, 'SIGHUP');
    const moved = await daemon.log('uprobe binary replaced: attached to its new inode');
    expect(moved).toMatchObject({ to: { inode: String(after.ino) }, from: { inode: String(before.ino) } });
    const seen = await runIn([swapme, '3'], 'inside');
    expect((await eventsWhere(byPid(seen.pid), 1))[0]).toMatchObject({
      target: { binary: swapme, inode: String(after.ino), device: deviceText(after.dev), value: '0x3' },
    });
  });

  it('reports nothing for a process outside the scope', async () => {
    const r = await runIn([target, '3'], 'outside');
    expect(r.code).toBe(0);
    expect(await eventsWhere(byPid(r.pid), 0)).toEqual([]);
  });

  it('captures the line typed in an interactive bash (through a pseudo-terminal)', async () => {
    const marker = `bg-${randomBytes(3).toString('hex')}`;
    const r = await runIn(
      ['script', '-qec', 'bash --norc --noprofile -i', '/dev/null'],
      'inside',
      `echo ${marker}\nexit\n`,
    );
    expect(r.code).toBe(0);
    const evs = await eventsWhere(
      (e) => byRule('shell')(e) && (e.target as Json).captured === `echo ${marker}`,
      1,
    );
    expect(evs).toHaveLength(1);
    expect(eventSchemaErrors(evs[0]!)).toEqual([]);
    expect(evs[0]).toMatchObject({
      process: { comm: 'bash' },
      target: { binary: '/usr/bin/bash', symbol: 'readline', capture: 'returned-string' },
    });
  });

  it('reports a PAM authentication by su with its user and result', async () => {
    const r = await runIn(['su', '-s', '/bin/true', 'nobody'], 'inside');
    expect(r.code).toBe(0);
    const evs = await eventsWhere((e) => byRule('pam')(e), 1);
    expect(evs.length).toBeGreaterThanOrEqual(1);
    const e = evs[0]!;
    expect(eventSchemaErrors(e)).toEqual([]);
    expect(e).toMatchObject({
      process: { comm: 'su' },
      target: { symbol: 'pam_authenticate', capture: 'pam', captured: 'nobody', result: 0 },
    });
  });
});
