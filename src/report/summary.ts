// The audit report's summariser: native events in, per policy and rule how
// often each outcome happened (the would-* of audit mode above all), the top
// executables and cgroups, first and last seen. Pure: no I/O, no clock.

import type { OutcomeName } from '../abi/layout.ts';
import { BpfgateError } from '../errors.ts';
import type { BpfgateEvent, ViolationEvent } from '../events/types.ts';

/** Every outcome (src/abi/layout.ts), audit mode's first: what enforcing would have stopped. */
export const OUTCOMES = [
  'would-block',
  'would-kill',
  'would-kill-after',
  'denied',
  'killed',
  'killed-after',
  'allowed',
] as const satisfies readonly OutcomeName[];
export type ReportOutcome = (typeof OUTCOMES)[number];

export const DEFAULT_TOP = 5;

export interface Ranked {
  name: string;
  count: number;
}

export interface RuleSummary {
  policy: string;
  rule: string;
  kind: string;
  severity: string;
  /** what the rule asked for: block, kill or audit */
  action: string;
  total: number;
  outcomes: Record<ReportOutcome, number>;
  executables: Ranked[];
  cgroups: Ranked[];
  hosts: Ranked[];
  /** RFC 3339 */
  firstSeen: string;
  lastSeen: string;
}

export interface PolicySummary {
  name: string;
  total: number;
  outcomes: Record<ReportOutcome, number>;
  rules: RuleSummary[];
  firstSeen: string;
  lastSeen: string;
}

export interface Report {
  /** the range asked for (RFC 3339), null: open */
  since: string | null;
  until: string | null;
  /** violations counted (an aggregated event counts `count` times) */
  violations: number;
  outcomes: Record<ReportOutcome, number>;
  policies: PolicySummary[];
  hosts: Ranked[];
  /** events lost before they reached the source, by where (ringbuf, queue, spool) */
  losses: Record<string, number>;
  policyErrors: number;
  /** attempts on bpfgate that self-protection refused (tamper events) */
  tamperRefusals: number;
  firstSeen: string | null;
  lastSeen: string | null;
  /** input that was not a native bpfgate event (bad JSON, OCSF, other) */
  unreadable: number;
  /** events outside the range */
  outOfRange: number;
}

export interface SummaryOptions {
  /** epoch milliseconds, inclusive; null: open */
  sinceMs: number | null;
  /** epoch milliseconds, exclusive; null: open */
  untilMs: number | null;
  top?: number;
}

function noOutcomes(): Record<ReportOutcome, number> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<ReportOutcome, number>;
}

/** Nanosecond decimal string → epoch milliseconds. */
function ms(ns: string): number {
  return Number(BigInt(ns) / 1_000_000n);
}

interface RuleAcc {
  s: Omit<RuleSummary, 'executables' | 'cgroups' | 'hosts' | 'firstSeen' | 'lastSeen'>;
  exe: Map<string, number>;
  cg: Map<string, number>;
  host: Map<string, number>;
  first: bigint;
  last: bigint;
}

function bump(m: Map<string, number>, k: string, n: number): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

function ranked(m: Map<string, number>, top: number): Ranked[] {
  return [...m.entries()]
    .map(([name, count]) => ({ name, count }))
    .sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : 1))
    .slice(0, top);
}

function iso(ns: bigint): string {
  const whole = new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19);
  return `${whole}.${String(ns % 1_000_000_000n).padStart(9, '0')}Z`;
}

/** Is this parsed JSON a native bpfgate event? */
export function isNativeEvent(v: unknown): v is BpfgateEvent {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    e.schemaVersion === '1.0' &&
    typeof e.timeNs === 'string' &&
    /^\d+$/.test(e.timeNs) &&
    (e.type === 'violation' || e.type === 'loss' || e.type === 'policy_error' || e.type === 'tamper')
  );
}

/** Accumulates events one at a time (a stream can be long); `result()` at the end. */
export class Summariser {
  readonly #o: SummaryOptions;
  readonly #top: number;
  readonly #rules = new Map<string, RuleAcc>();
  readonly #hosts = new Map<string, number>();
  readonly #losses: Record<string, number> = {};
  #policyErrors = 0;
  #tamperRefusals = 0;
  #unreadable = 0;
  #outOfRange = 0;

  constructor(o: SummaryOptions) {
    this.#o = o;
    this.#top = o.top ?? DEFAULT_TOP;
  }

  /** Input that is not a native event (a line that did not parse, an OCSF event...). */
  unreadable(n = 1): void {
    this.#unreadable += n;
  }

