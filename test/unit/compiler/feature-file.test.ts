import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FeatureFileError } from '../../../src/compiler/errors.ts';
import { loadFeatureFile, parseFeatureSet } from '../../../src/compiler/feature-file.ts';
import { LSM, NO_LSM } from '../../support/features.ts';

describe('feature files', () => {
  it('the shipped files say what KERNEL.md measured', () => {
    expect([LSM.lsm.available, LSM.kprobes.available, LSM.tracepoints.available]).toEqual([true, true, true]);
    expect([NO_LSM.lsm.available, NO_LSM.fentry.available, NO_LSM.kprobes.available]).toEqual([
      false,
      false,
      false,
    ]);
    expect([NO_LSM.tracepoints.available, NO_LSM.sendSignal.available]).toEqual([true, true]);
    expect(Object.values(NO_LSM.cgroupHooks).every((h) => h.available)).toBe(true);
  });

  it('names every problem with its path', () => {
    const bad = {
      ...structuredClone(NO_LSM),
      lsm: { available: 'no' },
      cgroupHooks: { dev: NO_LSM.cgroupHooks.dev },
    };
    try {
      parseFeatureSet(bad, 'x.json');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FeatureFileError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/lsm\.available: expected a boolean/);
      expect(msg).toMatch(/lsm\.reason: expected a string/);
      expect(msg).toMatch(/cgroupHooks\.sysctl: expected an object/);
    }
  });

  it('unreadable and non-JSON files are FeatureFileErrors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bg-features-'));
    const file = join(dir, 'f.json');
    writeFileSync(file, '{ not json');
    expect(() => loadFeatureFile(file)).toThrow(FeatureFileError);
    expect(() => loadFeatureFile(join(dir, 'missing.json'))).toThrow(FeatureFileError);
    expect(() => parseFeatureSet([], 'a.json')).toThrow(FeatureFileError);
  });
});
