// One policy set, two kernels: `bpfgate compile policies/ --json` on this host
// (no BPF-LSM, no kprobes) and inside the guest (Debian 6.1, BPF-LSM active),
// each probing its own kernel. On the host every rule of an LSM kind is
// downgraded (kill through a tracepoint, or unavailable) while the cgroup
// kinds still block; in the guest everything that can block is blocked, by
// BPF-LSM or, for network, device and sysctl rules, by a cgroup hook.
// npx vitest run --project kernel test/vm/matrix.test.ts
import { beforeAll, describe, expect, it } from 'vitest';
import type { Plan, PlannedRule } from '../../src/abi/plan.ts';
import { bpfgate } from '../support/daemon.ts';
import { GUEST_OUT, guestNodeCommand, runInGuest } from '../support/guest.ts';

/** Kinds BPF-LSM denies; without it they fall to a tracepoint kill or nothing (inet sockets: a cgroup hook). */
const LSM_KINDS = new Set([
  'exec',
  'file',
  'capability',
  'module',
  'bpf',
  'ptrace',
  'mount',
  'setuid',
  'socket',
]);
/** Kinds a cgroup hook denies on both kernels. */
const CGROUP_KINDS = new Set(['connect', 'bind', 'device', 'sysctl']);

let host: Plan;
let guest: Plan;

/** One row per rule and per allowlist default: "policy/rule" → "achieved via mechanism". */
function matrix(plan: Plan): Record<string, string> {
  const m: Record<string, string> = {};
  for (const r of plan.rules) m[`${r.policy}/${r.rule}`] = `${r.achieved} via ${r.mechanism ?? '-'}`;
  for (const p of plan.policies) {
    for (const d of p.defaults ?? [])
      m[`${p.name}/(default ${d.kind})`] = `${d.achieved} via ${d.mechanism ?? '-'}`;
  }
  return m;
}

/** The starter socket rule on inet/inet6 raw sockets, which cgroup/sock_create sees. */
function isInetSocketRule(r: PlannedRule): boolean {
  return r.kind === 'socket' && r.rule === 'raw-ip-sockets';
}

beforeAll(async () => {
  const [h, g] = await Promise.all([
    bpfgate(['compile', 'policies/', '--json'], process.env, 120_000),
    runInGuest(
      `${guestNodeCommand('bin/bpfgate.js', ['compile', 'policies/', '--json'])} > ${GUEST_OUT}/plan.json`,
      { timeoutMs: 300_000 },
    ),
  ]);
  if (h.code !== 0) throw new Error(`compile on the host failed (exit ${h.code}):\n${h.stderr}`);
  host = JSON.parse(h.stdout) as Plan;
  if (g.exitCode !== 0 || !g.outFiles['plan.json']) {
    throw new Error(`compile in the guest failed (exit ${g.exitCode}):\n${g.stderr.slice(-4000)}`);
  }
  guest = JSON.parse(g.outFiles['plan.json']) as Plan;
  console.log(`matrix guest: ${g.durationMs} ms (boot ${g.bootMs} ms)`);
  console.log(`host features: ${host.features}; guest features: ${guest.features}`);
  const hm = matrix(host);
  const gm = matrix(guest);
  const w = Math.max(...Object.keys(hm).map((k) => k.length));
  console.log(
    Object.keys(hm)
      .map((k) => `${k.padEnd(w)}  host: ${hm[k]!.padEnd(28)} guest: ${gm[k]}`)
      .join('\n'),
  );
}, 600_000);

describe('the same policy set on both kernels', () => {
  it('compiles to the same rules in the same order, each probing its own kernel', () => {
    expect(guest.rules.map((r) => `${r.policy}/${r.rule}`)).toEqual(
      host.rules.map((r) => `${r.policy}/${r.rule}`),
    );
    expect(host.features).not.toBe(guest.features);
    expect(guest.features).toMatch(/ 6\.1\.0-/);
    expect(host.features).not.toMatch(/ 6\.1\.0-/);
  });
});

