// bpfgate compile without --features probes this kernel (root, real kernel):
// the plan it prints is the one the daemon would enforce here.
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/abi/plan.ts';
import { bpfgate } from '../support/daemon.ts';
import { FIXTURES } from '../support/paths.ts';

const SMALL = `${FIXTURES}/compiler/cli/small.yaml`;

async function compile(args: string[]) {
  const r = await bpfgate(['compile', ...args]);
  return { status: r.code, out: r.stdout, err: r.stderr };
}

describe('bpfgate compile on this kernel', () => {
  it('without --features, compiles for the probed kernel and says so', async () => {
    const r = await compile([SMALL, '--json']);
    expect(r.status).toBe(0);
    expect(r.err).toMatch(/^features: probed from this kernel \(host /m);
    const plan = JSON.parse(r.out) as Plan;
    // this host refuses BPF-LSM (KERNEL.md): the capability rule has no hook, the raw socket rule a cgroup one
    expect(plan.rules.map((x) => [x.rule, x.achieved, x.mechanism])).toEqual([
      ['raw-ip-sockets', 'block', 'cgroup'],
      ['sys-admin', 'unavailable', null],
    ]);
  });

  it('gives the same plan as the probed feature set, byte for byte, when run twice', async () => {
    const a = await compile([SMALL, '--json']);
    const b = await compile([SMALL, '--json']);
    expect(a.status).toBe(0);
    expect(a.out).toBe(b.out);
  });
});