  /** One parsed value (anything: it is checked). */
  add(value: unknown): void {
    if (!isNativeEvent(value)) {
      this.#unreadable++;
      return;
    }
    const t = ms(value.timeNs);
    if (
      (this.#o.sinceMs !== null && t < this.#o.sinceMs) ||
      (this.#o.untilMs !== null && t >= this.#o.untilMs)
    ) {
      this.#outOfRange++;
      return;
    }
    if (value.type === 'loss') {
      this.#losses[value.loss.source] = (this.#losses[value.loss.source] ?? 0) + value.loss.count;
    } else if (value.type === 'policy_error') {
      this.#policyErrors++;
    } else if (value.type === 'tamper') {
      for (const n of Object.values(value.tamper.refused)) this.#tamperRefusals += n;
    } else this.#violation(value);
  }

  #violation(e: ViolationEvent): void {
    const n = e.count ?? 1;
    const key = `${e.policy.name}\u0000${e.policy.rule}`;
    let acc = this.#rules.get(key);
    const first = BigInt(e.firstTimeNs ?? e.timeNs);
    const last = BigInt(e.lastTimeNs ?? e.timeNs);
    if (!acc) {
      acc = {
        s: {
          policy: e.policy.name,
          rule: e.policy.rule,
          kind: e.kind,
          severity: e.policy.severity,
          action: e.action,
          total: 0,
          outcomes: noOutcomes(),
        },
        exe: new Map(),
        cg: new Map(),
        host: new Map(),
        first,
        last,
      };
      this.#rules.set(key, acc);
    }
    acc.s.total += n;
    if (e.outcome in acc.s.outcomes) acc.s.outcomes[e.outcome as ReportOutcome] += n;
    bump(acc.exe, e.process.executable ?? `[${e.process.comm}]`, n);
    bump(acc.cg, e.process.cgroup.path ?? `cgroup id ${e.process.cgroup.id}`, n);
    bump(acc.host, e.host, n);
    bump(this.#hosts, e.host, n);
    if (first < acc.first) acc.first = first;
    if (last > acc.last) acc.last = last;
  }

  result(): Report {
    const policies = new Map<string, PolicySummary & { f: bigint; l: bigint }>();
    const outcomes = noOutcomes();
    let violations = 0;
    let f: bigint | null = null;
    let l: bigint | null = null;
    for (const acc of this.#rules.values()) {
      const rule: RuleSummary = {
        ...acc.s,
        executables: ranked(acc.exe, this.#top),
        cgroups: ranked(acc.cg, this.#top),
        hosts: ranked(acc.host, this.#top),
        firstSeen: iso(acc.first),
        lastSeen: iso(acc.last),
      };
      let p = policies.get(rule.policy);
      if (!p) {
        p = {
          name: rule.policy,
          total: 0,
          outcomes: noOutcomes(),
          rules: [],
          firstSeen: '',
          lastSeen: '',
          f: acc.first,
          l: acc.last,
        };
        policies.set(rule.policy, p);
      }
      p.rules.push(rule);
      p.total += rule.total;
      violations += rule.total;
      for (const o of OUTCOMES) {
        p.outcomes[o] += rule.outcomes[o];
        outcomes[o] += rule.outcomes[o];
      }
      if (acc.first < p.f) p.f = acc.first;
      if (acc.last > p.l) p.l = acc.last;
      if (f === null || acc.first < f) f = acc.first;
      if (l === null || acc.last > l) l = acc.last;
    }
    const list = [...policies.values()]
      .map(({ f: pf, l: pl, ...p }) => ({
        ...p,
        firstSeen: iso(pf),
        lastSeen: iso(pl),
        rules: p.rules.sort((a, b) => b.total - a.total || (a.rule < b.rule ? -1 : 1)),
      }))
      .sort((a, b) => b.total - a.total || (a.name < b.name ? -1 : 1));
    return {
      since: this.#o.sinceMs === null ? null : new Date(this.#o.sinceMs).toISOString(),
      until: this.#o.untilMs === null ? null : new Date(this.#o.untilMs).toISOString(),
      violations,
      outcomes,
      policies: list,
      hosts: ranked(this.#hosts, this.#top),
      losses: { ...this.#losses },
      policyErrors: this.#policyErrors,
      tamperRefusals: this.#tamperRefusals,
      firstSeen: f === null ? null : iso(f),
      lastSeen: l === null ? null : iso(l),
      unreadable: this.#unreadable,
      outOfRange: this.#outOfRange,
    };
  }
}

/** Summarise a list of parsed values at once. */
export function summarise(values: Iterable<unknown>, o: SummaryOptions): Report {
  const s = new Summariser(o);
  for (const v of values) s.add(v);
  return s.result();
}

export class TimeSpecError extends BpfgateError {
  constructor(message: string) {
    super('INVALID_TIME', message);
  }
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** --since / --until: RFC 3339, a date (YYYY-MM-DD, UTC), or a duration before `nowMs` (30m, 24h, 7d, 2w). */
export function parseTimeSpec(spec: string, nowMs: number): number {
  const rel = /^(\d+)([smhdw])$/.exec(spec);
  if (rel) return nowMs - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  if (RFC3339.test(spec) || /^\d{4}-\d{2}-\d{2}$/.test(spec)) {
    const t = Date.parse(spec);
    if (!Number.isNaN(t)) return t;
  }
  throw new TimeSpecError(
    `'${spec}' is neither RFC 3339 (2026-11-24T08:00:00Z), a date (2026-11-24) nor a duration (30m, 24h, 7d)`,
  );
}
