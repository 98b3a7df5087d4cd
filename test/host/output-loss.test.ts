// stdout closed under the real daemon (run as root):
//   npx vitest run --project host test/host/output-loss.test.ts
// The reader of the daemon's stdout goes away (EPIPE on the next write): the
// daemon goes on enforcing and answering, and the violations stdout could not
// take are counted and reported as a loss event (source stdout), which the
// other outputs (here the metrics) see. Scoped to the test's own cgroup.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonProcess } from '../support/daemon.ts';
import { EnforceHarness } from '../support/enforce.ts';
import { waitFor } from '../support/wait.ts';

let h: EnforceHarness;
let daemon: DaemonProcess;
let metrics = '';

/** One sample of the Prometheus text, 0 when absent. */
async function sample(name: string): Promise<number> {
  const text = await (await fetch(`${metrics}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

beforeAll(async () => {
  h = new EnforceHarness();
  writeFileSync(
    `${h.policiesDir}/ostype.yaml`,
    [
      'apiVersion: bpfgate.dev/v1',
      'kind: Policy',
      'metadata: { name: ostype }',
      'spec:',
      `  scope: { cgroups: ["${h.scope}"] }`,
      '  rules:',
      '    - { id: ostype-read, kind: sysctl, action: audit, match: { names: [kernel.ostype], access: [read] } }',
      '',
    ].join('\n'),
  );
  daemon = await h.startDaemon(['--metrics', '127.0.0.1:0']);
  metrics = await daemon.metricsUrl();
});

afterAll(async () => {
  await h?.close();
});

describe('stdout closed under the daemon', () => {
  it('does not crash it; what stdout could not take is counted and reported as a loss event', async () => {
    // one audited sysctl read, seen on stdout while the reader is there
    const first = await h.attempt(['cat', '/proc/sys/kernel/ostype'], 'inside');
    const seen = await daemon.until(() => daemon.eventsOf(first.pid)[0], 'the read on stdout');
    expect(seen.policy.rule).toBe('ostype-read');
    // the reader goes away
    daemon.proc.child.stdout!.destroy();
    for (let i = 0; i < 5; i++) await h.attempt(['cat', '/proc/sys/kernel/ostype'], 'inside');
    await waitFor(
      async () => (await sample('bpfgate_events_lost_total')) >= 5,
      10_000,
      'five events reported lost',
    );
    expect(daemon.running).toBe(true);
    expect(await sample('bpfgate_enforcing')).toBe(1);
    expect(await sample('bpfgate_events_total{type="loss"}')).toBeGreaterThanOrEqual(1);
    const status = (await (await fetch(`${metrics}/status`)).json()) as { counters: Record<string, number> };
    expect(status.counters.losses).toBeGreaterThanOrEqual(5);
    expect(status.counters.emitErrors).toBe(0);
    // and it still stops in order
    const exit = await daemon.stop('SIGTERM');
    expect(exit).toMatchObject({ code: 0 });
  });
});
