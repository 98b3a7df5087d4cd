// ingress and egress from policy text to event, through the registry only
// (docs/adding-a-rule-kind.md): the match read and checked at line:column,
// the keys (addresses as connect's, the interfaces by index and hook), the
// programs on the shipped kernels, the refusal of a process scope, and a
// record decoded to its target, text and OCSF class. The packets themselves:
// test/host/packet-kinds.test.ts.
import { describe, expect, it } from 'vitest';
import { encodeNetKey } from '../../../src/abi/encode/net.ts';
import { encodeRuleKey } from '../../../src/abi/encode/rules.ts';
import { MapName } from '../../../src/abi/layout.ts';
import { compile } from '../../../src/compiler/compile.ts';
import { kindOf } from '../../../src/kinds/index.ts';
import { parsePolicySources } from '../../../src/policy/index.ts';
import { NO_LSM } from '../../support/features.ts';

const ingress = kindOf('ingress');
const egress = kindOf('egress');

function policy(kind: string, match: string, action = 'block', scope = ''): string {
  return `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: packets }
spec:
${scope}  rules:
    - id: r
      kind: ${kind}
      action: ${action}
      match: ${match}
`;
}

const parse = (text: string) => parsePolicySources([{ file: 'packets.yaml', text }]);
const IFINDEX: Record<string, number> = { eth0: 2, veth1: 7 };
const interfaces = (name: string) => IFINDEX[name];

