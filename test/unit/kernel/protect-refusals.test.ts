// What the armed protection does with the programs' counters: each kind that
// grew is logged and handed on (the daemon publishes a tamper event), once;
// disarming reports the last ones. The kernel side is faked by an in-memory
// bg_protect map (the programs themselves run in the guest:
// test/vm/protect.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { protectPlan } from '../../../src/abi/protect.ts';
import type { BpfLink } from '../../../src/kernel/binding/link.ts';
import { PinLayout } from '../../../src/kernel/pins.ts';
import { decodeProtect, Protection } from '../../../src/kernel/protect.ts';
import { LSM } from '../../support/features.ts';

const dir = mkdtempSync(join(tmpdir(), 'bpfgate-refusals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('self-protection refusals', () => {
  it('reports each kind that grew, once, and the last ones at disarming', async () => {
    let value = Buffer.alloc(0);
    const attached: string[] = [];
    const target = {
      map: () => ({
        update: (_k: Uint8Array, v: Uint8Array) => {
          value = Buffer.from(v);
        },
        lookup: () => value,
      }),
      attachUnpinned: (p: string) => {
        attached.push(p);
        return { destroy: () => undefined } as unknown as BpfLink;
      },
    };
    const warnings: string[] = [];
    const log = { info: () => undefined, warn: (_o: object, m: string) => warnings.push(m) };
    const reports: Record<string, number>[] = [];
    const plan = protectPlan(LSM);
    if (plan.rung === null) throw new Error(plan.reason);
    const p = Protection.arm(target, plan, new PinLayout(dir), log, {
      runDir: join(dir, 'run'),
      daemonTgid: 1, // not this process: its oom_score_adj stays as it is
      cgroupIds: [42n],
      onRefused: (r) => reports.push(r),
    });
    expect(attached).toEqual(plan.programs.map((x) => x.program));
    expect(decodeProtect(value)).toMatchObject({ armed: true, daemonTgid: 1, cgroupIds: [42n] });
    const bump = (i: number, n: bigint) =>
      value.writeBigUInt64LE(value.readBigUInt64LE(88 + 8 * i) + n, 88 + 8 * i);
    bump(7, 2n); // cgroup
    bump(5, 1n); // rlimit
    await new Promise((r) => setTimeout(r, 450));
    expect(reports).toEqual([{ rlimit: 1, cgroup: 2 }]);
    expect(warnings).toContain('self-protection refused an attempt to stop or tamper with bpfgate');
    bump(8, 1n); // oom, just before the stop
    p.disarm('test');
    expect(reports).toEqual([{ rlimit: 1, cgroup: 2 }, { oom: 1 }]);
    expect(decodeProtect(value).armed).toBe(false);
  });
});
