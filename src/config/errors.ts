// The configuration's typed error: located diagnostics for a file, named
// problems for the environment, the flags and the sections' combined checks.
import { BpfgateError, type Diagnostic, formatDiagnostic } from '../errors.ts';

/** The configuration is invalid: located diagnostics for the file, named problems for the rest. */
export class ConfigError extends BpfgateError {
  readonly diagnostics: Diagnostic[];
  readonly problems: string[];
  constructor(diagnostics: Diagnostic[], problems: string[] = []) {
    const lines = [...diagnostics.map(formatDiagnostic), ...problems];
    super('INVALID_CONFIG', `invalid configuration, ${lines.length} error(s):\n${lines.join('\n')}`);
    this.diagnostics = diagnostics;
    this.problems = problems;
  }
}