describe('the ingress and egress kinds', () => {
  it('reads interfaces, addresses, ports, protocols and the XDP mode', () => {
    const { set, diagnostics } = parse(
      policy(
        'ingress',
        '{ interfaces: [eth0], addresses: [10.0.0.0/8], ports: [23], protocols: [tcp], xdp: auto }',
      ),
    );
    expect(diagnostics).toEqual([]);
    expect(set?.policies[0]?.rules[0]?.match).toMatchObject({
      kind: 'ingress',
      interfaces: ['eth0'],
      ports: [{ from: 23, to: 23 }],
      protocols: ['tcp'],
      xdp: 'auto',
    });
  });

  it('refuses a bad CIDR, an unknown protocol, a bad interface name and XDP on egress, at their line and column', () => {
    const bad = parse(
      policy('ingress', '{ interfaces: [eth0], addresses: [10.0.0.1/8], protocols: [sctp] }'),
    );
    expect(bad.set).toBeNull();
    expect(bad.diagnostics.map((d) => [d.code, d.pos.line, d.pos.column])).toEqual([
      ['INVALID_CIDR', 9, 48],
      ['INVALID_VALUE', 9, 73],
    ]);
    expect(parse(policy('egress', '{ interfaces: ["a/b"] }')).diagnostics.map((d) => d.code)).toEqual([
      'INVALID_VALUE',
    ]);
    expect(
      parse(policy('egress', '{ interfaces: [eth0], xdp: generic }')).diagnostics.map((d) => d.code),
    ).toEqual(['UNKNOWN_KEY']);
    expect(parse(policy('egress', '{ addresses: [10.0.0.0/8] }')).diagnostics.map((d) => d.code)).toEqual([
      'MISSING_FIELD',
    ]);
  });

  it('accepts block and audit only', () => {
    expect(ingress.actions).toEqual(['block', 'audit']);
    expect(egress.actions).toEqual(['block', 'audit']);
    expect(parse(policy('egress', '{ interfaces: [eth0] }', 'kill')).diagnostics.map((d) => d.code)).toEqual([
      'ACTION_NOT_ALLOWED_FOR_KIND',
    ]);
  });

  it('keys addresses like connect, ICMP by family, and each interface by index and hook', () => {
    const { set } = parse(
      policy(
        'ingress',
        '{ interfaces: [eth0, veth1], addresses: [192.0.2.0/24, "fd00::/8"], protocols: [icmp], xdp: generic }',
      ),
    );
    const plan = compile(set!, NO_LSM, { gen: 1, interfaces });
    expect(plan.rules[0]).toMatchObject({
      achieved: 'block',
      mechanism: 'xdp',
      programs: ['bg_xdp_ingress'],
    });
    const keys = plan.maps.flatMap((m) => m.entries.map((e) => [m.map, e.key]));
    const base = { gen: 1, slot: 0, kind: 16, port: 0 };
    expect(keys).toContainEqual([
      MapName.netRules,
      encodeNetKey({ ...base, proto: 1, family: 4, address: Uint8Array.from([192, 0, 2, 0]), bits: 24 }),
    ]);
    expect(keys).toContainEqual([
      MapName.netRules,
      encodeNetKey({
        ...base,
        proto: 58,
        family: 6,
        address: Uint8Array.from([0xfd, ...Array(15).fill(0)]),
        bits: 8,
      }),
    ]);
    for (const ifindex of [2, 7]) {
      expect(keys).toContainEqual([
        MapName.rules,
        encodeRuleKey({ gen: 1, slot: 0, kind: 16, op: 1, a: 0, b: ifindex, c: 1 }),
      ]);
    }
    expect(plan.programs.filter((p) => p.program === 'bg_xdp_ingress').map((p) => p.attach)).toEqual([
      { type: 'xdp', ifname: 'eth0', mode: 'generic' },
      { type: 'xdp', ifname: 'veth1', mode: 'generic' },
    ]);
  });

  it('plans tcx for egress; a rule naming an interface the host does not have is unavailable, with the reason', () => {
    const { set } = parse(policy('egress', '{ interfaces: [eth0], ports: [445] }'));
    const plan = compile(set!, NO_LSM, { gen: 0, interfaces });
    expect(plan.rules[0]).toMatchObject({ achieved: 'block', mechanism: 'tc', programs: ['bg_tc_egress'] });
    expect(plan.programs).toContainEqual({
      program: 'bg_tc_egress',
      attach: { type: 'tcx', ifname: 'eth0', direction: 'egress' },
      kinds: ['egress'],
    });
    const missing = parse(policy('egress', '{ interfaces: [eth0, wlan9] }')).set!;
    const p2 = compile(missing, NO_LSM, { gen: 0, interfaces });
    expect(p2.rules[0]).toMatchObject({ achieved: 'unavailable', downgraded: true, programs: [] });
    expect(p2.rules[0]!.reason).toMatch(/interface wlan9 does not exist/);
    expect(p2.programs.filter((p) => p.program === 'bg_tc_egress')).toEqual([]);
    expect(p2.warnings.join('\n')).toMatch(/wlan9/);
  });

  it('is unavailable, with the reason, in a policy with a process scope', () => {
    const { set } = parse(policy('ingress', '{ interfaces: [eth0] }', 'block', '  scope: { uids: [0] }\n'));
    const plan = compile(set!, NO_LSM, { gen: 0, interfaces });
    expect(plan.rules[0]).toMatchObject({ achieved: 'unavailable', downgraded: true, programs: [] });
    expect(plan.rules[0]!.reason).toMatch(/no reliable acting process.*cgroups only/);
    expect(plan.programs.filter((p) => p.program.startsWith('bg_tc'))).toEqual([]);
  });

  it('plans cgroup_skb, not tc, for a rule scoped to cgroups or excepting some: its interface keys say so', () => {
    const scoped = parse(
      policy('egress', '{ interfaces: [eth0], ports: [445] }', 'block', '  scope: { cgroups: [/app/**] }\n'),
    ).set!;
    const plan = compile(scoped, NO_LSM, { gen: 1, interfaces });
    expect(plan.rules[0]).toMatchObject({
      achieved: 'block',
      mechanism: 'cgroup',
      programs: ['bg_cgskb_egress'],
    });
    expect(plan.programs).toContainEqual({
      program: 'bg_cgskb_egress',
      attach: { type: 'cgroup', attachType: 'cgroup_inet_egress' },
      kinds: ['egress'],
    });
    expect(plan.programs.filter((p) => p.program.startsWith('bg_tc'))).toEqual([]);
    const keys = plan.maps.flatMap((m) => m.entries.map((e) => [m.map, e.key]));
    expect(keys).toContainEqual([
      MapName.rules,
      encodeRuleKey({ gen: 1, slot: 0, kind: 17, op: 1, a: 0, b: 2, c: 2 }),
    ]);
    const excepted = parse(
      policy('ingress', '{ interfaces: [eth0], ports: [23] }\n      unless: { cgroups: [/ops] }', 'audit'),
    ).set!;
    expect(compile(excepted, NO_LSM, { gen: 0, interfaces }).rules[0]).toMatchObject({
      achieved: 'audit',
      programs: ['bg_cgskb_ingress'],
    });
  });

  it('writes interface keys under slot 0 whatever the policy slot: the programs look them up by rule id alone', () => {
    const two = parse(
      `${policy('egress', '{ interfaces: [eth0] }').replace('name: packets', 'name: a-first')}---\n${policy('egress', '{ interfaces: [veth1] }')}`,
    ).set!;
    const plan = compile(two, NO_LSM, { gen: 0, interfaces });
    const second = plan.rules.find((r) => r.policy === 'packets')!;
    expect(plan.policies.find((p) => p.name === 'packets')!.slot).toBe(1);
    const keys = plan.maps.flatMap((m) => m.entries.map((e) => [m.map, e.key]));
    expect(keys).toContainEqual([
      MapName.rules,
      encodeRuleKey({ gen: 0, slot: 0, kind: 17, op: 1, a: second.ruleId, b: 7, c: 0 }),
    ]);
  });

  it('refuses xdp in a rule scoped to cgroups, and cgroup_skb where the feature set lacks it', () => {
    const xdp = parse(
      policy('ingress', '{ interfaces: [eth0], xdp: generic }', 'block', '  scope: { cgroups: [/app] }\n'),
    ).set!;
    const r = compile(xdp, NO_LSM, { gen: 0, interfaces }).rules[0]!;
    expect(r).toMatchObject({ achieved: 'unavailable', programs: [] });
    expect(r.reason).toMatch(/no socket and so no cgroup/);
    const scoped = parse(
      policy('egress', '{ interfaces: [eth0] }', 'block', '  scope: { cgroups: [/app] }\n'),
    ).set!;
    const { cgroupSkb: _, ...older } = NO_LSM;
    const r2 = compile(scoped, older, { gen: 0, interfaces }).rules[0]!;
    expect(r2).toMatchObject({ achieved: 'unavailable', programs: [] });
    expect(r2.reason).toMatch(/cgroup_skb/);
  });

  it('decodes a record: the remote and local addresses, ports, and what the rate limit held back', () => {
    const aux = new Uint8Array(128);
    aux.set([10, 9, 0, 2], 0);
    aux.set([10, 9, 0, 1], 16);
    const t = ingress.decode(
      { op: 0, args: [4n, 23n, 6n, 40000n | (9n << 16n)], path: '', aux },
      { ruleId: 0 },
    );
    expect(t).toEqual({
      family: 'ipv4',
      address: '10.9.0.2',
      port: 23,
      protocol: 'tcp',
      localAddress: '10.9.0.1',
      sourcePort: 40000,
      suppressed: 9,
    });
    expect(ingress.describe(t)).toBe('ingress 10.9.0.2 -> port 23/tcp (+9 not reported)');
    const o = ingress.ocsf({ target: t, host: 'web-1', process: { tgid: 0, comm: '' } });
    expect(o.cls.class_uid).toBe(4001);
    expect(o.fields).toMatchObject({
      count: 10,
      src_endpoint: { ip: '10.9.0.2', port: 40000 },
      dst_endpoint: { ip: '10.9.0.1', port: 23, hostname: 'web-1' },
      connection_info: { direction_id: 1, protocol_num: 6 },
    });
  });
});
