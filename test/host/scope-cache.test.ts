// The programs cache the cgroup part of a process's scope per cgroup
// (bg_scope_cache, bpf/lib/abi.h). A cached scope must never outlive the set
// it was computed for: the generations alternate (0, 1, 0, ...), so the set
// two reloads later has the same generation number as a cache entry made
// under an earlier one, and only the daemon's epoch tells them apart. Real
// daemon in process, real kernel, scoped to cgroups this test creates
// (KERNEL.md, Safety):
//   npx vitest run --project host test/host/scope-cache.test.ts
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.ts';
import { composeService } from '../../src/daemon/compose.ts';
import type { Service } from '../../src/daemon/service.ts';
import { probeFeatures } from '../../src/kernel/probe.ts';
import { createLogger } from '../../src/log.ts';
import { createCgroup, type TestCgroup, tryRawSocket } from '../support/cgroup.ts';

const NAME = `bpfgate-scope-cache-${process.pid}`;

function policy(cgroups: string[], rule: string): string {
  return `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: raw }
spec:
  scope: { cgroups: [${cgroups.map((c) => `/${NAME}/${c}`).join(', ')}] }
  rules:
    - { id: ${rule}, kind: socket, action: block, match: { families: [inet], types: [raw] } }
`;
}

describe('the cached cgroup scope follows every applied set', () => {
  let cg: TestCgroup;
  let dir: string;
  let service: Service;

  beforeAll(async () => {
    cg = createCgroup(NAME);
    for (const c of ['a', 'a/deep/er', 'b', 'c']) mkdirSync(join(cg.path, c), { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'bpfgate-scope-cache-'));
    writeFileSync(join(dir, 'raw.yaml'), policy(['b'], 'round-1'));
    const config = resolveConfig({
      policies: [dir],
      cgroupAttach: cg.path,
      output: { stdout: false },
      policyWatch: { enabled: false },
      // nothing pinned: never adopt (or remove) what another daemon on this host pinned
      pins: { root: null },
    });
    service = composeService(config, {
      log: createLogger({ level: 'warn', pretty: false }),
      probe: probeFeatures,
      outputs: [{ publish: () => undefined }],
    });
    await service.start();
  });

  afterAll(async () => {
    await service?.stop();
    await cg?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const at = (c: string) => join(cg.path, c);
  const apply = async (cgroups: string[], rule: string) => {
    writeFileSync(join(dir, 'raw.yaml'), policy(cgroups, rule));
    expect(await service.reload('api')).toBe(true);
  };

  it('a cgroup out of scope under one set is in scope under a later set of the same generation number', async () => {
    // set 1 (generation 0): b only. a's scope (nothing) is computed and cached, twice over
    expect(await tryRawSocket(at('a'))).toBe('ok');
    expect(await tryRawSocket(at('a'))).toBe('ok');
    expect(await tryRawSocket(at('a/deep/er'))).toBe('ok');
    expect(await tryRawSocket(at('b'))).toBe('errno 1');

    // set 2 (generation 1): c only; nothing runs in a, whose entries stay as set 1 left them
    await apply(['c'], 'round-2');
    expect(await tryRawSocket(at('b'))).toBe('ok');
    expect(await tryRawSocket(at('c'))).toBe('errno 1');

    // set 3 (generation 0 again): a and its descendants (through the chain of ids the cache
    // holds), and c. The entries cached for a under set 1 say "nothing applies" for
    // generation 0: used, they would let a's raw socket through
    await apply(['a/**', 'c'], 'round-3');
    expect(await tryRawSocket(at('a'))).toBe('errno 1');
    expect(await tryRawSocket(at('a/deep/er'))).toBe('errno 1');
    expect(await tryRawSocket(at('c'))).toBe('errno 1');
    expect(await tryRawSocket(at('b'))).toBe('ok');
  });

  it('and out of scope again when a later set leaves it out (the cached scope of the set before is dropped)', async () => {
    // set 4 (generation 1): b only; set 5 (generation 0): c only
    await apply(['b'], 'round-4');
    expect(await tryRawSocket(at('a'))).toBe('ok');
    expect(await tryRawSocket(at('b'))).toBe('errno 1');
    await apply(['c'], 'round-5');
    expect(await tryRawSocket(at('a'))).toBe('ok');
    expect(await tryRawSocket(at('a/deep/er'))).toBe('ok');
    expect(await tryRawSocket(at('b'))).toBe('ok');
    expect(await tryRawSocket(at('c'))).toBe('errno 1');
  });
});
