// Cgroups made after the set was applied, on this machine's kernel
// (tp_btf/cgroup_mkdir, bpf/lib/cgwatch.h), with the real daemon scoped to a
// cgroup of the test's own:
//   npx vitest run --project host test/host/cgroup-later.test.ts
// The adversarial cases scope-cgroup-* show that what a selector matches is in
// scope from its first instruction; this file shows the other half: what it
// does not match stays out of scope, a name too long to compare fails closed,
// and what the daemon says about selectors it cannot follow.
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroup, type TestCgroup, tryRawSocket } from '../support/cgroup.ts';
import { DaemonProcess, scopedArgs } from '../support/daemon.ts';

const NAME = 'bpfgate-test-cglater';

describe('cgroups made after the set was applied', () => {
  let cg: TestCgroup;
  let dir: string;
  let daemon: DaemonProcess | null = null;

  beforeAll(async () => {
    cg = createCgroup(NAME);
    dir = mkdtempSync(join(tmpdir(), 'bpfgate-cglater-'));
    writeFileSync(
      join(dir, 'later.yaml'),
      `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: later }
spec:
  scope: { cgroups: [${cg.rel}/svc, "${cg.rel}/*.service", "${cg.rel}/pods/*/ctr", "${cg.rel}/x*y*z"] }
  rules:
    - { id: raw-inet, kind: socket, action: block, match: { families: [inet], types: [raw] } }
`,
    );
    mkdirSync(`${cg.path}/pods`);
    daemon = await DaemonProcess.start(scopedArgs(join(dir, 'later.yaml'), cg.path));
  });

  afterAll(async () => {
    await daemon?.stop('SIGTERM');
    await cg?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const made = (rel: string) => {
    mkdirSync(`${cg.path}/${rel}`, { recursive: true });
    return `${cg.path}/${rel}`;
  };

  it('says which selectors match nothing yet and which the kernel cannot follow', () => {
    const lines = daemon!.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; policy?: string; selectors?: unknown });
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'cgroup selectors match no cgroup yet: the policy applies to the cgroups they match when these are made',
        policy: 'later',
        selectors: [`${cg.rel}/svc`, `${cg.rel}/*.service`, `${cg.rel}/pods/*/ctr`, `${cg.rel}/x*y*z`],
      }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'cgroup selectors the kernel cannot match as cgroups are made: a cgroup made later is in scope only after the next reload',
        policy: 'later',
        selectors: [{ selector: `${cg.rel}/x*y*z`, why: "component 'x*y*z' has more than one *" }],
      }),
    );
  });

  it('selects what a selector matches, made after the set was applied', async () => {
    expect(await tryRawSocket(made('svc'))).toBe('errno 1');
    expect(await tryRawSocket(made('web.service'))).toBe('errno 1');
    expect(await tryRawSocket(made('pods/p1/ctr'))).toBe('errno 1');
  });

  it('leaves what no selector matches out of scope: siblings, other levels, children of an exact match', async () => {
    expect(await tryRawSocket(made('svc2'))).toBe('ok');
    expect(await tryRawSocket(made('web.scope'))).toBe('ok');
    expect(await tryRawSocket(made('pods/p2'))).toBe('ok');
    expect(await tryRawSocket(made('pods/p2/other'))).toBe('ok');
    expect(await tryRawSocket(made('svc/child'))).toBe('ok');
    // the selector the kernel cannot follow selects a cgroup made later only at the next reload
    expect(await tryRawSocket(made('xAyBz'))).toBe('ok');
  });

  it('a name too long to compare (127 bytes or more) under a watched cgroup is selected: fail closed', async () => {
    expect(await tryRawSocket(made(`${'n'.repeat(130)}`))).toBe('errno 1');
  });

  it('a cgroup removed and made again (a new id) is selected again', async () => {
    rmdirSync(`${cg.path}/web.service`);
    expect(await tryRawSocket(made('web.service'))).toBe('errno 1');
  });
});
