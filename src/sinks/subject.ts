// NATS subjects for events:
//   bpfgate.v1.<host>.<kind>.<outcome>   a violation
//   bpfgate.v1.<host>._loss              a loss report
//   bpfgate.v1.<host>._policy_error      a rejected policy reload
//   bpfgate.v1.<host>._tamper            self-protection refused an attempt on bpfgate
// A violation subject has five tokens and the others four, so
// `bpfgate.v1.*.*.*` selects violations only and `bpfgate.v1.>` everything.
import type { BpfgateEvent } from '../events/types.ts';

export const DEFAULT_SUBJECT_PREFIX = 'bpfgate.v1';

/**
 * One subject token from a free-form name (a host name): lower case, every
 * character outside [a-z0-9_-] (dots, wildcards, spaces) becomes '_'.
 * "web-1.example.com" -> "web-1_example_com".
 */
export function subjectToken(name: string): string {
  const t = name.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
  return t.length > 0 ? t.slice(0, 128) : 'unknown';
}

/** A valid prefix: dot-separated tokens without wildcards or spaces. */
export function isValidPrefix(prefix: string): boolean {
  return /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix);
}

export function subjectFor(event: BpfgateEvent, prefix = DEFAULT_SUBJECT_PREFIX): string {
  const host = subjectToken(event.host);
  switch (event.type) {
    case 'violation':
      return `${prefix}.${host}.${event.kind}.${event.outcome}`;
    case 'loss':
      return `${prefix}.${host}._loss`;
    case 'policy_error':
      return `${prefix}.${host}._policy_error`;
    case 'tamper':
      return `${prefix}.${host}._tamper`;
  }
}