describe('host (no BPF-LSM, no kprobes)', () => {
  it('downgrades every rule of an LSM kind: a block becomes a tracepoint kill, capabilities are unavailable', () => {
    for (const r of host.rules.filter((x) => LSM_KINDS.has(x.kind) && !isInetSocketRule(x))) {
      const id = `${r.policy}/${r.rule}: ${r.achieved} via ${r.mechanism}`;
      expect(r.mechanism, id).not.toBe('lsm');
      if (r.kind === 'capability') {
        expect(r.achieved, id).toBe('unavailable');
        expect(r.downgraded, id).toBe(true);
      } else if (r.action === 'block') {
        expect(r.achieved, id).toBe('kill');
        expect(r.mechanism, id).toBe('tracepoint');
        expect(r.downgraded, id).toBe(true);
      } else if (r.action === 'audit') {
        expect(r.achieved, id).toBe('audit');
        expect(r.mechanism, id).toBe('tracepoint');
      }
    }
    const execDefault = host.policies
      .find((p) => p.name === 'allowlist-nginx')!
      .defaults!.find((d) => d.kind === 'exec')!;
    expect(execDefault).toMatchObject({ achieved: 'kill', mechanism: 'tracepoint', downgraded: true });
  });

  it('still blocks with the cgroup hooks: connect, device, sysctl and raw IP sockets', () => {
    const cg = host.rules.filter((x) => CGROUP_KINDS.has(x.kind) || isInetSocketRule(x));
    expect(cg.length).toBeGreaterThanOrEqual(6);
    for (const r of cg) {
      const id = `${r.policy}/${r.rule}: ${r.achieved} via ${r.mechanism}`;
      expect(r.mechanism, id).toBe('cgroup');
      expect(r.achieved, id).toBe(r.action === 'audit' ? 'audit' : r.action);
      expect(r.downgraded, id).toBe(false);
    }
  });

  it('kills packet-socket users from a tracepoint: no cgroup hook sees packet sockets', () => {
    const packet = host.rules.find((r) => r.rule === 'packet-sockets')!;
    expect(packet).toMatchObject({ achieved: 'kill', mechanism: 'tracepoint', downgraded: true });
  });
});

describe('guest (Debian 6.1, BPF-LSM active)', () => {
  it('blocks every rule of an LSM kind (sockets of every family too) with BPF-LSM, nothing downgraded', () => {
    const lsm = guest.rules.filter((x) => LSM_KINDS.has(x.kind));
    expect(lsm.length).toBeGreaterThanOrEqual(15);
    for (const r of lsm) {
      const id = `${r.policy}/${r.rule}: ${r.achieved} via ${r.mechanism}`;
      expect(r.mechanism, id).toBe('lsm');
      expect(r.achieved, id).toBe(r.action);
      expect(r.downgraded, id).toBe(false);
    }
    for (const p of guest.policies) {
      for (const d of p.defaults ?? []) {
        const id = `${p.name}/(default ${d.kind}): ${d.achieved} via ${d.mechanism}`;
        expect(d.achieved, id).toBe('block');
        expect(d.mechanism, id).toBe(LSM_KINDS.has(d.kind) ? 'lsm' : 'cgroup');
      }
    }
  });

  it('blocks network, device and sysctl rules with cgroup hooks', () => {
    for (const r of guest.rules.filter((x) => CGROUP_KINDS.has(x.kind))) {
      const id = `${r.policy}/${r.rule}: ${r.achieved} via ${r.mechanism}`;
      expect(r.mechanism, id).toBe('cgroup');
      expect(r.achieved, id).toBe(r.action);
      expect(r.downgraded, id).toBe(false);
    }
  });

  it('has no downgrade warning at all', () => {
    expect(guest.rules.filter((r) => r.downgraded).map((r) => `${r.policy}/${r.rule}: ${r.reason}`)).toEqual(
      [],
    );
  });
});
