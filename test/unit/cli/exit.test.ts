import { describe, expect, it } from 'vitest';
import { EXIT, exitFor } from '../../../src/cli/exit.ts';
import { BpfgateError, EnforcementDowngradeError, PrivilegeError, UsageError } from '../../../src/errors.ts';

describe('exit codes', () => {
  it('map each error class to its documented code', () => {
    expect(EXIT).toEqual({ ok: 0, failed: 1, usage: 2, privilege: 3, runtime: 4 });
    expect(exitFor('tail', new UsageError('bad flag'))).toEqual({
      code: 2,
      message: 'bpfgate tail: bad flag\n',
    });
    expect(exitFor('run', new PrivilegeError('not root'))?.code).toBe(3);
    expect(exitFor('run', new EnforcementDowngradeError(['p/r']))?.code).toBe(1);
    expect(exitFor('run', new BpfgateError('X_FAILED', 'broke'))).toEqual({
      code: 4,
      message: 'bpfgate run: broke [X_FAILED]\n',
    });
    expect(exitFor('run', new Error('a bug'))).toBeNull();
  });
});
