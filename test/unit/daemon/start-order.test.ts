// At start a large policy set is parsed in a worker while the daemon's thread
// probes the kernel: the file source says when the parse has begun, and the
// daemon starts its probe only then (never before the files are read).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultDaemonOptions } from '../../../src/config/daemon.ts';
import { composeDaemon } from '../../../src/daemon/compose.ts';
import { FilePolicies } from '../../../src/fleet/source.ts';
import type { PolicyResult } from '../../../src/policy/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'bpfgate-start-order-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A policy file of `rules` connect rules. */
function writeSet(name: string, rules: number): string {
  const folder = mkdtempSync(join(dir, `${name}-`));
  let text = `apiVersion: bpfgate.dev/v1\nkind: Policy\nmetadata:\n  name: ${name}\nspec:\n  rules:\n`;
  for (let i = 0; i < rules; i++)
    text += `    - id: c${i}\n      kind: connect\n      action: audit\n      match:\n        addresses: [10.${(i >> 8) & 255}.${i & 255}.1/32]\n        ports: [443]\n`;
  writeFileSync(join(folder, 'p.yaml'), text);
  return folder;
}

const log = pino({ level: 'silent' });

describe('the policy parse and the kernel probe at start', () => {
  it('FilePolicies tells `parsing` once the worker runs, before the set is parsed', async () => {
    const folder = writeSet('large', 2500);
    let settled = false;
    let settledWhenTold: boolean | null = null;
    const loading = new FilePolicies([folder], log).load(() => {
      settledWhenTold = settled;
    });
    void loading.then(() => {
      settled = true;
    });
    const r = await loading;
    expect(r.set?.policies[0]?.rules).toHaveLength(2500);
    expect(settledWhenTold).toBe(false);
  });

  it('a small set is parsed in place: told too, after its parse', async () => {
    const folder = writeSet('small', 3);
    let told = 0;
    const r = await new FilePolicies([folder], log).load(() => told++);
    expect(r.set?.policies[0]?.rules).toHaveLength(3);
    expect(told).toBe(1);
  });

  it('the daemon probes while the worker parses, not before the files are read', async () => {
    const folder = writeSet('daemon', 2500);
    const events: string[] = [];
    const probeDone = new Error('probe stops the test here');
    const loads: Promise<PolicyResult>[] = [];
    const source = new FilePolicies([folder], log);
    const daemon = composeDaemon(
      { ...defaultDaemonOptions(), policyPaths: [folder], stdout: false, pinRoot: null },
      {
        log,
        probe: async () => {
          events.push('probe');
          throw probeDone;
        },
        policies: {
          load: (parsing) => {
            const loading = source.load(() => {
              events.push('parsing');
              parsing?.();
            });
            loads.push(loading);
            void loading.then(() => events.push('parsed'));
            return loading;
          },
        },
      },
    );
    if (process.geteuid?.() !== 0) {
      // the root check comes first: nothing is read or probed without root
      await expect(daemon.start()).rejects.toThrow(/needs root/);
      expect(events).toEqual([]);
      return;
    }
    await expect(daemon.start()).rejects.toBe(probeDone);
    expect(events).toEqual(['parsing', 'probe']);
    // the worker's parse was still under way when the probe ran
    expect(loads).toHaveLength(1);
    expect((await loads[0]!).set?.policies[0]?.rules).toHaveLength(2500);
    expect(events).toEqual(['parsing', 'probe', 'parsed']);
  });
});
