// bpfgate's exit codes, and which error ends a command with which code. No
// side effects: commands and tests import this table; src/cli/main.ts is the
// entry point that runs a command.
import { BpfgateError, EnforcementDowngradeError, PrivilegeError, UsageError } from '../errors.ts';

/** 0 ok, 1 the checked thing failed, 2 usage, 3 missing privilege, 4 runtime error (README). */
export const EXIT = { ok: 0, failed: 1, usage: 2, privilege: 3, runtime: 4 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * What a command that threw ends with: the exit code and the line for stderr,
 * or null for an error bpfgate does not know (it propagates, with its stack).
 */
export function exitFor(command: string, err: unknown): { code: ExitCode; message: string } | null {
  if (err instanceof UsageError) return { code: EXIT.usage, message: `bpfgate ${command}: ${err.message}\n` };
  if (err instanceof PrivilegeError)
    return { code: EXIT.privilege, message: `bpfgate ${command}: ${err.message}\n` };
  // --require-enforcement: the checked thing failed, not the runtime
  if (err instanceof EnforcementDowngradeError)
    return { code: EXIT.failed, message: `bpfgate ${command}: ${err.message} [${err.code}]\n` };
  if (err instanceof BpfgateError)
    return { code: EXIT.runtime, message: `bpfgate ${command}: ${err.message} [${err.code}]\n` };
  return null;
}
