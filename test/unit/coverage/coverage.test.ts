// The coverage runner's pure parts (test/coverage/): planning Atomic Red
// Team's tests from a small atomics folder written here, and classifying a
// run by its cgroup's events. The run itself (npm run coverage) is not part
// of the test suite.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type PlannedTest, planTests, substitute } from '../../../test/coverage/atomics.ts';
import type { TestRun } from '../../../test/coverage/guest-run.ts';
import { BEGIN, classify, END, renderTables } from '../../../test/coverage/render.ts';

const atomics = mkdtempSync(join(tmpdir(), 'bpfgate-atomics-'));
afterAll(() => rmSync(atomics, { recursive: true, force: true }));
mkdirSync(join(atomics, 'T9999.001'));
writeFileSync(
  join(atomics, 'T9999.001', 'T9999.001.yaml'),
  `attack_technique: T9999.001
display_name: 'Test technique: persistence'
atomic_tests:
- name: writes a cron job
  auto_generated_guid: 00000000-0000-0000-0000-000000000001
  supported_platforms: [linux]
  input_arguments:
    file: {description: x, type: path, default: '/etc/cron.d/#{name}'}
    name: {description: x, type: string, default: evil}
  executor: {name: sh, command: 'echo x > #{file}', cleanup_command: 'rm -f #{file}'}
- name: windows only
  auto_generated_guid: 00000000-0000-0000-0000-000000000002
  supported_platforms: [windows]
  executor: {name: powershell, command: 'Get-Thing'}
- name: fetches a payload
  auto_generated_guid: 00000000-0000-0000-0000-000000000003
  supported_platforms: [linux, macos]
  executor: {name: bash, command: 'curl -o /tmp/x https://example.com/x'}
- name: manual
  auto_generated_guid: 00000000-0000-0000-0000-000000000004
  supported_platforms: [linux]
  executor: {name: manual, steps: 'do it'}
- name: reboots
  auto_generated_guid: 00000000-0000-0000-0000-000000000005
  supported_platforms: [linux]
  executor: {name: bash, command: 'shutdown -r now'}
- name: compiles a library
  auto_generated_guid: 00000000-0000-0000-0000-000000000006
  supported_platforms: [linux]
  input_arguments:
    src: {description: x, type: path, default: PathToAtomicsFolder/T9999.001/src/lib.c}
  dependency_executor_name: bash
  dependencies:
  - description: the library is built
    prereq_command: 'test -f /tmp/lib.so'
    get_prereq_command: 'gcc -shared -o /tmp/lib.so #{src}'
  executor: {name: sh, command: 'echo /tmp/lib.so > /etc/ld.so.preload'}
`,
);

describe('planning the atomics', () => {
  const plan = planTests(atomics);
  const byName = (n: string) => plan.find((t) => t.name === n)!;

  it('keeps the Linux tests, numbered as Atomic Red Team numbers them', () => {
    expect(plan.map((t) => t.id)).toEqual([
      'T9999.001-1',
      'T9999.001-3',
      'T9999.001-4',
      'T9999.001-5',
      'T9999.001-6',
    ]);
  });

  it('replaces the input arguments by their defaults, nested ones and the atomics folder too', () => {
    expect(byName('writes a cron job').command).toBe('echo x > /etc/cron.d/evil');
    expect(byName('writes a cron job').cleanup).toBe('rm -f /etc/cron.d/evil');
    const lib = byName('compiles a library');
    expect(lib.dependencies[0]!.getPrereq).toBe(`gcc -shared -o /tmp/lib.so ${atomics}/T9999.001/src/lib.c`);
    expect(lib.dependencies[0]!.online).toBe(false);
    expect(lib.depShell).toBe('/bin/bash');
    expect(substitute('#{unknown} PathToAtomicsFolder', {}, '/a')).toBe('#{unknown} /a');
  });

  it('says why a test is not run: the internet, another executor, stopping the machine', () => {
    expect(byName('writes a cron job').notRun).toBeUndefined();
    expect(byName('writes a cron job').shell).toBe('/bin/sh');
    expect(byName('fetches a payload').notRun).toBe('needs the internet');
    expect(byName('manual').notRun).toBe('executor manual');
    expect(byName('reboots').notRun).toBe('would stop the machine the suite runs on');
  });
});

function event(cgroupId: string, outcome: string, path: string) {
  return JSON.stringify({
    type: 'violation',
    kind: 'file',
    outcome,
    policy: { name: 'protect-persistence', rule: 'scheduler' },
    target: { path, operation: 'create' },
    process: { comm: 'sh', executable: '/usr/bin/dash', cgroup: { id: cgroupId, path: '/atomics/t0' } },
  });
}

const run = (id: string, cgroupId: string, exit: number, more: Partial<TestRun> = {}): TestRun => ({
  id,
  cgroupId,
  exit,
  signal: null,
  ms: 100,
  stdout: '',
  stderr: '',
  ...more,
});

describe('classifying a run', () => {
  const plan: PlannedTest[] = planTests(atomics);
  const runs = [
    run('T9999.001-1', '11', 2),
    run('T9999.001-6', '16', 127, { stderr: 'sh: 1: gcc: not found\n' }),
  ];

  it('by the strongest outcome of the events of the test’s own cgroup', () => {
    const events = [
      event('11', 'would-block', '/etc/cron.d/evil'),
      event('11', 'denied', '/etc/cron.d/evil'),
      event('11', 'denied', '/etc/cron.d/evil'),
      event('99', 'killed', '/etc/cron.d/other'),
    ].join('\n');
    const r = classify(plan, runs, `${events}\nnot json\n`);
    const cron = r.find((x) => x.test.id === 'T9999.001-1')!;
    expect(cron.result).toBe('blocked');
    expect(cron.note).toBe('exit 2');
    expect(cron.events.map((e) => [e.outcome, e.count])).toEqual([
      ['would-block', 1],
      ['denied', 2],
    ]);
  });

  it('a test that failed with no event is failed, with what it missed; one not reached is not run', () => {
    const r = classify(plan, runs, '');
    const lib = r.find((x) => x.test.id === 'T9999.001-6')!;
    expect(lib.result).toBe('failed');
    expect(lib.note).toContain('not installed here: gcc');
    expect(r.find((x) => x.test.id === 'T9999.001-1')!.result).toBe('failed');
    expect(r.find((x) => x.test.id === 'T9999.001-3')!).toMatchObject({
      result: 'not run',
      note: 'needs the internet',
    });
    const ok = classify(plan, [run('T9999.001-1', '11', 0)], '');
    expect(ok.find((x) => x.test.id === 'T9999.001-1')!.result).toBe('not seen');
  });

  it('renders totals and a table per technique between the markers, with the events', () => {
    const r = classify(plan, runs, event('11', 'denied', '/etc/cron.d/evil'));
    const text = renderTables(r, { minutes: 3 });
    expect(text.startsWith(BEGIN)).toBe(true);
    expect(text.endsWith(END)).toBe(true);
    expect(text).toContain('5 Linux tests of 1 techniques, 2 run');
    expect(text).toContain('| blocked | 1 | 50% |');
    expect(text).toContain('| 1. writes a cron job | blocked | protect-persistence/scheduler: denied');
    expect(text).toContain('/etc/cron.d/evil');
  });
});
