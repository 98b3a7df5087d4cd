// Typed errors. One class per condition, each with a stable `code`; tests
// assert the class and the code, never the message text.

/** Where something was written: a file and a 1-based line and column. */
export interface SourcePos {
  file: string;
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
}

export class BpfgateError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One located problem in a policy set (or config file). */
export interface Diagnostic {
  /** stable, upper-snake-case, e.g. UNKNOWN_KEY, INVALID_CIDR */
  code: string;
  message: string;
  severity: 'error' | 'warning';
  pos: SourcePos;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.pos.file}:${d.pos.line}:${d.pos.column}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message} [${d.code}]`;
}

/** A policy set (or config) that failed validation: nothing of it is used. */
export class ValidationError extends BpfgateError {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    super(
      'INVALID_POLICY_SET',
      `${diagnostics.length} error(s):\n${diagnostics.map(formatDiagnostic).join('\n')}`,
    );
    this.diagnostics = diagnostics;
  }
}

/** Bad command-line usage (exit code 2). */
export class UsageError extends BpfgateError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** The process lacks a privilege bpfgate needs (root, CAP_BPF, CAP_SYS_ADMIN...). */
export class PrivilegeError extends BpfgateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PRIVILEGE', message, options);
  }
}

/** `--require-enforcement`: a rule would be enforced more weakly than asked. */
export class EnforcementDowngradeError extends BpfgateError {
  readonly rules: string[];
  constructor(rules: string[]) {
    super(
      'ENFORCEMENT_DOWNGRADED',
      `refusing to start: ${rules.length} rule(s) would be enforced more weakly than asked:\n  ${rules.join('\n  ')}`,
    );
    this.rules = rules;
  }
}
