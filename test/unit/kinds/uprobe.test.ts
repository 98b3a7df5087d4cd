// The uprobe kind from policy text to event, through the registry only: its
// match read and checked at line:column, its key, its attach points (the
// compiler never reads the binary) and its hook on both shipped kernels, and
// records decoded to the event's target, text and OCSF class for each capture.
import { describe, expect, it } from 'vitest';
import { MapName } from '../../../src/abi/layout.ts';
import { uprobeCookie } from '../../../src/abi/programs.ts';
import { compile } from '../../../src/compiler/compile.ts';
import { explainTable } from '../../../src/compiler/explain.ts';
import { deviceText } from '../../../src/kernel/elf.ts';
import { kindOf } from '../../../src/kinds/index.ts';
import { parsePolicySources } from '../../../src/policy/index.ts';
import { oneRulePolicy } from '../../support/builders.ts';
import { NO_LSM, plansOnShippedKernels } from '../../support/features.ts';

const uprobe = kindOf('uprobe');

const policy = (match: string, action = 'audit') =>
  oneRulePolicy({ name: 'shells', id: 'typed', kind: 'uprobe', action, match });

const parse = (text: string) => parsePolicySources([{ file: 'shells.yaml', text }]);
const BASH = '{ binary: /usr/bin/bash, symbol: readline, capture: returned-string }';
const PAM = '{ binary: /usr/lib/x86_64-linux-gnu/libpam.so.0, symbol: pam_authenticate, capture: pam }';

/** bash's readline, returned-string, as the plan attaches it for rule `cookie` */
const readlineAttach = (cookie: number) => ({
  type: 'uprobe' as const,
  binary: '/usr/bin/bash',
  symbol: 'readline',
  retprobe: true,
  capture: 1,
  cookie,
});

