// Paths longer or deeper than the programs' buffers, on this host's rung (no
// BPF-LSM, no fmod_ret: file rules are killed after the call by sys_enter, on
// the string the caller passed), and privilege granted to files, which no
// hook of this host sees (run as root):
//   npx vitest run --project host test/host/failclosed.test.ts
// One `bpfgate run` scoped to a cgroup this file creates; the attacker
// (test/attacks/attack.c) runs inside it and, for comparison, outside.
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSchemaErrors } from '../../src/events/schema.ts';
import { buildAttacks } from '../support/attacks.ts';
import { bpfgate, type DaemonProcess, type Json } from '../support/daemon.ts';
import { EnforceHarness } from '../support/enforce.ts';

let h: EnforceHarness;
let daemon: DaemonProcess;
let ATTACK = '';
let plan: Json;
let vault = '';
/** longer than a rule key's 251 bytes: the string is cut, its beginning known */
let long = '';
/** 40 components: deeper than the security hooks' walk (32); a string has no depth limit */
let deep = '';

beforeAll(async () => {
  ({ attack: ATTACK } = buildAttacks());
  h = new EnforceHarness();
  vault = `${h.dir}/vault/`;
  long = `${vault}${['a', 'b', 'c'].map((c) => c.repeat(100)).join('/')}`;
  deep = `${vault}${Array(40).fill('d').join('/')}`;
  for (const d of [long, deep]) {
    mkdirSync(d, { recursive: true });
    writeFileSync(`${d}/file`, 'secret\n');
  }
  h.writePolicies('failclosed', { VAULT: vault });
  const compiled = await bpfgate(['compile', h.policiesDir, '--json']);
  expect(compiled.code, compiled.stderr).toBe(0);
  plan = JSON.parse(compiled.stdout) as Json;
  daemon = await h.startDaemon();
});

afterAll(async () => {
  const exit = h?.daemon?.running ? await h.daemon.stop('SIGTERM') : null;
  await h?.close();
  if (exit) expect(exit).toEqual({ code: 0, signal: null });
});

const rule = (id: string) => (plan.rules as Json[]).find((r) => r.rule === id)!;

describe('on the sys_enter rung', () => {
  it('the vault rule is a kill after the call; setid and setcap have no hook here, and the plan says so', () => {
    expect(rule('vault')).toMatchObject({ achieved: 'kill-after', mechanism: 'tracepoint' });
    expect(rule('setid-and-setcap')).toMatchObject({ achieved: 'unavailable', downgraded: true });
    expect(rule('setid-and-setcap').reason).toMatch(/no hook for file on this kernel/);
  });

  for (const [name, path] of [
    ['longer than a rule key', () => `${long}/file`],
    ['deeper than the hooks walk', () => `${deep}/file`],
  ] as const) {
    it(`a path ${name} under the protected directory is still its match (killed after the call)`, async () => {
      const inside = await h.attempt([ATTACK, 'open', path(), 'r'], 'inside');
      expect({ code: inside.code, signal: inside.signal }).toEqual({ code: null, signal: 'SIGKILL' });
      const e = await daemon.oneEventOf(inside.pid);
      expect(eventSchemaErrors(e)).toEqual([]);
      expect(e).toMatchObject({
        policy: { name: 'host-failclosed', rule: 'vault' },
        outcome: 'killed-after',
        kind: 'file',
        mechanism: 'tracepoint',
        target: { operation: 'read' },
      });
      expect(e.target.path.startsWith(vault)).toBe(true);
      // the string's beginning is known: cut, not unresolved
      expect(e.unresolved).toBeUndefined();
      const outside = await h.attempt([ATTACK, 'open', path(), 'r'], 'outside');
      expect({ code: outside.code, stdout: outside.stdout }).toEqual({ code: 0, stdout: 'ok' });
    });
  }
});
