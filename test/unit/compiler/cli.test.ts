import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/abi/plan.ts';
import { run } from '../../../src/cli/commands/compile.ts';
import { UsageError } from '../../../src/errors.ts';
import { captureOutput } from '../../support/capture.ts';

const DIR = new URL('../../fixtures/compiler/cli/', import.meta.url).pathname;
const SMALL = `${DIR}small.yaml`;
const io = captureOutput();

describe('bpfgate compile', () => {
  it('--explain on the LSM feature file', async () => {
    expect(await run([SMALL, '--features', 'lsm', '--explain'])).toBe(0);
    expect(io.out).toMatch(/small\s+sys-admin\s+capability\s+lsm\/capable\s+lsm\s+block\s+block/);
    expect(io.err).toMatch(/features: lsm/);
  });

  it('--json gives the plan; without LSM the capability rule is unavailable', async () => {
    expect(await run([SMALL, '--features', 'no-lsm', '--json'])).toBe(0);
    const plan = JSON.parse(io.out) as Plan;
    expect(plan.rules.map((r) => [r.rule, r.achieved])).toEqual([
      ['raw-ip-sockets', 'block'],
      ['sys-admin', 'unavailable'],
    ]);
  });

  it('--audit makes every rule a dry run', async () => {
    expect(await run([SMALL, '--features', 'lsm', '--json', '--audit'])).toBe(0);
    expect((JSON.parse(io.out) as Plan).rules.every((r) => r.dryRun)).toBe(true);
  });

  it('invalid policies: exit 1 with located diagnostics', async () => {
    expect(await run([`${DIR}invalid.yaml`, '--features', 'lsm'])).toBe(1);
    expect(io.err).toMatch(/invalid\.yaml:\d+:\d+: .*\[UNKNOWN_CAPABILITY\]/);
    expect(io.out).toBe('');
  });

  it('usage errors', async () => {
    await expect(run(['--bogus'])).rejects.toBeInstanceOf(UsageError);
    await expect(run([SMALL, '--explain', '--json'])).rejects.toBeInstanceOf(UsageError);
    await expect(run([SMALL, '--features', `${DIR}nope.json`])).rejects.toBeInstanceOf(UsageError);
  });
});
