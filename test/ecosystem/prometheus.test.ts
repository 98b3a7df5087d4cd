// Prometheus for real (Debian's prometheus and promtool): the shipped alert
// rules pass `promtool test rules` and `promtool check rules`; the shipped
// scrape example passes `promtool check config`; and a real Prometheus server,
// configured from that example with the rules loaded, scrapes the real daemon
// (`bpfgate run` in a child, a policy scoped to a test cgroup, KERNEL.md
// Safety) and evaluates `bpfgate_enforcing` to 1 through its query API, with
// every bpfgate alert loaded, healthy and inactive.
// NATS: none.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createCgroup, rawSocketPolicy, type TestCgroup } from '../support/cgroup.ts';
import { Child, runCommand } from '../support/child.ts';
import { DaemonProcess, scopedArgs } from '../support/daemon.ts';
import { ROOT } from '../support/paths.ts';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

const PACKAGING = `${ROOT}packaging/prometheus`;
const NAME = `bpfgate-prometheus-${process.pid}`;

describe('promtool on the shipped files', () => {
  it('the alert rules pass their unit tests', async () => {
    const r = await runCommand(['promtool', 'test', 'rules', 'bpfgate.rules.test.yml'], { cwd: PACKAGING });
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('the rules and the scrape example are valid', async () => {
    const rules = await runCommand(['promtool', 'check', 'rules', 'bpfgate.rules.yml'], { cwd: PACKAGING });
    expect(rules.code, rules.stdout + rules.stderr).toBe(0);
    const config = await runCommand(['promtool', 'check', 'config', 'prometheus.yml'], { cwd: PACKAGING });
    expect(config.code, config.stdout + config.stderr).toBe(0);
  });

  it('a broken expectation fails (the tests can fail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfgate-promtool-'));
    try {
      copyFileSync(`${PACKAGING}/bpfgate.rules.yml`, join(dir, 'bpfgate.rules.yml'));
      const tests = readFileSync(`${PACKAGING}/bpfgate.rules.test.yml`, 'utf8');
      writeFileSync(
        join(dir, 't.yml'),
        tests.replace('summary: "bpfgate on web-2:9477 is not enforcing"', 'summary: "x"'),
      );
      const r = await runCommand(['promtool', 'test', 'rules', 't.yml'], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toContain('BpfgateNotEnforcing');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface Query {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('Debian prometheus scraping a running daemon', () => {
  let cg: TestCgroup;
  let dir: string;
  let daemon: DaemonProcess | null = null;
  let prometheus: Child | null = null;
  let api: string;

  beforeAll(async () => {
    cg = createCgroup(NAME);
    dir = mkdtempSync(join(tmpdir(), 'bpfgate-prometheus-'));
    writeFileSync(join(dir, 'policy.yaml'), rawSocketPolicy('no-raw', cg));
    daemon = await DaemonProcess.start([
      ...scopedArgs(join(dir, 'policy.yaml'), cg.path),
      '--no-stdout',
      '--metrics',
      '127.0.0.1:0',
    ]);
    const target = (await daemon.metricsUrl()).replace('http://', '');
    // the shipped example, pointed at this daemon, scraping every 2 s and evaluating every second
    // (a scrape may take up to 2 s: the whole suite shares two cores, and a timed-out scrape is `up == 0`)
    const config = parse(readFileSync(`${PACKAGING}/prometheus.yml`, 'utf8'));
    config.global = { scrape_interval: '2s', scrape_timeout: '2s', evaluation_interval: '1s' };
    config.rule_files = [`${PACKAGING}/bpfgate.rules.yml`];
    config.scrape_configs[0].static_configs[0].targets = [target];
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    const port = await freePort();
    api = `http://127.0.0.1:${port}/api/v1`;
    prometheus = new Child([
      'prometheus',
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.console.templates=/nonexistent',
      '--web.console.libraries=/nonexistent',
    ]);
    await prometheus.until(
      () => (/Server is ready to receive web requests/.test(prometheus!.stderr()) ? true : undefined),
      'prometheus ready',
      30_000,
    );
  });

  afterAll(async () => {
    await prometheus?.stop('SIGTERM');
    await daemon?.stop('SIGTERM');
    await cg?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function query(q: string): Promise<Query['data']['result']> {
    const res = await fetch(`${api}/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as Query;
    expect(body.status).toBe('success');
    return body.data.result;
  }

  it('evaluates bpfgate_enforcing to 1 for the daemon, with the example scrape job', async () => {
    await waitFor(async () => (await query('bpfgate_enforcing')).length > 0, 30_000, 'a scrape');
    const [sample] = await query('bpfgate_enforcing');
    expect(sample!.metric).toMatchObject({ job: 'bpfgate', env: 'prod', __name__: 'bpfgate_enforcing' });
    expect(sample!.value[1]).toBe('1');
    expect((await query('up{job="bpfgate"}'))[0]!.value[1]).toBe('1');
    // the loaded rule, by achieved enforcement: the raw-socket block is a cgroup deny on this host
    const rules = await query('bpfgate_rules');
    expect(rules.map((r) => r.metric)).toContainEqual(
      expect.objectContaining({ achieved: 'block', mechanism: 'cgroup' }),
    );
  });

  it('loads every shipped alert, healthy and inactive while the daemon enforces', async () => {
    const shipped = (
      parse(readFileSync(`${PACKAGING}/bpfgate.rules.yml`, 'utf8')) as {
        groups: { rules: { alert: string }[] }[];
      }
    ).groups.flatMap((g) => g.rules.map((r) => r.alert));
    // the rules must have been evaluated on the daemon's own samples, not before the first scrape
    // (an alert on a metric not yet scraped is trivially inactive)
    await waitFor(async () => (await query('bpfgate_map_capacity')).length > 0, 30_000, 'a scrape');
    const scraped = Date.now();
    // what Prometheus said last, named in the failure: which alert, its state and why
    let last = '';
    await waitFor(
      async () => {
        const res = (await (await fetch(`${api}/rules`)).json()) as {
          data: {
            groups: {
              rules: {
                name: string;
                health: string;
                state: string;
                lastError?: string;
                lastEvaluation: string;
                alerts?: unknown[];
              }[];
            }[];
          };
        };
        const loaded = res.data.groups.flatMap((g) => g.rules);
        const off = loaded.filter(
          (r) => r.health !== 'ok' || r.state !== 'inactive' || !shipped.includes(r.name),
        );
        const stale = loaded.filter((r) => Date.parse(r.lastEvaluation) <= scraped).length;
        last = JSON.stringify({ loaded: loaded.length, shipped: shipped.length, stale, off });
        return loaded.length === shipped.length && stale === 0 && off.length === 0;
      },
      60_000,
      'every alert evaluated, healthy and inactive',
    ).catch(async (e: Error) => {
      const metrics = await (await fetch(`${await daemon!.metricsUrl()}/metrics`))
        .text()
        .catch(() => '(metrics unreachable)');
      throw new Error(`${e.message}; last seen: ${last}\n${metrics}`);
    });
  });
});
