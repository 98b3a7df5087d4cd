import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FeatureFileError } from '../../../src/compiler/errors.ts';
import { loadFeatureFile, parseFeatureSet, readFeatureSpec } from '../../../src/compiler/feature-file.ts';
import { FMOD_RET, LSM, NO_LSM } from '../../support/features.ts';

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
    // Debian 6.1 without bpf in lsm=: BPF-LSM built but not active, fmod_ret on every function
    expect([FMOD_RET.lsm.available, FMOD_RET.fmodRet.available, FMOD_RET.kprobes.available]).toEqual([
      false,
      true,
      true,
    ]);
    expect(FMOD_RET.lsm.fix).toMatch(/^add bpf to lsm= on the kernel command line: lsm=.*,apparmor,bpf /);
    expect(Object.values(FMOD_RET.fmodRetHooks).every((h) => h.available)).toBe(true);
    expect(Object.keys(FMOD_RET.fmodRetHooks)).toEqual(Object.keys(NO_LSM.fmodRetHooks));
    expect([NO_LSM.fmodRet.available, LSM.fmodRet.probed]).toEqual([false, false]);
  });

  it('a file from before the fmod_ret rung still reads, without the rung', () => {
    const { fmodRet: _f, fmodRetHooks: _h, ...old } = structuredClone(FMOD_RET);
    const f = parseFeatureSet(old, 'old.json');
    expect(f.fmodRet.available).toBe(false);
    expect(f.fmodRet.reason).toMatch(/written before the fmod_ret rung/);
    expect(f.fmodRetHooks).toEqual({});
  });

  it('--features names: the shipped sets, or a file', () => {
    expect(readFeatureSpec('fmod-ret')).toEqual({
      features: FMOD_RET,
      note: 'features: fmod-ret (shipped file)',
    });
    expect(() => readFeatureSpec('')).toThrow(/one of lsm, fmod-ret, no-lsm/);
  });

  it('names every problem with its path', () => {
    const bad = {
      ...structuredClone(NO_LSM),
      lsm: { available: 'no' },
      cgroupHooks: { dev: NO_LSM.cgroupHooks.dev },
      fmodRet: { available: true, reason: 'x', fix: 3 },
      fmodRetHooks: { security_file_open: { available: true } },
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
      expect(msg).toMatch(/fmodRet\.fix: expected a string/);
      expect(msg).toMatch(/fmodRetHooks\.security_file_open\.reason: expected a string/);
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
