// The shipped monitoring files name only metrics the daemon exports: every
// PromQL expression of the Grafana dashboard (panels and variables) and of
// the Prometheus alert rules, read against the names of a real DaemonMetrics
// registry (histograms and summaries with their series suffixes). The alert
// rules' behaviour is tested by promtool (test/ecosystem/prometheus.test.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DaemonMetrics } from '../../../src/daemon/metrics.ts';
import { ROOT } from '../../support/paths.ts';
import { metricNames } from '../../support/promql.ts';

/** Every series name the daemon's registry can expose. */
async function exported(): Promise<Set<string>> {
  const names = new Set<string>(['up']); // Prometheus's own per-target series
  for (const m of await new DaemonMetrics().registry.getMetricsAsJSON()) {
    names.add(m.name);
    const type = String(m.type);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(`${m.name}${s}`);
  }
  return names;
}

/** Every `expr` (and variable query) anywhere in a dashboard, with where it is. */
function dashboardExprs(node: unknown, where: string, out: [string, string][] = []): [string, string][] {
  if (Array.isArray(node)) {
    for (const [i, x] of node.entries()) dashboardExprs(x, `${where}[${i}]`, out);
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'expr' || k === 'definition') && typeof v === 'string') out.push([`${where}.${k}`, v]);
      else dashboardExprs(v, `${where}.${k}`, out);
    }
  }
  return out;
}

describe('metricNames', () => {
  it('keeps metric names and drops functions, labels, ranges, keywords and variables', () => {
    expect(
      metricNames(
        'topk(10, sum by (policy, rule) (increase(bpfgate_violations_total{instance=~"$instance", x="a b"}[$__range])))',
      ),
    ).toEqual(['bpfgate_violations_total']);
    expect(
      metricNames('bpfgate_map_entries / on(instance, map) group_left bpfgate_map_capacity > 0.8'),
    ).toEqual(['bpfgate_map_entries', 'bpfgate_map_capacity']);
    expect(metricNames('label_values(bpfgate_enforcing, instance)')).toEqual([
      'bpfgate_enforcing',
      'instance',
    ]);
  });
});

describe('the Grafana dashboard', () => {
  const dash = JSON.parse(readFileSync(`${ROOT}packaging/grafana/bpfgate-dashboard.json`, 'utf8'));

  it('uses only metrics the daemon exports, in every expression', async () => {
    const names = await exported();
    const exprs = dashboardExprs(dash, 'dashboard');
    expect(exprs.length).toBeGreaterThan(25);
    const unknown: string[] = [];
    for (const [where, expr] of exprs) {
      // label_values(metric, label): the second argument is a label
      const read = metricNames(expr.replace(/^label_values\(([^,]+),[^)]*\)$/, '$1'));
      expect(read.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const n of read) if (!names.has(n)) unknown.push(`${where}: ${n}`);
    }
    expect(unknown).toEqual([]);
  });

  it('shows every bpfgate metric of its own (not the process ones) somewhere', async () => {
    const used = new Set(dashboardExprs(dash, 'd').flatMap(([, e]) => metricNames(e)));
    const own = [...(await exported())].filter(
      (n) => n.startsWith('bpfgate_') && !/^bpfgate_(process|nodejs)_/.test(n),
    );
    expect(own.filter((n) => !used.has(n))).toEqual([]);
  });

  it('has unique panel ids and a panel for each target', () => {
    const ids = dash.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dash.panels.filter((x: { type: string }) => x.type !== 'row'))
      expect(p.targets.length, p.title).toBeGreaterThan(0);
  });
});

describe('the Prometheus alert rules', () => {
  const rules = parse(readFileSync(`${ROOT}packaging/prometheus/bpfgate.rules.yml`, 'utf8')) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  const alerts = rules.groups.flatMap((g) => g.rules);

  it('read only metrics the daemon exports', async () => {
    const names = await exported();
    for (const a of alerts) {
      const read = metricNames(a.expr);
      expect(read.length, a.alert).toBeGreaterThan(0);
      expect(
        read.filter((n) => !names.has(n)),
        a.alert,
      ).toEqual([]);
    }
  });

  it('are each tested by promtool, firing and quiet', () => {
    const tests = parse(readFileSync(`${ROOT}packaging/prometheus/bpfgate.rules.test.yml`, 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const a of alerts) {
      expect(
        cases.some((c) => c.alertname === a.alert && c.exp_alerts.length > 0),
        `${a.alert} fires`,
      ).toBe(true);
      expect(
        cases.some((c) => c.alertname === a.alert && c.exp_alerts.length === 0),
        `${a.alert} quiet`,
      ).toBe(true);
    }
  });

  it('cover the alerts docs/operations.md lists', () => {
    const doc = readFileSync(`${ROOT}docs/operations.md`, 'utf8');
    for (const a of alerts) expect(doc, a.alert).toContain(a.alert);
  });
});
