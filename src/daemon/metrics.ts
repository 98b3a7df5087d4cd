// Prometheus metrics (prom-client, a registry of our own, never the global
// one) and the /status document, both read from a DaemonView: the daemon, or
// a fake in tests. Values kept elsewhere (kernel, pipeline, sink) are read at
// scrape time; violations are counted by an output the service hands to the
// daemon.
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { REPORTED_CAPACITY } from '../abi/capacity.ts';
import type { FeatureSet } from '../abi/features.ts';
import { Outcome, REPEAT_KEYS_MAX } from '../abi/layout.ts';
import type { Plan } from '../abi/plan.ts';
import { type RungState, rungsOf } from '../doctor/rungs.ts';
import type { BpfgateEvent } from '../events/types.ts';
import type { ProtectStatus } from '../kernel/protect.ts';
import type { PacketCount, StatsSnapshot } from '../kernel/session.ts';
import type { SinkStats } from '../sinks/nats.ts';
import type { EventOutput } from '../sinks/sink.ts';
import type { PipelineCounters } from './pipeline.ts';

/** What metrics and /status read of a daemon. `Daemon` implements it. */
export interface DaemonView {
  readonly enforcing: boolean;
  /** why events are not read from the kernel now (a retry is scheduled); null while they are */
  readonly readingStopped: string | null;
  readonly plan: Plan | null;
  /** the kernel's features, as probed at start */
  readonly features: FeatureSet | null;
  readonly counters: Readonly<{ reloads: number; reloadFailures: number }>;
  readonly mode: 'enforce' | 'audit';
  readonly host: string;
  pipelineCounters(): Readonly<PipelineCounters> | null;
  sinkStats(): SinkStats | null;
  kernelStats(): StatsSnapshot | null;
  /** policy name → its cgroup selectors that select no cgroup (none: {}) */
  unmatchedCgroups?(): Record<string, string[]>;
  /** executables exceptions pin by SHA-256 whose file is not verified now, and why (their exceptions do not apply) */
  unverifiedExecutables?(): { path: string; reason: string }[];
  /** counters of packet rules by rule id (null: none) */
  packetCounts(): Map<number, PacketCount> | null;
  /** self-protection: its rung, programs and what it could not arm (null: not armed) */
  protection?(): ProtectStatus | null;
}

/** Entries the plan writes into each map with a reported capacity (one generation). */
export function mapEntries(plan: Plan | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of plan?.maps ?? [])
    if (m.map in REPORTED_CAPACITY) out[m.map] = (out[m.map] ?? 0) + m.entries.length;
  return out;
}

