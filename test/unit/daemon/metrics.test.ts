// The metrics registry and the endpoint's request handler, reading a fake
// daemon (no socket here: test/host/daemon-metrics.test.ts serves the real
// daemon over HTTP).
import { describe, expect, it } from 'vitest';
import type { Plan, PlannedRule } from '../../../src/abi/plan.ts';
import { renderStatus } from '../../../src/cli/commands/status.ts';
import { handle, ListenAddressError, parseListen } from '../../../src/daemon/http.ts';
import { DaemonMetrics, type DaemonView, type StatusDocument } from '../../../src/daemon/metrics.ts';
import type { PipelineCounters } from '../../../src/daemon/pipeline.ts';
import type { ViolationEvent } from '../../../src/events/types.ts';
import type { SinkStats } from '../../../src/sinks/nats.ts';
import { rule } from '../../support/events.ts';
import { FMOD_RET } from '../../support/features.ts';

function plan(): Plan {
  const rules: PlannedRule[] = [
    rule('socket', { policy: 'net', rule: 'raw', ruleId: 0, achieved: 'block', mechanism: 'cgroup' }),
    rule('exec', {
      policy: 'net',
      rule: 'shells',
      ruleId: 1,
      achieved: 'kill',
      mechanism: 'tracepoint',
      downgraded: true,
      action: 'block',
    }),
  ];
  return {
    formatVersion: 1,
    features: 'test',
    policies: [{ slot: 0, name: 'net', mode: 'enforce', cgroups: [], exceptionsCgroups: [] }],
    rules,
    programs: [],
    maps: [
      {
        map: 'bg_rules',
        entries: [
          { key: '00', value: '00' },
          { key: '01', value: '00' },
        ],
      },
      { map: 'bg_path_rules', entries: [{ key: '02', value: '00' }] },
      // one configuration record per generation, always 1 of 1: not a capacity a set grows into
      { map: 'bg_gen_config', entries: [{ key: '00', value: '00' }] },
    ],
    exeIds: {},
    warnings: [],
  };
}

function fake(
  over: Partial<DaemonView> = {},
): DaemonView & { counters: { reloads: number; reloadFailures: number } } {
  const counters = { reloads: 3, reloadFailures: 1 };
  const pipeline: PipelineCounters = { records: 40, emitErrors: 0, decodeErrors: 2, events: 38, losses: 5 };
  const sink = {
    connected: true,
    published: 30,
    publishFailures: 1,
    queued: 4,
    queueDropped: 0,
    spoolDropped: 6,
    reconnects: 2,
    spool: { pending: 9, bytes: 4096 },
  } as unknown as SinkStats;
  return {
    enforcing: true,
    readingStopped: null,
    plan: plan(),
    features: FMOD_RET,
    counters,
    mode: 'enforce',
    host: 'web-1',
    pipelineCounters: () => pipeline,
    sinkStats: () => sink,
    kernelStats: () => ({
      events: 50n,
      ringbufDrops: 7n,
      denied: 20n,
      killed: 1n,
      auditFollowups: 2n,
      cgroupScopeFull: 0n,
      repeats: 900n,
      repeatKeys: 3,
    }),
    packetCounts: () => null,
    ...over,
  };
}

function violation(outcome: ViolationEvent['outcome'], count?: number): ViolationEvent {
  return {
    type: 'violation',
    policy: { name: 'net', rule: 'raw', severity: 'high', tags: [] },
    outcome,
    ...(count !== undefined ? { count } : {}),
  } as unknown as ViolationEvent;
}