describe('the uprobe kind', () => {
  it('reads binary, symbol, capture and a digest (lower-cased)', () => {
    const sha = 'AB'.repeat(32);
    const { set, diagnostics } = parse(policy(`{ binary: /usr/bin/bash, symbol: readline, sha256: ${sha} }`));
    expect(diagnostics).toEqual([]);
    expect(set?.policies[0]?.rules[0]?.match).toEqual({
      kind: 'uprobe',
      binary: '/usr/bin/bash',
      symbol: 'readline',
      capture: 'none',
      sha256: 'ab'.repeat(32),
    });
  });

  it('refuses a missing symbol, a relative binary, a bad digest and an unknown capture, at line and column', () => {
    const missing = parse(policy('{ binary: /usr/bin/bash }'));
    expect(missing.set).toBeNull();
    expect(missing.diagnostics.map((d) => d.code)).toEqual(['MISSING_FIELD']);
    const bad = parse(policy('{ binary: bin/bash, symbol: "read line", sha256: abc, capture: everything }'));
    expect(bad.set).toBeNull();
    expect(bad.diagnostics.map((d) => [d.code, d.pos.line, d.pos.column])).toEqual([
      ['RELATIVE_PATH', 9, 24],
      ['INVALID_VALUE', 9, 42],
      ['INVALID_VALUE', 9, 63],
      ['INVALID_VALUE', 9, 77],
    ]);
  });

  it('accepts audit and kill, not block (a uprobe cannot refuse a call) nor allow', () => {
    expect(uprobe.actions).toEqual(['audit', 'kill']);
    for (const action of ['block', 'allow']) {
      const codes = parse(policy(BASH, action)).diagnostics.map((d) => d.code);
      expect(new Set(codes)).toEqual(new Set(['ACTION_NOT_ALLOWED_FOR_KIND']));
    }
  });

  it('compiles to one bg_rules key (the rule id) and a uretprobe on the binary, on both kernels', () => {
    const { set } = parse(policy(BASH, 'kill'));
    for (const plan of plansOnShippedKernels(set!, {
      achieved: 'kill-after',
      mechanism: 'uprobe',
      programs: ['bg_uprobe'],
    })) {
      expect(plan.maps.find((m) => m.map === MapName.rules)!.entries).toHaveLength(1);
      const specs = plan.programs.filter((p) => p.program === 'bg_uprobe');
      expect(specs.map((s) => s.attach)).toEqual([readlineAttach(0)]);
      expect(explainTable(plan)).toMatch(/uretprobe\/\/usr\/bin\/bash:readline +uprobe +kill +kill/);
      expect(plan.rules[0]!.reason).toMatch(/after the function was entered/);
    }
  });

  it('attaches a PAM rule twice: at entry (the handle) and at return (user and result)', () => {
    const plan = compile(parse(policy(PAM)).set!, NO_LSM, { gen: 0 });
    const specs = plan.programs.filter((p) => p.program === 'bg_uprobe').map((s) => s.attach);
    expect(specs.map((a) => a.type === 'uprobe' && [a.retprobe, a.capture])).toEqual([
      [false, 3],
      [true, 3],
    ]);
    const a = specs[1]!;
    if (a.type !== 'uprobe') throw new Error('not a uprobe');
    expect(uprobeCookie(a)).toBe((1n << 40n) | (3n << 32n));
  });

  it('decodes each capture to its target, text and OCSF class', () => {
    const attach = readlineAttach(0);
    const ctx = { ruleId: 0, attachment: () => attach };
    const aux = new Uint8Array(128);
    const line = uprobe.decode({ op: 0, args: [0x55aa0n, 0n, 0n, 1n], path: 'id -u', aux }, ctx);
    expect(line).toEqual({
      binary: '/usr/bin/bash',
      symbol: 'readline',
      capture: 'returned-string',
      value: '0x55aa0',
      captured: 'id -u',
    });
    expect(uprobe.describe(line)).toBe('readline() returned "id -u"');
    const shell = uprobe.ocsf({ target: line, host: 'h', process: { tgid: 1, comm: 'bash' } });
    expect([shell.cls.class_uid, shell.activity]).toEqual([1009, [1, 'Execute']]);
    expect(shell.fields).toMatchObject({ script: { type_id: 6, script_content: { value: 'id -u' } } });

    const pam = uprobe.decode({ op: 0, args: [7n, 0n, 0n, 3n], path: 'alice', aux }, ctx);
    expect(pam).toMatchObject({ capture: 'pam', captured: 'alice', result: 7 });
    expect(uprobe.describe(pam)).toBe('readline() for user alice: failed (7)');
    const auth = uprobe.ocsf({ target: pam, host: 'h', process: { tgid: 1, comm: 'su' } });
    expect([auth.cls.class_uid, auth.activity]).toEqual([3002, [1, 'Logon']]);
    expect(auth.fields).toMatchObject({ user: { name: 'alice' }, status_id: 2, status: 'Failure' });

    const entry = uprobe.decode({ op: 0, args: [42n, 1n, 0n, 0n], path: '', aux }, ctx);
    expect(entry).toEqual({ binary: '/usr/bin/bash', symbol: 'readline', capture: 'none', value: '0x2a' });
    expect(uprobe.ocsf({ target: entry, host: 'h', process: { tgid: 1, comm: 'x' } }).cls.class_uid).toBe(
      1007,
    );
  });

  it('carries the inode the rule is bound to: the target and the OCSF script file say which copy ran', () => {
    const attach = readlineAttach(4);
    const inodes = new Map([[4, { device: '254:1', inode: '131090' }]]);
    const ctx = { ruleId: 4, attachment: () => attach, inode: (id: number) => inodes.get(id) };
    const t = uprobe.decode({ op: 0, args: [1n, 0n, 0n, 1n], path: 'ls', aux: new Uint8Array(128) }, ctx);
    expect(t).toMatchObject({ device: '254:1', inode: '131090' });
    const shell = uprobe.ocsf({ target: t, host: 'h', process: { tgid: 1, comm: 'bash' } });
    expect(shell.fields).toMatchObject({
      script: { file: { path: '/usr/bin/bash', uid: '131090', volume: '254:1' } },
    });
    // a rule the loader has not attached (no inode known) says nothing about one
    expect(
      uprobe.decode(
        { op: 0, args: [1n, 0n, 0n, 1n], path: 'ls', aux: new Uint8Array(128) },
        { ...ctx, ruleId: 5 },
      ),
    ).not.toHaveProperty('inode');
  });

  it('device numbers read as major:minor, as mountinfo prints them', () => {
    expect(deviceText(0x801n)).toBe('8:1');
    expect(deviceText((259n << 8n) | 3n)).toBe('259:3');
    // minors above 255 and majors above 4095 use the high bits (glibc's makedev)
    const makedev = (major: bigint, minor: bigint) =>
      (minor & 0xffn) | ((major & 0xfffn) << 8n) | ((minor & ~0xffn) << 12n) | ((major & ~0xfffn) << 32n);
    expect(deviceText(makedev(0x10000012n, 0x34567n))).toBe(`${0x10000012}:${0x34567}`);
  });
});
