// bpfgate compile without --features probes this kernel (root, real kernel):
// the plan it prints is the one the daemon would enforce here.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/abi/plan.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const SMALL = `${ROOT}test/fixtures/compiler/cli/small.yaml`;

function compile(args: string[]) {
  const r = spawnSync(process.execPath, [`${ROOT}bin/bpfgate.js`, 'compile', ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe('bpfgate compile on this kernel', () => {
  it('without --features, compiles for the probed kernel and says so', () => {
    const r = compile([SMALL, '--json']);
    expect(r.status).toBe(0);
    expect(r.err).toMatch(/^features: probed from this kernel \(host /m);
    const plan = JSON.parse(r.out) as Plan;
    // this host refuses BPF-LSM (KERNEL.md): the capability rule has no hook, the raw socket rule a cgroup one
    expect(plan.rules.map((x) => [x.rule, x.achieved, x.mechanism])).toEqual([
      ['raw-ip-sockets', 'block', 'cgroup'],
      ['sys-admin', 'unavailable', null],
    ]);
  });

  it('gives the same plan as the probed feature set, byte for byte, when run twice', () => {
    const a = compile([SMALL, '--json']);
    const b = compile([SMALL, '--json']);
    expect(a.status).toBe(0);
    expect(a.out).toBe(b.out);
  });
});
