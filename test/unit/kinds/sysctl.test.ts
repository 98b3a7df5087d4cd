// One kind from policy text to event, through the registry only: what
// docs/adding-a-rule-kind.md asks of a new kind's test file. The sysctl kind:
// its match read and checked at line:column, its map keys and hook on both
// shipped kernels, and a record decoded to the event's target, text and OCSF
// class.
import { describe, expect, it } from 'vitest';
import { encodePathKey } from '../../../src/abi/encode/path.ts';
import { MapName } from '../../../src/abi/layout.ts';
import { Kind, kindOf } from '../../../src/kinds/index.ts';
import { SYSCTL_OPS } from '../../../src/kinds/sysctl.ts';
import { parsePolicySources } from '../../../src/policy/index.ts';
import { oneRulePolicy } from '../../support/builders.ts';
import { plansOnShippedKernels } from '../../support/features.ts';

const sysctl = kindOf('sysctl');

const policy = (match: string, action = 'block') =>
  oneRulePolicy({ name: 'sysctls', id: 'writes', kind: 'sysctl', action, match });

const parse = (text: string) => parsePolicySources([{ file: 'sysctls.yaml', text }]);

describe('the sysctl kind', () => {
  it('reads names and prefixes (a missing final dot added) and defaults access to read and write', () => {
    const { set, diagnostics } = parse(policy('{ names: [kernel.core_pattern], prefixes: [net.ipv4.conf] }'));
    expect(diagnostics).toEqual([]);
    expect(set?.policies[0]?.rules[0]?.match).toEqual({
      kind: 'sysctl',
      names: ['kernel.core_pattern'],
      prefixes: ['net.ipv4.conf.'],
      access: ['read', 'write'],
    });
  });

  it('refuses what no sysctl can be, at its line and column', () => {
    const { set, diagnostics } = parse(policy('{ names: [core_pattern, kernel.*], access: [] }'));
    expect(set).toBeNull();
    expect(diagnostics.map((d) => [d.code, d.pos.line, d.pos.column])).toEqual([
      ['INVALID_VALUE', 9, 24],
      ['INVALID_GLOB', 9, 38],
      ['EMPTY_MATCH', 9, 57],
    ]);
  });

  it('accepts block, kill and audit but not allow', () => {
    expect(sysctl.actions).toEqual(['block', 'kill', 'audit']);
    expect(parse(policy('{ names: [kernel.hostname] }', 'allow')).diagnostics.map((d) => d.code)).toEqual([
      'ACTION_NOT_ALLOWED_FOR_KIND',
    ]);
  });

  it('compiles to one bg_path_rules key per name and access, served by the cgroup sysctl hook on both kernels', () => {
    const { set } = parse(policy('{ names: [kernel.modprobe], access: [write] }'));
    for (const plan of plansOnShippedKernels(set!, {
      achieved: 'block',
      mechanism: 'cgroup',
      programs: ['bg_cg_sysctl'],
    })) {
      const keys = plan.maps.find((m) => m.map === MapName.pathRules)!.entries.map((e) => e.key);
      const op = SYSCTL_OPS.number('write');
      expect(keys).toEqual([
        encodePathKey({ gen: 1, slot: 0, kind: Kind.sysctl, op, path: 'kernel/modprobe', prefix: false }),
      ]);
    }
  });

  it('decodes a write record to its target, text and OCSF class', () => {
    const aux = new Uint8Array(128);
    aux.set(new TextEncoder().encode('|/tmp/x %p\n'));
    const op = SYSCTL_OPS.number('write');
    const target = sysctl.decode(
      { op, args: [BigInt(op), 0n, 0n, 0n], path: 'kernel/core_pattern', aux },
      { ruleId: 0 },
    );
    expect(target).toEqual({
      name: 'kernel.core_pattern',
      path: '/proc/sys/kernel/core_pattern',
      operation: 'write',
      newValue: '|/tmp/x %p',
    });
    expect(sysctl.describe(target)).toBe('write kernel.core_pattern=|/tmp/x %p');
    const ocsf = sysctl.ocsf({ target, host: 'h', process: { tgid: 1, comm: 'sh' } });
    expect([ocsf.cls.class_uid, ocsf.activity]).toEqual([1001, [3, 'Update']]);
  });
});