/** Rules by achieved enforcement and mechanism ("block/cgroup", "audit/none"...). */
export function rulesByEnforcement(plan: Plan | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of plan?.rules ?? []) {
    const k = `${r.dryRun ? 'audit' : r.achieved}/${r.mechanism ?? 'none'}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/**
 * A value kept elsewhere (kernel, pipeline, sink), read at scrape time: a
 * counter for cumulative values, a gauge for levels. null: no sample.
 */
function scalar(
  registry: Registry,
  type: 'counter' | 'gauge',
  name: string,
  help: string,
  read: () => number | null,
): void {
  const config = { name, help, registers: [registry] };
  if (type === 'counter') {
    new Counter({
      ...config,
      collect() {
        const v = read();
        this.reset();
        if (v !== null) this.inc(v);
      },
    });
  } else {
    new Gauge({
      ...config,
      collect() {
        const v = read();
        this.reset();
        if (v !== null) this.set(v);
      },
    });
  }
}

/** A gauge with labels, its series rebuilt at every scrape. */
function labelledGauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => [Record<string, string>, number][],
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.set(labels, value);
    },
  });
}

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly #violations: Counter<'policy' | 'rule' | 'outcome'>;
  readonly #events: Counter<'type'>;
  #view: DaemonView | null = null;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const r = this.registry;
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: r, prefix: 'bpfgate_' });
    // counted per event in plain maps (count()), handed to prom-client when it is read
    const flush = () => this.#flushCounts();
    this.#violations = new Counter({
      name: 'bpfgate_violations_total',
      help: `Violations by policy, rule and outcome (${Object.keys(Outcome).join(', ')})`,
      labelNames: ['policy', 'rule', 'outcome'],
      registers: [r],
      collect: flush,
    });
    this.#events = new Counter({
      name: 'bpfgate_events_total',
      help: 'Events handed to the outputs, by type (violation, loss, policy_error, tamper)',
      labelNames: ['type'],
      registers: [r],
      collect: flush,
    });
    const v = () => this.#view;
    const kernel = (k: keyof StatsSnapshot) => () => {
      const s = v()?.kernelStats();
      return s && s[k] !== undefined ? Number(s[k]) : null;
    };
    const pipe = (k: keyof PipelineCounters) => () => v()?.pipelineCounters()?.[k] ?? null;
    const sink = (read: (s: SinkStats) => number) => () => {
      const s = v()?.sinkStats();
      return s ? read(s) : null;
    };
    // [counter or gauge, name, help, read at scrape time]
    const scalars: ['counter' | 'gauge', string, string, () => number | null][] = [
      [
        'gauge',
        'bpfgate_enforcing',
        '1 while the policy set is loaded and attached',
        () => (v()?.enforcing ? 1 : 0),
      ],
      [
        'gauge',
        'bpfgate_reading_events',
        '1 while events are read from the kernel ring buffer (0: a read error stopped it, a retry is scheduled)',
        () => (v() && v()!.readingStopped === null ? 1 : 0),
      ],
      [
        'counter',
        'bpfgate_reloads_total',
        'Policy reloads that took effect',
        () => v()?.counters.reloads ?? 0,
      ],
      [
        'counter',
        'bpfgate_reload_failures_total',
        'Policy reloads rejected (the running set stayed)',
        () => v()?.counters.reloadFailures ?? 0,
      ],
      [
        'counter',
        'bpfgate_ringbuf_drops_total',
        'Records the kernel could not put in the ring buffer',
        kernel('ringbufDrops'),
      ],
      [
        'counter',
        'bpfgate_kernel_events_total',
        'Records the kernel wrote to the ring buffer',
        kernel('events'),
      ],
      ['counter', 'bpfgate_kernel_denied_total', 'Actions the kernel programs denied', kernel('denied')],
      ['counter', 'bpfgate_kernel_killed_total', 'Processes the kernel programs killed', kernel('killed')],
      [
        'counter',
        'bpfgate_audit_followups_total',
        'Dry runs: would-block or would-kill execs that followed one already reported for the same rule in the same process chain (counted, not recorded: once enforced they would not happen)',
        kernel('auditFollowups'),
      ],
      [
        'counter',
        'bpfgate_cgroup_scope_full_total',
        'Cgroups made after the set was applied that a selector matched but that could not be put in scope: a scope map was full (raise the capacity or narrow the selectors)',
        kernel('cgroupScopeFull'),
      ],
      [
        'counter',
        'bpfgate_kernel_repeats_total',
        'Violations the kernel counted without a record: a process repeating one violation past 16 records a second; the next event of the same process and rule (or a sweep) carries them in its count',
        kernel('repeats'),
      ],
      [
        'gauge',
        'bpfgate_kernel_repeat_keys',
        `Processes and violations the kernel is counting repeats of (bg_repeats, at the last sweep); at ${REPEAT_KEYS_MAX} a new one gets a record for every attempt`,
        kernel('repeatKeys'),
      ],
      ['counter', 'bpfgate_records_total', 'Ring-buffer records read', pipe('records')],
      [
        'counter',
        'bpfgate_decode_errors_total',
        'Ring-buffer records that did not decode (skipped)',
        pipe('decodeErrors'),
      ],
      [
        'counter',
        'bpfgate_emit_errors_total',
        'Events lost to an error while they were built or handed to an output',
        pipe('emitErrors'),
      ],
      [
        'counter',
        'bpfgate_events_lost_total',
        'Events reported lost (the counts of loss events)',
        pipe('losses'),
      ],
      ['gauge', 'bpfgate_nats_connected', '1 while connected to NATS', sink((s) => (s.connected ? 1 : 0))],
      ['counter', 'bpfgate_nats_published_total', 'Events acknowledged by NATS', sink((s) => s.published)],
      [
        'counter',
        'bpfgate_nats_publish_failures_total',
        'Failed publish attempts',
        sink((s) => s.publishFailures),
      ],
      ['counter', 'bpfgate_nats_reconnects_total', 'Reconnections to NATS', sink((s) => s.reconnects)],
      [
        'gauge',
        'bpfgate_nats_queue_events',
        'Events waiting in memory for the publisher',
        sink((s) => s.queued),
      ],
      [
        'counter',
        'bpfgate_nats_queue_dropped_total',
        'Events dropped: in-memory queue full',
        sink((s) => s.queueDropped),
      ],
      [
        'gauge',
        'bpfgate_spool_pending_events',
        'Events in the on-disk spool not yet acknowledged',
        sink((s) => s.spool?.pending ?? 0),
      ],
      ['gauge', 'bpfgate_spool_bytes', 'Bytes in the on-disk spool', sink((s) => s.spool?.bytes ?? 0)],
      [
        'counter',
        'bpfgate_spool_events_total',
        'Events written to the on-disk spool while NATS could not take them',
        sink((s) => s.spooled),
      ],
      [
        'counter',
        'bpfgate_spool_replayed_total',
        'Spooled events published once NATS took them again',
        sink((s) => s.replayed),
      ],
      [
        'counter',
        'bpfgate_spool_dropped_total',
        'Events dropped: spool full or absent',
        sink((s) => s.spoolDropped),
      ],
      [
        'gauge',
        'bpfgate_rules_downgraded',
        'Loaded rules enforced more weakly than asked',
        () => v()?.plan?.rules.filter((x) => x.downgraded).length ?? null,
      ],
    ];
    for (const [type, name, help, read] of scalars) scalar(r, type, name, help, read);
    labelledGauge(
      r,
      'bpfgate_map_entries',
      'Entries the loaded plan writes into each map (one generation)',
      ['map'],
      () => Object.entries(mapEntries(v()?.plan ?? null)).map(([map, n]) => [{ map }, n]),
    );
    labelledGauge(r, 'bpfgate_map_capacity', 'Entries one generation may write into each map', ['map'], () =>
      Object.entries(REPORTED_CAPACITY).map(([map, n]) => [{ map }, n]),
    );
    labelledGauge(
      r,
      'bpfgate_enforcement_rung',
      'The ladder on this kernel: 1 where a rung works (BPF-LSM, fmod_ret, cgroup hooks, tracepoint kill, kprobe audit)',
      ['rung'],
      () => {
        const f = v()?.features;
        return f ? rungsOf(f).map((x) => [{ rung: x.name }, x.available ? 1 : 0]) : [];
      },
    );
    labelledGauge(
      r,
      'bpfgate_rules',
      'Loaded rules by achieved enforcement (block, kill, kill-after, audit, allow, unavailable) and mechanism',
      ['achieved', 'mechanism'],
      () =>
        Object.entries(rulesByEnforcement(v()?.plan ?? null)).map(([k, n]) => {
          const [achieved = '', mechanism = ''] = k.split('/');
          return [{ achieved, mechanism }, n];
        }),
    );
    labelledGauge(
      r,
      'bpfgate_packet_rule_matches',
      'What matched each ingress and egress rule since it was loaded: packets, bytes, events (at most one per second per CPU) and suppressed (not reported as events)',
      ['policy', 'rule', 'count'],
      () => {
        const out: [Record<string, string>, number][] = [];
        for (const [id, c] of v()?.packetCounts() ?? []) {
          const r = v()?.plan?.rules.find((x) => x.ruleId === id);
          if (!r) continue;
          for (const count of ['packets', 'bytes', 'events', 'suppressed'] as const)
            out.push([{ policy: r.policy, rule: r.rule, count }, Number(c[count])]);
        }
        return out;
      },
    );
  }

  /** Read the daemon's state at scrape time. */
  observe(view: DaemonView): void {
    this.#view = view;
  }

  /** An output that counts events as they leave the pipeline. */
  output(): EventOutput {
    return { publish: (e) => this.count(e) };
  }

  /** events by type, and violations by policy, rule and outcome, since prom-client last took them */
  #eventCounts = new Map<string, number>();
  #violationCounts = new Map<
    string,
    { labels: { policy: string; rule: string; outcome: string }; n: number }
  >();

  /** One event: two map updates (prom-client's labelled inc() per event cost more than the rest of this path). */
  count(e: BpfgateEvent): void {
    this.#eventCounts.set(e.type, (this.#eventCounts.get(e.type) ?? 0) + 1);
    if (e.type !== 'violation') return;
    const key = `${e.policy.name}\u0000${e.policy.rule}\u0000${e.outcome}`;
    const c = this.#violationCounts.get(key);
    if (c) c.n += e.count ?? 1;
    else
      this.#violationCounts.set(key, {
        labels: { policy: e.policy.name, rule: e.policy.rule, outcome: e.outcome },
        n: e.count ?? 1,
      });
  }

  #flushCounts(): void {
    for (const [type, n] of this.#eventCounts) this.#events.inc({ type }, n);
    this.#eventCounts.clear();
    for (const { labels, n } of this.#violationCounts.values()) this.#violations.inc(labels, n);
    this.#violationCounts.clear();
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The /status document (also what `bpfgate status` prints). */
export interface StatusDocument {
  enforcing: boolean;
  /** why events are not read from the kernel now; null while they are (absent from older daemons) */
  readingStopped?: string | null;
  mode: 'enforce' | 'audit';
  host: string;
  /** the kernel as probed at start: its release and the ladder's rungs (null before the probe) */
  kernel: { release: string; rungs: RungState[] } | null;
  policies: {
    name: string;
    slot: number;
    mode: 'enforce' | 'audit';
    /** cgroup selectors that selected no cgroup when the set was applied: the policy applies to none of them */
    unmatchedCgroups: string[];
    rules: {
      rule: string;
      kind: string;
      action: string;
      achieved: string;
      mechanism: string | null;
      dryRun: boolean;
      downgraded: boolean;
      reason: string;
      /** ingress and egress rules: what matched them since they were loaded */
      packets?: { packets: number; bytes: number; events: number; suppressed: number };
    }[];
  }[];
  counters: Record<string, number>;
  nats: {
    connected: boolean;
    /** delivery: ok (everything acknowledged or in flight), failing (connecting or publishing fails) */
    delivery: 'ok' | 'failing';
    published: number;
    publishFailures: number;
    queued: number;
    queueDropped: number;
    spoolPending: number;
    spoolBytes: number;
    spoolDropped: number;
    /** the last failure, kept after a recovery */
    lastError: { message: string; at: string } | null;
    /** when the oldest event not yet delivered arrived; null: nothing waits */
    oldestUndelivered: string | null;
  } | null;
  maps: Record<string, { entries: number; capacity: number | null }>;
  /**
   * executables exceptions pin by SHA-256 whose file is not verified now, and
   * why: exceptions pinned to them do not apply (absent from older daemons)
   */
  unverifiedExecutables?: { path: string; reason: string }[];
  /** self-protection: which rung protects (lsm, fmod_ret), its programs, the checks not armed; null: not armed */
  protection?: ProtectStatus | null;
}

export function statusOf(view: DaemonView): StatusDocument {
  const plan = view.plan;
  const k = view.kernelStats();
  const p = view.pipelineCounters();
  const s = view.sinkStats();
  const unmatched = view.unmatchedCgroups?.() ?? {};
  const counts = view.packetCounts();
  const packetsOf = (ruleId: number) => {
    const c = counts?.get(ruleId);
    if (!c) return {};
    const n = (x: bigint) => Number(x);
    return {
      packets: { packets: n(c.packets), bytes: n(c.bytes), events: n(c.events), suppressed: n(c.suppressed) },
    };
  };
  const maps: StatusDocument['maps'] = {};
  for (const [map, entries] of Object.entries(mapEntries(plan)))
    maps[map] = { entries, capacity: REPORTED_CAPACITY[map] ?? null };
  return {
    enforcing: view.enforcing,
    readingStopped: view.readingStopped,
    mode: view.mode,
    host: view.host,
    kernel: view.features ? { release: view.features.kernelRelease, rungs: rungsOf(view.features) } : null,
    policies: (plan?.policies ?? []).map((pol) => ({
      name: pol.name,
      slot: pol.slot,
      mode: pol.mode,
      unmatchedCgroups: unmatched[pol.name] ?? [],
      rules: plan!.rules
        .filter((r) => r.policy === pol.name)
        .map((r) => ({
          rule: r.rule,
          kind: r.kind,
          action: r.action,
          achieved: r.achieved,
          mechanism: r.mechanism,
          dryRun: r.dryRun,
          downgraded: r.downgraded,
          reason: r.reason,
          ...packetsOf(r.ruleId),
        })),
    })),
    counters: {
      reloads: view.counters.reloads,
      reloadFailures: view.counters.reloadFailures,
      records: p?.records ?? 0,
      decodeErrors: p?.decodeErrors ?? 0,
      emitErrors: p?.emitErrors ?? 0,
      events: p?.events ?? 0,
      losses: p?.losses ?? 0,
      kernelEvents: k ? Number(k.events) : 0,
      ringbufDrops: k ? Number(k.ringbufDrops) : 0,
      denied: k ? Number(k.denied) : 0,
      killed: k ? Number(k.killed) : 0,
    },
    nats: s
      ? {
          connected: s.connected,
          delivery: s.failing ? 'failing' : 'ok',
          published: s.published,
          publishFailures: s.publishFailures,
          queued: s.queued,
          queueDropped: s.queueDropped,
          spoolPending: s.spool?.pending ?? 0,
          spoolBytes: s.spool?.bytes ?? 0,
          spoolDropped: s.spoolDropped,
          lastError: s.lastError,
          oldestUndelivered: s.oldestUndelivered,
        }
      : null,
    maps,
    unverifiedExecutables: view.unverifiedExecutables?.() ?? [],
    protection: view.protection?.() ?? null,
  };
}
