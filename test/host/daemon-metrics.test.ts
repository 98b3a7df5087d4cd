// The metrics endpoint of the real daemon over HTTP (loopback, a free port):
// a cgroup-scoped raw-socket block, a denied attempt counted by policy and
// outcome, /healthz following the daemon's state, /status naming each rule's
// achieved enforcement, and `bpfgate status` reading it; a ring-buffer poll
// error (forced with the addon's test-only fault switch) turning /healthz
// unhealthy until reading resumes, and a lost batch counted as a loss.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.ts';
import { composeService } from '../../src/daemon/compose.ts';
import type { StatusDocument } from '../../src/daemon/metrics.ts';
import type { Service } from '../../src/daemon/service.ts';
import { native } from '../../src/kernel/binding/native.ts';
import { probeFeatures } from '../../src/kernel/probe.ts';
import { createLogger } from '../../src/log.ts';
import { createCgroup, rawSocketPolicy, type TestCgroup, tryRawSocket } from '../support/cgroup.ts';
import { bpfgate } from '../support/daemon.ts';

const NAME = `bpfgate-metrics-${process.pid}`;

describe('daemon metrics endpoint', () => {
  let cg: TestCgroup;
  let dir: string;
  let service: Service;
  let base: string;

  beforeAll(async () => {
    cg = createCgroup(NAME);
    dir = mkdtempSync(join(tmpdir(), 'bpfgate-metrics-'));
    writeFileSync(join(dir, 'raw.yaml'), rawSocketPolicy('no-raw', cg));
    const resolved = resolveConfig({
      policies: [dir],
      cgroupAttach: cg.path,
      output: { stdout: false },
      metrics: { listen: '127.0.0.1:0' },
      policyWatch: { enabled: false },
      // nothing pinned: never adopt (or remove) what another daemon on this host pinned
      pins: { root: null },
    });
    service = composeService(resolved, {
      log: createLogger({ level: 'warn', pretty: false }),
      probe: probeFeatures,
    });
    await service.start();
    base = `http://${service.metricsAddress}`;
  });

  afterAll(async () => {
    await service?.stop();
    await cg?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('counts a denied raw socket by policy and outcome', async () => {
    expect(await tryRawSocket(cg.path)).toBe('errno 1');
    let text = '';
    for (let i = 0; i < 100 && !text.includes('outcome="denied"'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      text = await (await fetch(`${base}/metrics`)).text();
    }
    expect(text).toMatch(/^bpfgate_violations_total\{policy="no-raw",rule="raw-inet",outcome="denied"\} 1$/m);
    expect(text).toMatch(/^bpfgate_rules\{achieved="block",mechanism="cgroup"\} 1$/m);
    expect(text).toMatch(/^bpfgate_enforcing 1$/m);
    expect(text).toMatch(/^bpfgate_ringbuf_drops_total 0$/m);
    expect(text).toMatch(/^bpfgate_process_resident_memory_bytes \d+/m);
  });

  it('/healthz and /status while enforcing; bpfgate status prints it', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const s = (await (await fetch(`${base}/status`)).json()) as StatusDocument;
    expect(s.enforcing).toBe(true);
    expect(s.policies[0]!.rules[0]).toMatchObject({
      rule: 'raw-inet',
      achieved: 'block',
      mechanism: 'cgroup',
    });
    const out = await bpfgate(['status', '--url', base]);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('enforcing');
    expect(out.stdout).toMatch(/no-raw\s+raw-inet\s+socket\s+block\s+block via cgroup/);
  });

  it('a poll error on the ring buffer: /healthz 503 with the reason while reading is stopped, then reading resumes', async () => {
    const ring = native();
    try {
      ring.ringFault('poll', 5);
      expect(await tryRawSocket(cg.path)).toBe('errno 1');
      let h = { status: 0, body: '' };
      for (let i = 0; i < 200 && h.status !== 503; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const res = await fetch(`${base}/healthz`);
        h = { status: res.status, body: await res.text() };
      }
      expect(h).toEqual({
        status: 503,
        body: 'enforcing, but not reading events (retrying): ring_buffer_poll: Input/output error (errno 5)\n',
      });
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^bpfgate_reading_events 0$/m);
      const out = await bpfgate(['status', '--url', base]);
      expect(out.code).toBe(1);
      expect(out.stdout).toContain('events: NOT READ from the kernel (retrying)');
    } finally {
      ring.ringFault('clear', 0);
    }
    // the record waited in the ring: once reading resumes it is counted
    let text = '';
    for (let i = 0; i < 400 && !/outcome="denied"\} 2$/m.test(text); i++) {
      await new Promise((r) => setTimeout(r, 50));
      text = await (await fetch(`${base}/metrics`)).text();
    }
    expect(text).toMatch(/^bpfgate_violations_total\{policy="no-raw",rule="raw-inet",outcome="denied"\} 2$/m);
    expect(text).toMatch(/^bpfgate_reading_events 1$/m);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('a batch the reader cannot hand over becomes a reader loss, counted', async () => {
    const before = ((await (await fetch(`${base}/status`)).json()) as StatusDocument).counters.losses ?? 0;
    native().ringFault('copy', 0);
    expect(await tryRawSocket(cg.path)).toBe('errno 1');
    let losses = before;
    for (let i = 0; i < 200 && losses === before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      losses = ((await (await fetch(`${base}/status`)).json()) as StatusDocument).counters.losses ?? 0;
    }
    expect(losses).toBeGreaterThanOrEqual(before + 1);
  });

  it('/healthz is 503 once the daemon no longer enforces', async () => {
    await service.daemon.stop();
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
  });
});