/** value of a sample line `name{labels} value` in the exposition */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  async function serve(view: DaemonView, metrics = new DaemonMetrics({ processMetrics: false })) {
    metrics.observe(view);
    const fetch = async (path: string, init: { method?: string } = {}) => {
      const r = await handle(metrics, view, init.method ?? 'GET', path);
      return {
        status: r.status,
        headers: new Map([['content-type', r.type]]),
        text: async () => r.body,
        json: async () => JSON.parse(r.body) as unknown,
      };
    };
    return { metrics, fetch, base: '' };
  }

  it('exposes violations, kernel, pipeline, sink, reload, map and rule metrics', async () => {
    const { metrics, fetch, base } = await serve(fake());
    metrics.count(violation('denied'));
    metrics.count(violation('denied', 4));
    metrics.count(violation('would-block'));
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const t = await res.text();
    expect(sample(t, 'bpfgate_violations_total{policy="net",rule="raw",outcome="denied"}')).toBe(5);
    expect(sample(t, 'bpfgate_violations_total{policy="net",rule="raw",outcome="would-block"}')).toBe(1);
    expect(sample(t, 'bpfgate_events_total{type="violation"}')).toBe(3);
    // counted between scrapes: the next one adds them to what was exposed
    metrics.count(violation('denied', 2));
    const again = await (await fetch(`${base}/metrics`)).text();
    expect(sample(again, 'bpfgate_violations_total{policy="net",rule="raw",outcome="denied"}')).toBe(7);
    expect(sample(again, 'bpfgate_events_total{type="violation"}')).toBe(4);
    expect(sample(t, 'bpfgate_enforcing')).toBe(1);
    expect(sample(t, 'bpfgate_ringbuf_drops_total')).toBe(7);
    expect(sample(t, 'bpfgate_kernel_repeats_total')).toBe(900);
    expect(sample(t, 'bpfgate_kernel_repeat_keys')).toBe(3);
    expect(sample(t, 'bpfgate_decode_errors_total')).toBe(2);
    expect(sample(t, 'bpfgate_spool_pending_events')).toBe(9);
    expect(sample(t, 'bpfgate_spool_dropped_total')).toBe(6);
    expect(sample(t, 'bpfgate_nats_connected')).toBe(1);
    expect(sample(t, 'bpfgate_reloads_total')).toBe(3);
    expect(sample(t, 'bpfgate_reload_failures_total')).toBe(1);
    expect(sample(t, 'bpfgate_map_entries{map="bg_rules"}')).toBe(2);
    expect(sample(t, 'bpfgate_map_entries{map="bg_path_rules"}')).toBe(1);
    expect(sample(t, 'bpfgate_map_capacity{map="bg_rules"}')).toBeGreaterThan(2);
    // the shipped BpfgateMapsNearlyFull alert (entries / capacity > 0.8) stays quiet on a small set:
    // the fixed configuration array is not reported as a map to fill
    expect(sample(t, 'bpfgate_map_entries{map="bg_gen_config"}')).toBeUndefined();
    expect(sample(t, 'bpfgate_map_capacity{map="bg_gen_config"}')).toBeUndefined();
    for (const line of t.split('\n').filter((l) => l.startsWith('bpfgate_map_entries{'))) {
      const map = /map="([^"]+)"/.exec(line)![1];
      const ratio = Number(line.split(' ')[1]) / sample(t, `bpfgate_map_capacity{map="${map}"}`)!;
      expect(ratio, map).toBeLessThan(0.8);
    }
    expect(sample(t, 'bpfgate_rules{achieved="block",mechanism="cgroup"}')).toBe(1);
    expect(sample(t, 'bpfgate_rules{achieved="kill",mechanism="tracepoint"}')).toBe(1);
    expect(sample(t, 'bpfgate_rules_downgraded')).toBe(1);
    expect(t).toContain('# TYPE bpfgate_ringbuf_drops_total counter');
  });

  it('counters read elsewhere follow the source at every scrape', async () => {
    const view = fake();
    const { metrics } = await serve(view);
    expect(sample(await metrics.text(), 'bpfgate_reloads_total')).toBe(3);
    view.counters.reloads = 10;
    expect(sample(await metrics.text(), 'bpfgate_reloads_total')).toBe(10);
  });

  it('/healthz: 200 while enforcing, 503 otherwise', async () => {
    const view = fake();
    const { fetch, base } = await serve(view);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    (view as { enforcing: boolean }).enforcing = false;
    const down = await fetch(`${base}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.text()).toBe('not enforcing\n');
  });

  it('/status: policies with each rule’s achieved enforcement, counters, NATS, maps', async () => {
    const { fetch, base } = await serve(fake());
    const res = await fetch(`${base}/status`);
    expect(res.headers.get('content-type')).toBe('application/json');
    const s = (await res.json()) as StatusDocument;
    expect(s.enforcing).toBe(true);
    expect(s.host).toBe('web-1');
    expect(s.policies).toHaveLength(1);
    expect(s.policies[0]!.rules.map((r) => [r.rule, r.achieved, r.mechanism, r.downgraded])).toEqual([
      ['raw', 'block', 'cgroup', false],
      ['shells', 'kill', 'tracepoint', true],
    ]);
    expect(s.counters).toMatchObject({
      reloads: 3,
      reloadFailures: 1,
      ringbufDrops: 7,
      decodeErrors: 2,
      denied: 20,
    });
    expect(s.nats).toMatchObject({ connected: true, spoolPending: 9, spoolDropped: 6 });
    expect(s.maps.bg_rules?.entries).toBe(2);
  });

  it('a daemon without NATS or a plan yet', async () => {
    const { fetch, base } = await serve(
      fake({
        enforcing: false,
        plan: null,
        sinkStats: () => null,
        kernelStats: () => null,
        pipelineCounters: () => null,
      }),
    );
    const s = (await (await fetch(`${base}/status`)).json()) as StatusDocument;
    expect(s).toMatchObject({ enforcing: false, policies: [], nats: null, maps: {} });
    const t = await (await fetch(`${base}/metrics`)).text();
    expect(sample(t, 'bpfgate_enforcing')).toBe(0);
  });

  it('/healthz is 503 with the reason while a read error stops the ring reader; /status and a gauge say so', async () => {
    const reason = 'ring_buffer_poll: Input/output error (errno 5)';
    const ok = await serve(fake());
    expect(await (await ok.fetch('/healthz')).text()).toBe('enforcing\n');
    expect(sample(await (await ok.fetch('/metrics')).text(), 'bpfgate_reading_events')).toBe(1);
    const { fetch } = await serve(fake({ readingStopped: reason }));
    const h = await fetch('/healthz');
    expect(h.status).toBe(503);
    expect(await h.text()).toBe(`enforcing, but not reading events (retrying): ${reason}\n`);
    const s = (await (await fetch('/status')).json()) as StatusDocument;
    expect(s).toMatchObject({ enforcing: true, readingStopped: reason });
    expect(renderStatus(s)).toContain(`events: NOT READ from the kernel (retrying): ${reason}`);
    expect(sample(await (await fetch('/metrics')).text(), 'bpfgate_reading_events')).toBe(0);
  });

  it('/status and `bpfgate status` name the pinned executables not verified, with why', async () => {
    const unverified = [{ path: '/usr/bin/dpkg', reason: 'being written (open for writing)' }];
    const { fetch } = await serve(fake({ unverifiedExecutables: () => unverified }));
    const s = (await (await fetch('/status')).json()) as StatusDocument;
    expect(s.unverifiedExecutables).toEqual(unverified);
    expect(renderStatus(s)).toContain(
      'pinned executable NOT VERIFIED (its pinned exceptions do not apply): /usr/bin/dpkg: being written (open for writing)',
    );
    const none = (await (await (await serve(fake())).fetch('/status')).json()) as StatusDocument;
    expect(none.unverifiedExecutables).toEqual([]);
    expect(renderStatus(none)).not.toContain('NOT VERIFIED');
  });

  it('unknown paths are 404, other methods 405', async () => {
    const { fetch, base } = await serve(fake());
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('listen addresses', () => {
    expect(parseListen('127.0.0.1:9477')).toEqual({ host: '127.0.0.1', port: 9477 });
    expect(parseListen('[::1]:9477')).toEqual({ host: '::1', port: 9477 });
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseListen('9477')).toEqual({ host: '127.0.0.1', port: 9477 });
    for (const bad of [':9477', '127.0.0.1:99999', 'a b:1'])
      expect(() => parseListen(bad), bad).toThrow(ListenAddressError);
  });

  it('the default registry stays untouched (each DaemonMetrics has its own)', async () => {
    const a = new DaemonMetrics({ processMetrics: false });
    const b = new DaemonMetrics({ processMetrics: false });
    a.count(violation('denied'));
    expect(await b.text()).not.toContain('outcome="denied"');
  });
});
