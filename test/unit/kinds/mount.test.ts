// The mount kind: every mount API decided as the `mount` operation, on the
// superblock's type; a bind or move by mount(2) (type unknown to the hook)
// decided fail closed by block rules naming types, unless they opt out.
import { describe, expect, it } from 'vitest';
import { MapName } from '../../../src/abi/layout.ts';
import { compile } from '../../../src/compiler/compile.ts';
import { kindOf } from '../../../src/kinds/index.ts';
import { parsePolicySources } from '../../../src/policy/index.ts';
import { LSM } from '../../support/features.ts';

function policy(match: string, extra = '', action = 'block'): string {
  return `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: mounts }
spec:
  rules:
    - id: r
      kind: mount
      action: ${action}
      match: ${match}${extra}
`;
}

const parse = (text: string) => parsePolicySources([{ file: 'p.yaml', text }]);
const mount = kindOf('mount');

/** The number of bg_rules entries a policy compiles to on the BPF-LSM kernel. */
function ruleEntries(text: string): number {
  const p = parse(text);
  expect(p.diagnostics).toEqual([]);
  const plan = compile(p.set!, LSM, { gen: 0 });
  return plan.maps.find((m) => m.map === MapName.rules)?.entries.length ?? 0;
}

describe('mount rules', () => {
  it('are served by sb_mount and move_mount (the new mount API) for the mount operation', () => {
    const programs = mount.hooks.filter((h) => h.ops?.includes('mount')).map((h) => h.program);
    expect(programs).toEqual(['bg_lsm_sb_mount', 'bg_lsm_move_mount']);
  });

  it('naming types, block: one more entry for a bind or move whose type is unknown; unresolved: allow drops it', () => {
    expect(ruleEntries(policy('{ operations: [mount], fsTypes: [proc] }'))).toBe(2);
    expect(ruleEntries(policy('{ operations: [mount], fsTypes: [proc] }', '\n      unresolved: allow'))).toBe(
      1,
    );
    // audit rules never decide what is unknown; a rule for any type matches it already
    expect(ruleEntries(policy('{ operations: [mount], fsTypes: [proc] }', '', 'audit'))).toBe(1);
    expect(ruleEntries(policy('{ operations: [mount] }'))).toBe(1);
    expect(ruleEntries(policy('{ operations: [umount], fsTypes: [proc] }'))).toBe(1);
  });

  it('records say which call a mount came through', () => {
    const aux = new TextEncoder().encode('proc\0');
    const viaMove = mount.decode({ op: 1, args: [0n, 1n, 0n, 0n], path: '/tmp/x', aux }, { ruleId: 0 });
    expect(viaMove).toEqual({
      operation: 'mount',
      mountPoint: '/tmp/x',
      fsType: 'proc',
      flags: '0x0',
      via: 'move_mount',
    });
    expect(mount.describe(viaMove)).toBe('mount /tmp/x (proc) by move_mount');
    const bind = mount.decode(
      { op: 1, args: [4096n, 0n, 0n, 0n], path: '/tmp/y', aux: new Uint8Array(1) },
      { ruleId: 0 },
    );
    expect(bind).toEqual({ operation: 'mount', mountPoint: '/tmp/y', flags: 'bind' });
  });
});
